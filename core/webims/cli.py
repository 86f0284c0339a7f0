"""The ``webims`` command: run the gateway, check a config, list plugins, run the lab IMS core."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import trio

import webims
from webims import log
from webims.config import load_config
from webims.errors import ConfigError

DEFAULT_CONFIG = "config/webims.toml"


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("WEBIMS_CONFIG") or DEFAULT_CONFIG)


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", help=f"operator config file (default: $WEBIMS_CONFIG or {DEFAULT_CONFIG})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="webims", description="WebRTC access to IMS services.")
    parser.add_argument("--version", action="version", version=f"webims {webims.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the gateway and portal")
    _add_config_option(run)
    run.set_defaults(handler=cmd_run)

    check = commands.add_parser("check-config", help="validate a config and the plugins it enables")
    _add_config_option(check)
    check.set_defaults(handler=cmd_check_config)

    plugins = commands.add_parser("plugins", help="list installed service plugins")
    _add_config_option(plugins)
    plugins.add_argument("--json", action="store_true", help="print JSON")
    plugins.set_defaults(handler=cmd_plugins)

    from webims.demo import add_demo_command
    from webims.lab.cli import add_lab_command

    add_lab_command(commands)
    add_demo_command(commands)
    return parser


def cmd_check_config(args: argparse.Namespace) -> int:
    path = _config_path(args)
    try:
        config = load_config(path)
        from webims.plugins import load_services
        host = load_services(config.services, config.settings)
    except ConfigError as error:
        print(f"{path}: {len(error.problems)} problem(s):", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    services = ", ".join(f"{name} {loaded.service.version}" for name, loaded in host.services.items())
    print(f"{path}: OK (services: {services or 'none'})")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from webims.plugins import installed_plugins

    path = _config_path(args)
    enabled: dict[str, str] = {}
    note = None
    try:
        config = load_config(path)
        enabled = {name: str(constraint) for name, constraint in config.services.items()}
    except ConfigError as error:
        note = f"could not read {path} ({error.problems[0]}); showing every plugin as disabled"
    rows = [{"name": plugin.name, "version": plugin.version, "distribution": plugin.distribution,
             "enabled": plugin.name in enabled, "constraint": enabled.get(plugin.name) or None}
            for plugin in sorted(installed_plugins().values(), key=lambda p: p.name)]
    if note:
        print(note, file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = "enabled" if row["enabled"] else "disabled"
        print(f"{row['name']:<12} {row['version']:<10} {state:<9} {row['distribution']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from webims.gateway import build_gateway

    path = _config_path(args)
    try:
        config = load_config(path)
        log.configure(config.gateway.log_format, config.gateway.log_level)
        gateway = build_gateway(config)
    except ConfigError as error:
        print(f"{path}: cannot start:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1

    from webims.gateway import serve_until_signalled

    def started() -> None:
        print(f"webims {webims.__version__}: portal at {gateway.url}/ (Ctrl-C stops)", flush=True)

    try:
        trio.run(serve_until_signalled, gateway, started)
        print("stopped", file=sys.stderr)
    except OSError as error:
        print(f"cannot listen on {config.gateway.host}:{config.gateway.port}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
