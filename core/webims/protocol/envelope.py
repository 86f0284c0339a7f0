"""Browser protocol v1: the JSON envelope every WebSocket frame carries, and its strict decoder.

    {"v": 1, "kind": "request", "service": "voice", "type": "call.start", "id": "r7", "session": "c1",
     "body": {...}}

Browsers send only ``request``; the gateway sends ``response`` (same ``id``), ``error`` (same ``id`` when it
answers a request) and ``event`` (no ``id``). ``session`` names a dialog/call/chat where one is concerned.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

PROTOCOL_VERSION = 1
KINDS = ("request", "response", "event", "error")
_FIELDS = {"v", "kind", "service", "type", "id", "session", "body"}
_NAME = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


@attrs.frozen
class Envelope:
    kind: str
    service: str
    type: str
    id: str | None = None
    session: str | None = None
    body: dict[str, Any] = attrs.field(factory=dict)

    def to_json(self) -> str:
        document: dict[str, Any] = {"v": PROTOCOL_VERSION, "kind": self.kind, "service": self.service,
                                    "type": self.type}
        if self.id is not None:
            document["id"] = self.id
        if self.session is not None:
            document["session"] = self.session
        document["body"] = self.body
        # ensure_ascii=False: UTF-8 text stays readable on the wire and in logs.
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    def response(self, body: dict[str, Any] | None = None) -> Envelope:
        return Envelope("response", self.service, self.type, self.id, self.session, body or {})

    def error(self, code: str, message: str, **details: Any) -> Envelope:
        return Envelope("error", self.service, self.type, self.id, self.session, error_body(code, message, details))


def event(service: str, type: str, body: dict[str, Any] | None = None, session: str | None = None) -> Envelope:
    return Envelope("event", service, type, None, session, body or {})


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return body


class ProtocolError(Exception):
    """A frame broke protocol v1. ``reply`` is the error envelope to send back (it echoes the id if one was read)."""

    def __init__(self, code: str, message: str, document: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        fields = document if isinstance(document, dict) else {}
        request_id = fields.get("id") if isinstance(fields.get("id"), str) and _ID.match(fields["id"]) else None
        service = fields.get("service") if isinstance(fields.get("service"), str) else "core"
        message_type = fields.get("type") if isinstance(fields.get("type"), str) else "error"
        service = service if _NAME.match(service) else "core"
        message_type = message_type if _NAME.match(message_type) else "error"
        self.reply = Envelope("error", service, message_type, request_id, None, error_body(code, message))


def decode_request(text: str) -> Envelope:
    """Decode one browser frame into a request envelope; raise :class:`ProtocolError` saying what is wrong."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise ProtocolError("bad_json", "the JSON nests too deeply") from None
    except ValueError as error:  # JSONDecodeError, and ints too long to convert
        raise ProtocolError("bad_json", f"not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ProtocolError("bad_envelope", "a frame must be a JSON object (an envelope)")
    unknown = document.keys() - _FIELDS
    if unknown:
        raise ProtocolError("bad_envelope", f"unknown field(s): {', '.join(sorted(unknown))}", document)
    version = document.get("v")
    if version != PROTOCOL_VERSION:
        raise ProtocolError("unsupported_version", f"protocol version {version!r} is not supported; this gateway "
                                                   f"speaks v{PROTOCOL_VERSION}", document)
    if document.get("kind") != "request":
        raise ProtocolError("bad_envelope", "browsers send only kind \"request\"", document)
    for field, pattern in (("service", _NAME), ("type", _NAME), ("id", _ID)):
        value = document.get(field)
        if not isinstance(value, str) or not pattern.match(value):
            raise ProtocolError("bad_envelope", f"field {field!r} is missing or malformed (expected a string "
                                                f"matching {pattern.pattern})", document)
    session = document.get("session")
    if session is not None and (not isinstance(session, str) or not _ID.match(session)):
        raise ProtocolError("bad_envelope", "field 'session' must be a short id string", document)
    body = document.get("body", {})
    if not isinstance(body, dict):
        raise ProtocolError("bad_envelope", "field 'body' must be a JSON object", document)
    return Envelope("request", document["service"], document["type"], document["id"], session, body)
