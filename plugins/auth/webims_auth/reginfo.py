"""Reading ``application/reginfo+xml`` (RFC 3680 §5.3): what the IMS says about a registration.

Pure data in, data out. Parsed with defusedxml: the document comes from the network, and an entity-expansion
bomb in a NOTIFY must cost us nothing.
"""

from __future__ import annotations

import attrs
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

NS = "{urn:ietf:params:xml:ns:reginfo}"
MAX_DOCUMENT_BYTES = 64 * 1024


class RegInfoError(ValueError):
    """The reginfo document is malformed or too large; the NOTIFY is answered 400 with this reason."""


@attrs.frozen
class ContactState:
    uri: str
    state: str  # active | terminated
    event: str  # registered, created, refreshed, shortened, expired, deactivated, probation, unregistered, rejected


@attrs.frozen
class AorState:
    aor: str
    state: str  # init | active | terminated
    contacts: tuple[ContactState, ...]


@attrs.frozen
class RegInfo:
    version: int
    full: bool
    registrations: tuple[AorState, ...]


def parse_reginfo(body: bytes) -> RegInfo:
    if len(body) > MAX_DOCUMENT_BYTES:
        raise RegInfoError(f"reginfo document of {len(body)} bytes is larger than {MAX_DOCUMENT_BYTES}")
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as error:
        raise RegInfoError(f"reginfo is not acceptable XML: {error}") from None
    if root.tag != f"{NS}reginfo":
        raise RegInfoError(f"expected a reginfo document, got <{root.tag}>")
    try:
        version = int(root.get("version", ""))
    except ValueError:
        raise RegInfoError("reginfo has no numeric version") from None
    registrations = []
    for registration in root.findall(f"{NS}registration"):
        contacts = tuple(
            ContactState((contact.findtext(f"{NS}uri") or "").strip(), contact.get("state", ""),
                         contact.get("event", ""))
            for contact in registration.findall(f"{NS}contact"))
        registrations.append(AorState(registration.get("aor", ""), registration.get("state", ""), contacts))
    return RegInfo(version, root.get("state") == "full", tuple(registrations))


def ended_with(info: RegInfo, contact_uri: str) -> dict[str, str]:
    """The public identities whose registration with our contact this document ends, each with the event that
    ended it (``deactivated``, ``unregistered``, ``rejected``...; ``terminated`` when only the registration
    says so). TS 24.229 §5.1.1.3: each identity is deregistered on its own.

    Contacts compare by URI without parameters' order mattering to us: we match on the user@host:port part,
    which is unique per registration on this gateway.
    """
    wanted = _core(contact_uri)
    ended = {}
    for registration in info.registrations:
        ours = [contact for contact in registration.contacts if _core(contact.uri) == wanted]
        event = next((c.event or "terminated" for c in ours if c.state == "terminated"), None)
        if event is None and ours and registration.state == "terminated":
            event = "terminated"
        if event is not None:
            ended[registration.aor] = event
    return ended


def registered_with(info: RegInfo, contact_uri: str) -> tuple[str, ...]:
    """The public identities this document says are registered with our contact (TS 24.229 §5.1.1.3: an
    active ``<registration>`` holding our contact, active): how the UE learns of an identity added to its
    implicit registration set after the REGISTER's P-Associated-URI."""
    wanted = _core(contact_uri)
    return tuple(registration.aor for registration in info.registrations
                 if registration.aor and registration.state == "active"
                 and any(_core(c.uri) == wanted and c.state == "active" for c in registration.contacts))


def _core(uri: str) -> str:
    return uri.strip("<>").split(";", 1)[0].lower()
