"""Bytes to messages: one UDP datagram (:func:`parse_message`) or a TCP/TLS byte stream
(:class:`StreamFramer`).

Whatever the input, the only exception that leaves this module is
:class:`RemoteProtocolError`. Parsing checks what must hold before anything else can look at
a message: framing, the start line, header-field syntax, that Via, From, To, Call-ID and CSeq
are present (and the single-valued ones single), and the values that identify a transaction:
Call-ID, CSeq (whose method must match a request's) and every Via.

Addresses (From, To, Contact, Route...) are parsed when first read, which keeps relaying a
message cheap; a malformed one raises :class:`RemoteProtocolError` (status hint 400) at that
point, so code that reads a received message should treat that error as "answer 400 / drop"
just as it treats one from :func:`parse_message`.
"""

from __future__ import annotations

import re

import attrs

from . import _abnf
from .errors import RemoteProtocolError
from .headers import _CANONICAL, Headers
from .message import Request, Response
from .uri import SipUri, Uri, parse_uri

__all__ = ["Limits", "KeepAlive", "parse_message", "StreamFramer"]


@attrs.frozen
class Limits:
    """What we accept from a peer before refusing.

    Breaking ``max_message_size`` (whole message) or ``max_headers`` gives status hint 513
    Message Too Large (RFC 3261 §21.5.14); a line longer than ``max_line_length`` gives 414
    when it is the Request-Line (the Request-URI is too long) and 513 otherwise.
    """

    max_message_size: int = 65535
    max_headers: int = 128
    max_line_length: int = 8192


@attrs.frozen
class KeepAlive:
    """A CRLF keep-alive on a stream (RFC 5626 §3.5.1): ``ping`` for a double CRLF, which a
    server answers with a single CRLF, ``pong`` otherwise."""

    ping: bool


_VERSION = "SIP/2.0"
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+\Z", re.I)
_STATUS_RE = re.compile(r"[1-6][0-9][0-9]\Z")
# RFC 3261 §7.3.1 / RFC 4475 §3.3.8: these may appear once only.
_SINGLE = ("call-id", "cseq", "from", "to", "max-forwards", "content-type")
_REQUIRED = ("via", "from", "to", "call-id", "cseq")


def parse_message(data: bytes, *, limits: Limits = Limits()) -> Request | Response:
    """Parse one datagram holding one message.

    Without Content-Length the body runs to the end of the datagram; octets beyond
    Content-Length are discarded, and a Content-Length beyond the datagram is an error
    (RFC 3261 §18.3).
    """
    if len(data) > limits.max_message_size:
        raise RemoteProtocolError(
            f"message of {len(data)} bytes exceeds the limit of {limits.max_message_size}",
            status_hint=513,
        )
    start = len(data) - len(data.lstrip(b"\r\n"))  # §7.5: CRLFs before the start-line
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise RemoteProtocolError("no empty line ends the header section")
    head = _Head.parse(data[start:end], limits)
    body = data[end + 4:]
    length = head.content_length
    if length is not None:
        if length > len(body):
            raise head.error(
                f"Content-Length {length} exceeds the {len(body)} bytes after the headers"
            )
        body = body[:length]
    return head.message(body)


class StreamFramer:
    """Cuts SIP messages out of a TCP or TLS byte stream (RFC 3261 §18.3).

    Over WebSocket each frame holds exactly one message (RFC 7118 §5.2): use
    :func:`parse_message` on it instead. Feed bytes with :meth:`receive_data` (``b""``
    once the peer closed), then call :meth:`next_message` until it returns ``None``. Every
    message must carry Content-Length. After an error the stream cannot be resynchronised:
    every later call raises it again.
    """

    def __init__(self, *, limits: Limits = Limits()) -> None:
        self._limits = limits
        self._buffer = bytearray()
        self._head: _Head | None = None  # parsed head waiting for its body
        self._closed = False
        self._error: RemoteProtocolError | None = None

    def receive_data(self, data: bytes) -> None:
        if self._closed and data:
            raise RemoteProtocolError("data received after the end of the stream")
        if not data:
            self._closed = True
        self._buffer += data

    def next_message(self) -> Request | Response | KeepAlive | None:
        if self._error is not None:
            raise self._error
        try:
            return self._next()
        except RemoteProtocolError as exc:
            self._error = exc
            raise

    def _next(self) -> Request | Response | KeepAlive | None:
        buffer = self._buffer
        if self._head is None:
            if buffer.startswith(b"\r\n"):
                return self._keep_alive()
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self._check_size(len(buffer))
                self._check_eof()
                return None
            self._head = _Head.parse(bytes(buffer[:end]), self._limits)
            del buffer[: end + 4]
            if self._head.content_length is None:
                raise self._head.error("message on a stream transport lacks Content-Length")
            self._check_size(end + 4 + self._head.content_length)
        length = self._head.content_length or 0
        if len(buffer) < length:
            self._check_eof()
            return None
        message = self._head.message(bytes(buffer[:length]))
        del buffer[:length]
        self._head = None
        return message

    def _keep_alive(self) -> KeepAlive:
        ping = self._buffer.startswith(b"\r\n\r\n")
        del self._buffer[: 4 if ping else 2]
        return KeepAlive(ping)

    def _check_size(self, size: int) -> None:
        if size > self._limits.max_message_size:
            raise RemoteProtocolError(
                f"message of at least {size} bytes exceeds the limit of "
                f"{self._limits.max_message_size}",
                status_hint=513,
            )

    def _check_eof(self) -> None:
        if self._closed and (self._buffer or self._head is not None):
            raise RemoteProtocolError("stream closed in the middle of a message", status_hint=None)


@attrs.define
class _Head:
    """A validated start line and header section, waiting for its body."""

    start: list[str]
    uri: Uri | None  # the Request-URI, parsed once
    headers: Headers
    counts: dict[str, int]  # fields per lowercased name
    content_length: int | None
    is_response: bool

    def error(self, reason: str) -> RemoteProtocolError:
        # Nobody answers a response, so a malformed one gets no status hint.
        return RemoteProtocolError(reason, status_hint=None if self.is_response else 400)

    def message(self, body: bytes) -> Request | Response:
        if self.uri is None:
            return Response(int(self.start[1]), self.start[2], self.headers, body)
        return Request(self.start[0], self.uri, self.headers, body)

    @classmethod
    def parse(cls, head: bytes, limits: Limits) -> _Head:
        text = head.decode("utf-8", "surrogateescape")
        lines = text.split("\r\n")
        if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
            raise RemoteProtocolError("bare CR or LF in the header section")
        is_response = text.startswith("SIP/")
        try:
            start, uri = _parse_start_line(lines[0], limits, is_response)
            headers, counts, content_length = _parse_fields(lines, limits)
            self = cls(start, uri, headers, counts, content_length, is_response)
            self._validate()
        except RemoteProtocolError as exc:
            if is_response:
                exc.status_hint = None
            raise
        return self

    def _validate(self) -> None:
        counts = self.counts
        for name in _REQUIRED:
            if name not in counts:
                raise RemoteProtocolError(f"message lacks the mandatory {name} header")
        for name in _SINGLE:
            if counts.get(name, 0) > 1:
                raise RemoteProtocolError(f"{_CANONICAL[name]} appears more than once")
        # Parsed through the message so its Headers cache keeps the results for later reads.
        message = self.message(b"")
        if not _abnf.CALLID_RE.match(message.call_id):
            raise RemoteProtocolError(f"malformed Call-ID {message.call_id!r}")
        if not message.vias:
            raise RemoteProtocolError("message has an empty Via header")
        method = message.cseq.method
        if self.uri is not None and method != self.start[0]:
            raise RemoteProtocolError(f"CSeq method {method} does not match {self.start[0]}")


def _parse_start_line(
    line: str, limits: Limits, is_response: bool
) -> tuple[list[str], Uri | None]:
    if len(line) > limits.max_line_length:
        raise RemoteProtocolError(
            f"start line of {len(line)} characters exceeds {limits.max_line_length}",
            status_hint=513 if is_response else 414,
        )
    if is_response:
        parts = line.split(" ", 2)
        if len(parts) == 2:
            parts.append("")  # a missing Reason-Phrase is harmless
        _check_version(parts[0])
        if len(parts) != 3 or not _STATUS_RE.match(parts[1]):
            raise RemoteProtocolError(f"malformed Status-Line {line!r}")
        return parts, None
    parts = line.split(" ")
    # §7.1: single SP between elements; a URI with LWS in it splits into more parts.
    if len(parts) != 3 or not _abnf.TOKEN_RE.match(parts[0]):
        raise RemoteProtocolError(f"malformed Request-Line {line!r}")
    _check_version(parts[2])
    uri = parse_uri(parts[1])
    if isinstance(uri, SipUri) and uri.headers:  # §19.1.1: not allowed in a Request-URI
        raise RemoteProtocolError(f"Request-URI {parts[1]!r} carries headers")
    return parts, uri


def _check_version(version: str) -> None:
    if version.upper() == _VERSION:  # §7.1: case-insensitive
        return
    if _VERSION_RE.match(version):
        raise RemoteProtocolError(f"SIP version {version} is not supported", status_hint=505)
    raise RemoteProtocolError(f"malformed SIP version {version!r}")


def _parse_fields(
    lines: list[str], limits: Limits
) -> tuple[Headers, dict[str, int], int | None]:
    fields: list[list[str]] = []
    counts: dict[str, int] = {}
    content_length = None
    for line in lines[1:]:
        if len(line) > limits.max_line_length:
            raise RemoteProtocolError(
                f"header line of {len(line)} characters exceeds {limits.max_line_length}",
                status_hint=513,
            )
        if line[:1] in (" ", "\t"):
            # §7.3.1 line folding: the continuation is part of the previous value.
            if not fields:
                raise RemoteProtocolError("header section starts with a continuation line")
            fields[-1][2] = (fields[-1][2] + " " + line.strip(" \t")).strip(" \t")
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")  # HCOLON allows whitespace before the colon
        canonical = _CANONICAL.get(name.lower())
        if canonical is None:
            if not colon or not _abnf.TOKEN_RE.match(name):
                raise RemoteProtocolError(f"malformed header line {line[:80]!r}")
            canonical = name
        elif not colon:
            raise RemoteProtocolError(f"header line without a colon {line[:80]!r}")
        fields.append([canonical.lower(), canonical, value.strip(" \t")])
    if len(fields) > limits.max_headers:
        raise RemoteProtocolError(
            f"{len(fields)} header fields exceed the limit of {limits.max_headers}",
            status_hint=513,
        )
    triples = []
    for key, canonical, value in fields:
        counts[key] = counts.get(key, 0) + 1
        if key == "content-length":
            if content_length is not None:
                raise RemoteProtocolError("Content-Length appears more than once")
            content_length = _content_length(value)
        else:
            triples.append((key, canonical, value))
    return Headers._trusted(triples), counts, content_length


def _content_length(value: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise RemoteProtocolError(f"malformed Content-Length {value!r}")
    return int(value)
