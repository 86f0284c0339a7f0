"""MSRP URIs (RFC 4975 §6, §9): ``msrp://host:port/session-id;tcp``, and their comparison (§6.1)."""

from __future__ import annotations

import re

import attrs

from webims_im.msrp.errors import RemoteProtocolError

# §9: MSRP-URI = msrp-scheme "://" authority ["/" session-id] ";" transport *( ";" URI-parameter )
_URI = re.compile(
    r"^(?P<scheme>msrps?)://(?:(?P<userinfo>[^@/;]*)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)"
    r"(?::(?P<port>[0-9]{1,5}))?(?:/(?P<session>[A-Za-z0-9\-._~+=/%]+))?;(?P<transport>[A-Za-z0-9]+)"
    r"(?P<params>(?:;[^;\s]+)*)$", re.IGNORECASE)


@attrs.frozen
class MsrpUri:
    host: str
    port: int | None
    session_id: str = ""
    transport: str = "tcp"
    scheme: str = "msrp"

    @classmethod
    def parse(cls, text: str) -> MsrpUri:
        match = _URI.match(text.strip())
        if match is None:
            raise RemoteProtocolError(f"{text[:80]!r} is not an MSRP URI")
        port = int(match["port"]) if match["port"] else None
        if port is not None and port > 65535:
            raise RemoteProtocolError(f"{text[:80]!r} has port {port}")
        return cls(match["host"], port, match["session"] or "", match["transport"].lower(), match["scheme"].lower())

    def matches(self, other: MsrpUri) -> bool:
        """§6.1: scheme, host and transport compare case-insensitively, session-id exactly; port too."""
        return (self.scheme == other.scheme and self.host.lower() == other.host.lower()
                and self.port == other.port and self.session_id == other.session_id
                and self.transport == other.transport)

    @property
    def address(self) -> tuple[str, int]:
        """Where to connect (§6.2; 2855 is MSRP's registered port, for a URI that names none)."""
        return self.host.strip("[]"), self.port or 2855

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        session = f"/{self.session_id}" if self.session_id else ""
        return f"{self.scheme}://{self.host}{port}{session};{self.transport}"


def parse_path(value: str | None) -> tuple[MsrpUri, ...]:
    """A To-Path / From-Path / Use-Path / ``a=path`` value: URIs separated by spaces."""
    uris = tuple(MsrpUri.parse(part) for part in (value or "").split())
    if not uris:
        raise RemoteProtocolError("an empty MSRP path")
    return uris


def format_path(uris) -> str:
    return " ".join(str(uri) for uri in uris)
