"""Reading MSRP frames from a byte stream (RFC 4975 §9): bytes in, :class:`Request`/:class:`Response` out.

A frame ends at the first ``CRLF -------<transaction-id>`` followed by a flag and CRLF; the content has no
length field, so the reader scans for that end-line, remembering how far it has looked so a large chunk is not
searched again on every read. Any framing error is the peer's (:class:`RemoteProtocolError`): after one, the
stream cannot be re-synchronised and the connection must close.
"""

from __future__ import annotations

import re

from webims_im.msrp.errors import RemoteProtocolError
from webims_im.msrp.frames import TRANSACTION_ID, Request, Response

MAX_START_LINE = 256
MAX_HEADERS = 32
_METHOD = re.compile(r"^[A-Z]{1,16}$")
_HEADER = re.compile(r"^([A-Za-z0-9\-]+): ?(.*)$")
_FLAGS = b"$+#"


class FrameReader:
    def __init__(self, max_frame_bytes: int = 65536):
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._start: tuple[str, str, int] | None = None  # (transaction id, rest of start line, its length)
        self._scanned = 0

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    @property
    def pending(self) -> int:
        """Bytes received that are not yet a whole frame (a peer that vanished mid-chunk leaves some)."""
        return len(self._buffer)

    def next_frame(self) -> Request | Response | None:
        """The next complete frame, or None until more data arrives."""
        if self._start is None and not self._read_start_line():
            return None
        transaction_id, start, start_length = self._start
        marker = f"\r\n-------{transaction_id}".encode()
        while True:
            position = self._buffer.find(marker, max(self._scanned, start_length - 2))
            if position < 0:
                self._scanned = max(start_length - 2, len(self._buffer) - len(marker))
                self._check_size()
                return None
            after = position + len(marker)
            if len(self._buffer) < after + 3:
                self._check_size()
                return None
            if self._buffer[after] in _FLAGS and self._buffer[after + 1:after + 3] == b"\r\n":
                break
            self._scanned = position + 1  # "-------id" followed by something else is content
        frame = bytes(self._buffer[start_length:position])
        flag = chr(self._buffer[after])
        del self._buffer[:after + 3]
        self._start, self._scanned = None, 0
        return _frame(transaction_id, start, frame, flag)

    def _read_start_line(self) -> bool:
        end = self._buffer.find(b"\r\n", 0, MAX_START_LINE + 2)
        if end < 0:
            if len(self._buffer) > MAX_START_LINE:
                raise RemoteProtocolError("no MSRP start line within 256 bytes")
            return False
        line = bytes(self._buffer[:end]).decode("ascii", "replace")
        parts = line.split(" ", 2)
        if len(parts) != 3 or parts[0] != "MSRP" or not TRANSACTION_ID.match(parts[1]):
            raise RemoteProtocolError(f"{line[:60]!r} is not an MSRP start line")
        self._start = (parts[1], parts[2], end + 2)
        return True

    def _check_size(self) -> None:
        if len(self._buffer) > self.max_frame_bytes:
            raise RemoteProtocolError(f"an MSRP frame longer than {self.max_frame_bytes} bytes")


def _frame(transaction_id: str, start: str, frame: bytes, flag: str) -> Request | Response:
    # Between the start line and the end-line: headers, then (with Content-Type) CRLF CRLF and the content.
    head, separator, body = frame.partition(b"\r\n\r\n")
    headers = _headers(head)
    if separator and not any(name.lower() == "content-type" for name, _ in headers):
        raise RemoteProtocolError("MSRP content without a Content-Type header")
    names = [name.lower() for name, _ in headers[:2]]
    if names != ["to-path", "from-path"]:
        raise RemoteProtocolError("an MSRP frame must start with To-Path and From-Path")
    code, _, comment = start.partition(" ")
    if code.isdecimal() and len(code) == 3:
        if separator or flag != "$":
            raise RemoteProtocolError("an MSRP response carries no content")
        return Response(transaction_id, int(code), comment, headers)
    if not _METHOD.match(start):
        raise RemoteProtocolError(f"{start[:20]!r} is neither an MSRP method nor a status code")
    return Request(transaction_id, start, headers, body, flag)


def _headers(head: bytes) -> tuple[tuple[str, str], ...]:
    lines = head.split(b"\r\n") if head else []
    if len(lines) > MAX_HEADERS:
        raise RemoteProtocolError(f"more than {MAX_HEADERS} MSRP headers")
    headers = []
    for line in lines:
        try:
            match = _HEADER.match(line.decode("utf-8"))
        except UnicodeDecodeError:
            match = None
        if match is None:
            raise RemoteProtocolError(f"{line[:60]!r} is not an MSRP header")
        headers.append((match[1], match[2].strip()))
    return tuple(headers)
