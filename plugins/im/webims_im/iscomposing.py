"""Indication of message composition (RFC 3994): ``application/im-iscomposing+xml``, parsed and written.

The sender says ``active`` when its user starts typing (refreshing it before ``refresh`` seconds pass) and
``idle`` when she stops or sends; a receiver that hears nothing more falls back to idle after the refresh
interval, or 120 s without one (§4). Sans-IO, defusedxml, size-limited.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import attrs
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from webims_im.errors import ContentError

CONTENT_TYPE = "application/im-iscomposing+xml"
XML_NS = "urn:ietf:params:xml:ns:im-iscomposing"
MAX_DOCUMENT_BYTES = 4096
# §4: without a refresh element the receiver times "active" out after 120 s.
DEFAULT_ACTIVE_SECONDS = 120


@attrs.frozen
class Composing:
    active: bool
    refresh: int | None = None  # seconds until the sender refreshes an active state
    content_type: str | None = None

    @property
    def expires_after(self) -> int:
        """How long a receiver shows "typing…" without a refresh (§4)."""
        return self.refresh or DEFAULT_ACTIVE_SECONDS


def parse(data: bytes) -> Composing:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ContentError(f"is-composing document of {len(data)} bytes (limit {MAX_DOCUMENT_BYTES})", 413)
    try:
        root = fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise ContentError(f"is-composing: not a well-formed XML document ({error})") from None
    if root.tag != f"{{{XML_NS}}}isComposing":
        raise ContentError(f"is-composing: the root element is {root.tag}, not isComposing")
    state = _text(root, "state")
    if state not in ("active", "idle"):
        raise ContentError(f"is-composing: state {state!r} is neither active nor idle")
    refresh = _text(root, "refresh")
    if refresh is not None and not (refresh.isdecimal() and int(refresh) > 0):
        raise ContentError(f"is-composing: refresh {refresh!r} is not a positive number of seconds")
    return Composing(state == "active", int(refresh) if refresh else None, _text(root, "contenttype"))


def _text(root, name: str) -> str | None:
    element = root.find(f"{{{XML_NS}}}{name}")
    return element.text.strip() if element is not None and element.text else None


def write(composing: Composing) -> bytes:
    parts = [f"<state>{'active' if composing.active else 'idle'}</state>"]
    if composing.content_type:
        parts.append(f"<contenttype>{composing.content_type}</contenttype>")
    if composing.active and composing.refresh:
        parts.append(f"<refresh>{composing.refresh}</refresh>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\r\n<isComposing xmlns="{XML_NS}">'
            + "".join(parts) + "</isComposing>\r\n").encode()
