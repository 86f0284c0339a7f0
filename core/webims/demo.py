"""``webims demo``: the lab IMS core, an answering native phone, the gateway and the portal, in one command.

Everything runs as children of this process on 127.0.0.1 and stops on Ctrl-C: the lab (Kamailio), a baresip
"echo bot" registered as ``sip:echo@ims.test`` that answers every call with a tone, and the gateway with the
operator config (whose ``[ims] proxy`` must point at the lab's SIP port).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trio

import webims
from webims import log
from webims.config import load_config
from webims.errors import ConfigError

DEFAULT_RUNTIME_DIR = Path("run/demo")
ECHO_TONE_HZ = 440.0


def add_demo_command(subparsers) -> None:
    demo = subparsers.add_parser("demo", help="run the lab IMS core, an answering phone, the gateway and portal")
    demo.add_argument("-c", "--config", default="config/webims.toml", help="operator config (default: %(default)s)")
    demo.add_argument("--runtime-dir", type=Path, default=DEFAULT_RUNTIME_DIR, help="lab and phone files")
    demo.add_argument("--no-echo-bot", action="store_true", help="do not start the answering baresip phone")
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from webims.gateway import build_gateway
    from webims.gateway.sip import proxy_address
    from webims.lab import DEFAULT_SUBSCRIBERS_FILE, LabPorts, LabProcess, LabSettings, LabStartError, load_subscribers
    from webims.testing.peers.errors import PeerMissing

    try:
        config = load_config(args.config)
        log.configure(config.gateway.log_format, "warning")
        gateway = build_gateway(config)
    except ConfigError as error:
        print(f"{args.config}: cannot start:\n" + "\n".join(f"  {p}" for p in error.problems), file=sys.stderr)
        return 1
    subscribers = load_subscribers(DEFAULT_SUBSCRIBERS_FILE)
    proxy = proxy_address(config.ims.proxy)
    settings = LabSettings(LabPorts(sip=proxy.port, msrp=2855, websocket=None), args.runtime_dir / "lab")
    print("Starting the lab IMS core (Kamailio)…", flush=True)
    try:
        lab = LabProcess.start(settings, subscribers)
    except (LabStartError, PeerMissing, OSError) as error:
        print(f"webims demo: the lab IMS core did not start: {error}", file=sys.stderr)
        return 1
    phone = None
    try:
        if not args.no_echo_bot:
            phone = _start_echo_bot(lab, subscribers, args.runtime_dir / "echo-bot")
        return _serve(gateway, subscribers, phone)
    finally:
        if phone is not None:
            phone.stop()
        lab.stop()
        print("webims demo: stopped; nothing left running.", flush=True)


def _start_echo_bot(lab, subscribers, directory: Path):
    from webims.testing.peers.baresip import BaresipPhone, PhoneAccount
    from webims.testing.peers.kamailio import LabCore

    print("Starting the echo bot (baresip as sip:echo@ims.test, answers with a tone)…", flush=True)
    credential = subscribers.credential("echo")
    account = PhoneAccount("sip:echo@ims.test", "echo", credential.password)
    return BaresipPhone.start(directory, LabCore(lab, subscribers), account, tone_hz=ECHO_TONE_HZ,
                              tone_seconds=600)


def _serve(gateway, subscribers, phone) -> int:
    from webims.gateway import serve_until_signalled

    try:
        trio.run(serve_until_signalled, gateway, lambda: print(_banner(gateway, subscribers, phone), flush=True))
    except OSError as error:
        print(f"webims demo: the gateway cannot listen: {error.strerror}", file=sys.stderr)
        return 1
    return 0


def _banner(gateway, subscribers, phone) -> str:
    lines = [f"webims {webims.__version__} demo is running.", f"  Portal:  {gateway.url}/", "  Logins:"]
    for subscription in subscribers.subscriptions:
        if subscription.public_identities[0] == "sip:echo@ims.test":
            continue
        for credential in subscription.private_identities:
            lines.append(f"    {credential.username:<11} password {credential.password:<18} "
                         f"({', '.join(subscription.public_identities)})")
    if phone is not None:
        lines.append("  Call sip:echo@ims.test to reach the echo bot (it answers with a 440 Hz tone).")
    lines.append("  Ctrl-C stops everything.")
    return "\n".join(lines)
