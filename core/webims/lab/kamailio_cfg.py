"""Render the lab's Kamailio configuration and runtime directory.

The template (`templates/kamailio.cfg.tmpl`) is plain Kamailio config with a few
`{{name}}` placeholders at its top, bound to Kamailio `#!substdef` names; optional
parts are switched with `#!define WITH_...` so that the body stays valid Kamailio
that can be read without knowing the renderer.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from importlib import resources
from pathlib import Path

import attrs

from webims.lab.database import create_database
from webims.lab.subscribers import Subscribers

DIGEST_ALGORITHMS = ("MD5", "SHA-256")
_UNIX_PATH_MAX = 108

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
# Placeholders inside `#!substdef "!NAME!value!g"` lines of the template.
_SUBSTDEF_VALUES = {"domain", "sip_port", "msrp_port", "ws_port", "db_url", "rpc_socket", "digest_algorithm"}


def _valid_port(_instance, attribute, value) -> None:
    if value is not None and not 0 < value < 65536:
        raise ValueError(f"{attribute.name} {value} is not a port number")


@attrs.frozen
class LabPorts:
    """Where the lab listens, all on 127.0.0.1: SIP over UDP and TCP share one port."""

    sip: int = attrs.field(validator=_valid_port)
    msrp: int = attrs.field(validator=_valid_port)
    websocket: int | None = attrs.field(default=None, validator=_valid_port)


@attrs.frozen
class LabSettings:
    """Everything the rendered config depends on besides the subscribers."""

    ports: LabPorts
    # Absolute: Kamailio runs with the runtime dir as its working directory.
    runtime_dir: Path = attrs.field(converter=lambda path: Path(path).resolve())
    # Kamailio 5.6 challenges and verifies with one algorithm for the whole run
    # (docs/lab.md); MD5 by default, as baresip 1.0 and SIPp 3.6 know only MD5.
    digest_algorithm: str = attrs.field(default="MD5", validator=attrs.validators.in_(DIGEST_ALGORITHMS))
    log_level: int = 2

    @property
    def config_file(self) -> Path:
        return self.runtime_dir / "kamailio.cfg"

    @property
    def database(self) -> Path:
        return self.runtime_dir / "lab.sqlite"

    @property
    def rpc_socket(self) -> Path:
        return rpc_socket_path(self.runtime_dir)

    @property
    def log_file(self) -> Path:
        return self.runtime_dir / "kamailio.log"


def rpc_socket_path(runtime_dir: Path) -> Path:
    """The JSON-RPC socket of the lab using `runtime_dir`: inside it, unless too long.

    A UNIX socket path must fit in 108 bytes (sockaddr_un); a deep runtime dir
    (pytest's tmp dirs) gets a socket in the temp dir, named after the runtime dir.
    """
    inside = (runtime_dir / "rpc.sock").resolve()
    if len(os.fsencode(inside)) < _UNIX_PATH_MAX:
        return inside
    digest = hashlib.sha1(str(runtime_dir.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"webims-lab-{digest}.sock"


def render_config(settings: LabSettings, domain: str) -> str:
    """The Kamailio config text for `settings` (the subscribers live in the database)."""
    defines = []
    if settings.ports.websocket is not None:
        defines.append("#!define WITH_WEBSOCKET")
    values = {
        "domain": domain,
        "sip_port": str(settings.ports.sip),
        "msrp_port": str(settings.ports.msrp),
        "ws_port": str(settings.ports.websocket or 0),
        # NOTES: db_sqlite wants four slashes before an absolute path.
        "db_url": f"sqlite:///{settings.database}",
        "rpc_socket": str(settings.rpc_socket),
        "digest_algorithm": settings.digest_algorithm,
        "defines": "\n".join(defines),
        "log_level": str(settings.log_level),
    }
    return _fill(_template(), values)


def _template() -> str:
    return resources.files("webims.lab").joinpath("templates/kamailio.cfg.tmpl").read_text(encoding="utf-8")


def _fill(template: str, values: dict[str, str]) -> str:
    used = set(_PLACEHOLDER.findall(template))
    if used != set(values):
        raise KeyError(f"template placeholders {sorted(used)} do not match values {sorted(values)}")
    for name, value in values.items():
        if name in _SUBSTDEF_VALUES and re.search(r'[!"\s]', value):
            raise ValueError(f"{name} {value!r} cannot go into a #!substdef")
    return _PLACEHOLDER.sub(lambda match: values[match[1]], template)


def write_runtime(settings: LabSettings, subscribers: Subscribers) -> None:
    """Create the runtime dir with the rendered config and a fresh database."""
    settings.runtime_dir.mkdir(parents=True, exist_ok=True)
    settings.rpc_socket.unlink(missing_ok=True)
    create_database(settings.database, subscribers)
    settings.config_file.write_text(render_config(settings, subscribers.domain), encoding="utf-8")
