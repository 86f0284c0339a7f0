"""RFC 5168 media control: the XML body that asks a video encoder for a full picture over SIP INFO.

Some SIP and IMS video phones ask for a keyframe this way, an in-dialog INFO with Content-Type
``application/media_control+xml`` (RFC 5168 §8), instead of or as well as RTCP PLI/FIR (RFC 4585,
RFC 5104). RFC 5168 keeps it for backward compatibility only; new peers use FIR. The command (§7.1)::

    <?xml version="1.0" encoding="utf-8"?>
    <media_control>
      <vc_primitive>
        <to_encoder>
          <picture_fast_update/>
        </to_encoder>
      </vc_primitive>
    </media_control>

A ``vc_primitive`` may also name the streams it is for (``stream_id``, RFC 4574 labels), and a
``general_error`` reports a problem with a command received (§6, §7.2). Elements are matched by their
local name, whatever namespace a sender put them in (phones send them unqualified, as the examples do).

Reading is strict and bounded, since the body comes from the network: at most :data:`MAX_BODY_BYTES`,
well-formed XML, no DTD at all (so no entity can be declared, let alone expanded), unknown elements
ignored. Anything else is a :class:`~webims.sip.errors.RemoteProtocolError` whose ``status_hint`` is the
answer to give (400, or 413 when the body is too large). Sans-IO, like the rest of :mod:`webims.sip`.
"""

from __future__ import annotations

import xml.parsers.expat
from html import escape as _escape  # not xml.sax.saxutils: it pulls in urllib.request, socket and ssl

import attrs

from .errors import RemoteProtocolError

__all__ = ["MEDIA_TYPE", "MAX_BODY_BYTES", "MediaControl", "PICTURE_FAST_UPDATE"]

MEDIA_TYPE = "application/media_control+xml"
# The command is about 200 bytes; even with stream ids and an error text a real one stays far below this.
MAX_BODY_BYTES = 4096

_FAST_UPDATE = ("media_control", "vc_primitive", "to_encoder", "picture_fast_update")
_STREAM_ID = ("media_control", "vc_primitive", "stream_id")
_GENERAL_ERROR = ("media_control", "general_error")


@attrs.frozen
class MediaControl:
    """One media_control document: whether it asks for a full picture, for which streams (none named: all
    of the dialog's video), and the errors it reports."""

    picture_fast_update: bool = False
    stream_ids: tuple[str, ...] = ()
    general_errors: tuple[str, ...] = ()

    @classmethod
    def parse(cls, body: bytes) -> MediaControl:
        if len(body) > MAX_BODY_BYTES:
            raise RemoteProtocolError(f"The media_control body has {len(body)} bytes; at most {MAX_BODY_BYTES} "
                                      "are read.", status_hint=413)
        reader = _Reader()
        parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = _refuse_dtd
        parser.StartElementHandler = reader.start
        parser.EndElementHandler = reader.end
        parser.CharacterDataHandler = reader.text.append
        try:
            parser.Parse(body, True)
        except xml.parsers.expat.ExpatError as error:
            raise RemoteProtocolError(f"The media_control body is not well-formed XML "
                                      f"({xml.parsers.expat.errors.messages[error.code]}, line {error.lineno}).") \
                from None
        return cls(reader.fast_update, tuple(reader.stream_ids), tuple(reader.general_errors))

    def encode(self) -> bytes:
        lines = ['<?xml version="1.0" encoding="utf-8"?>', "<media_control>"]
        if self.picture_fast_update:
            lines += ["  <vc_primitive>", "    <to_encoder>", "      <picture_fast_update/>", "    </to_encoder>"]
            lines += [f"    <stream_id>{_escape(stream, quote=False)}</stream_id>" for stream in self.stream_ids]
            lines.append("  </vc_primitive>")
        lines += [f"  <general_error>{_escape(error, quote=False)}</general_error>" for error in self.general_errors]
        lines.append("</media_control>")
        return ("\r\n".join(lines) + "\r\n").encode()


PICTURE_FAST_UPDATE = MediaControl(picture_fast_update=True)
"""The command itself: "send a full picture" to every video stream of the dialog."""


class _Reader:
    """Collects what matters while expat walks the document; the root must be ``media_control``."""

    def __init__(self) -> None:
        self.path: list[str] = []
        self.text: list[str] = []
        self.fast_update = False
        self.stream_ids: list[str] = []
        self.general_errors: list[str] = []

    def start(self, name: str, attributes: dict) -> None:
        self.path.append(name.rpartition(" ")[2])  # "namespace local" when the sender used one
        if len(self.path) == 1 and self.path[0] != "media_control":
            raise RemoteProtocolError(f"The body's root element is <{self.path[0]}>, not <media_control>.")
        if tuple(self.path) == _FAST_UPDATE:
            self.fast_update = True
        self.text.clear()

    def end(self, name: str) -> None:
        path = tuple(self.path)
        if path == _STREAM_ID:
            self.stream_ids.append("".join(self.text).strip())
        elif path == _GENERAL_ERROR:
            self.general_errors.append("".join(self.text).strip())
        self.path.pop()
        self.text.clear()


def _refuse_dtd(*args) -> None:
    # Entities can only be declared in a DTD: refusing it refuses every expansion attack (as defusedxml does).
    raise RemoteProtocolError("The media_control body carries a DTD; this gateway reads none.")
