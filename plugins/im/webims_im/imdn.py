"""Instant Message Disposition Notification (RFC 5438): the ``message/imdn+xml`` document, parsed and written.

A sender asks for notifications in the CPIM headers of its message (``imdn.Disposition-Notification``,
§6.2) and names it with ``imdn.Message-ID`` (§6.3); the recipient answers with a CPIM-wrapped document saying
what became of that message: delivered (or failed), displayed, processed. Sans-IO; documents come from the
network, so they are parsed with defusedxml and a size limit.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from xml.sax.saxutils import escape

import attrs
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from webims_im.errors import ContentError

CONTENT_TYPE = "message/imdn+xml"
XML_NS = "urn:ietf:params:xml:ns:imdn"
MAX_DOCUMENT_BYTES = 8192
# §6.2 Disposition-Notification tokens; a request for any of these is honoured as far as we can.
POSITIVE_DELIVERY, NEGATIVE_DELIVERY, DISPLAY = "positive-delivery", "negative-delivery", "display"
# §7.2.1 / §9: the notification kinds and the statuses each may carry.
STATUSES = {
    "delivery": frozenset({"delivered", "failed", "forbidden", "error"}),
    "display": frozenset({"displayed", "forbidden", "error"}),
    "processing": frozenset({"processed", "stored", "forbidden", "error"}),
}


@attrs.frozen
class Notification:
    """One disposition notification: which message (by its IMDN Message-ID), what kind, what status."""

    message_id: str
    kind: str  # delivery | display | processing
    status: str  # delivered | failed | displayed | ... (STATUSES[kind])
    datetime: str = ""
    recipient: str | None = None
    original_recipient: str | None = None


def requested(header: str | None) -> frozenset[str]:
    """The notifications an ``imdn.Disposition-Notification`` header value asks for (§6.2)."""
    if not header:
        return frozenset()
    return frozenset(token.strip().lower() for token in header.split(",") if token.strip())


def parse(data: bytes) -> Notification:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ContentError(f"IMDN document of {len(data)} bytes (limit {MAX_DOCUMENT_BYTES})", 413)
    try:
        root = fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise ContentError(f"IMDN: not a well-formed XML document ({error})") from None
    if root.tag != f"{{{XML_NS}}}imdn":
        raise ContentError(f"IMDN: the root element is {root.tag}, not imdn in {XML_NS}")
    message_id = _text(root, "message-id")
    if not message_id:
        raise ContentError("IMDN: no message-id")
    for kind, statuses in STATUSES.items():
        element = root.find(f"{{{XML_NS}}}{kind}-notification")
        if element is None:
            continue
        status = _status(element, statuses, kind)
        return Notification(message_id, kind, status, _text(root, "datetime"), _text(root, "recipient-uri"),
                            _text(root, "original-recipient-uri"))
    raise ContentError("IMDN: no delivery, display or processing notification in the document")


def _status(element, statuses: frozenset[str], kind: str) -> str:
    status = element.find(f"{{{XML_NS}}}status")
    children = [child.tag.removeprefix(f"{{{XML_NS}}}") for child in (status if status is not None else [])]
    known = [child for child in children if child in statuses]
    if not known:
        raise ContentError(f"IMDN: the {kind} notification has no status among {', '.join(sorted(statuses))}")
    return known[0]


def _text(root, name: str) -> str | None:
    element = root.find(f"{{{XML_NS}}}{name}")
    return element.text.strip() if element is not None and element.text else None


def write(notification: Notification) -> bytes:
    """The ``message/imdn+xml`` document for ``notification`` (§10, the schema's element order)."""
    if notification.status not in STATUSES.get(notification.kind, ()):
        raise ValueError(f"{notification.status} is not a {notification.kind} status")
    parts = [f"<message-id>{escape(notification.message_id)}</message-id>",
             f"<datetime>{escape(notification.datetime)}</datetime>"]
    if notification.recipient:
        parts.append(f"<recipient-uri>{escape(notification.recipient)}</recipient-uri>")
    if notification.original_recipient:
        parts.append(f"<original-recipient-uri>{escape(notification.original_recipient)}</original-recipient-uri>")
    kind = notification.kind
    parts.append(f"<{kind}-notification><status><{notification.status}/></status></{kind}-notification>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\r\n<imdn xmlns="{XML_NS}">'
            + "".join(parts) + "</imdn>\r\n").encode()
