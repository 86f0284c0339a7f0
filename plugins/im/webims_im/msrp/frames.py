"""MSRP frames (RFC 4975 §7, §9): requests and responses as values, the typed header fields, and the writer.

A frame is a start line, To-Path and From-Path first, other headers, optionally Content-Type with a body, and
the end-line ``-------<transaction-id><flag>`` whose flag says whether the message goes on (``+``), is
complete (``$``) or was abandoned (``#``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

import attrs

from webims_im.msrp.errors import LocalProtocolError, RemoteProtocolError
from webims_im.msrp.uri import MsrpUri, format_path, parse_path

CONTINUES, COMPLETE, ABORTED = "+", "$", "#"
# §9: ident = ALPHANUM 3*31ident-char
TRANSACTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-+%=]{3,31}$")
_BYTE_RANGE = re.compile(r"^([0-9]{1,12})-([0-9]{1,12}|\*)/([0-9]{1,12}|\*)$")
_STATUS = re.compile(r"^([0-9]{3}) ([0-9]{3})(?: (.*))?$")
REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 408: "Request Timeout", 413: "Too Large",
           415: "Unsupported Media Type", 423: "Interval Out-of-Bounds", 481: "No Such Session",
           501: "Unknown Method", 506: "Wrong Session"}


def new_transaction_id() -> str:
    # Random and long enough that the end-line cannot appear in the content by chance (§7.1.1).
    return secrets.token_hex(8)


@attrs.frozen
class ByteRange:
    """``Byte-Range: start-end/total`` (§7.1.1); ``end``/``total`` None for ``*`` (not known yet)."""

    start: int
    end: int | None
    total: int | None

    @classmethod
    def parse(cls, value: str | None) -> ByteRange:
        if value is None:
            return cls(1, None, None)  # §7.3.1: a SEND without Byte-Range is the whole message
        match = _BYTE_RANGE.match(value.strip())
        if match is None or int(match[1]) < 1:
            raise RemoteProtocolError(f"Byte-Range {value[:40]!r} is not start-end/total")
        end = None if match[2] == "*" else int(match[2])
        total = None if match[3] == "*" else int(match[3])
        return cls(int(match[1]), end, total)

    def __str__(self) -> str:
        end = "*" if self.end is None else self.end
        total = "*" if self.total is None else self.total
        return f"{self.start}-{end}/{total}"


@attrs.frozen
class Status:
    """``Status: 000 200 OK`` of a REPORT (§7.1.2): the namespace is always 000 for MSRP."""

    code: int
    comment: str = ""

    @classmethod
    def parse(cls, value: str | None) -> Status:
        match = _STATUS.match((value or "").strip())
        if match is None:
            raise RemoteProtocolError(f"Status {str(value)[:40]!r} is not '000 code comment'")
        return cls(int(match[2]), match[3] or "")

    def __str__(self) -> str:
        return f"000 {self.code} {self.comment or REASONS.get(self.code, '')}".rstrip()


class _Fields:
    __slots__ = ()
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def to_path(self) -> tuple[MsrpUri, ...]:
        return parse_path(self.header("To-Path"))

    @property
    def from_path(self) -> tuple[MsrpUri, ...]:
        return parse_path(self.header("From-Path"))


@attrs.frozen
class Request(_Fields):
    transaction_id: str
    method: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    continuation: str = COMPLETE

    @property
    def message_id(self) -> str | None:
        return self.header("Message-ID")

    @property
    def byte_range(self) -> ByteRange:
        return ByteRange.parse(self.header("Byte-Range"))

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")

    def report_wanted(self, kind: str) -> str:
        """``Success-Report`` (default no) / ``Failure-Report`` (default yes), §7.1.1."""
        default = "no" if kind == "Success-Report" else "yes"
        return (self.header(kind) or default).strip().lower()

    def to_bytes(self) -> bytes:
        head = f"MSRP {self.transaction_id} {self.method}\r\n{_header_lines(self.headers)}".encode()
        content = b"\r\n" + self.body + b"\r\n" if self.content_type is not None else b""
        return head + content + f"-------{self.transaction_id}{self.continuation}\r\n".encode()


@attrs.frozen
class Response(_Fields):
    transaction_id: str
    status: int
    comment: str
    headers: tuple[tuple[str, str], ...]

    def to_bytes(self) -> bytes:
        start = f"MSRP {self.transaction_id} {self.status} {self.comment}".rstrip()
        return f"{start}\r\n{_header_lines(self.headers)}-------{self.transaction_id}$\r\n".encode()


def _header_lines(headers: Iterable[tuple[str, str]]) -> str:
    lines = []
    for name, value in headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise LocalProtocolError(f"the {name} header value contains a line break")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines)


def request(method: str, to_path, from_path, headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
            continuation: str = COMPLETE, transaction_id: str | None = None) -> Request:
    """A request with To-Path and From-Path first, as §9 orders them; put Content-Type last in ``headers``."""
    fields = (("To-Path", format_path(to_path)), ("From-Path", format_path(from_path)), *headers)
    return Request(transaction_id or new_transaction_id(), method, fields, body, continuation)


def response_to(frame: Request, status: int, comment: str | None = None, headers=()) -> Response:
    """§7.2: a response goes back to the previous hop only (the first From-Path URI), from us (To-Path's first)."""
    fields = (("To-Path", str(frame.from_path[0])), ("From-Path", str(frame.to_path[0])), *headers)
    return Response(frame.transaction_id, status, comment or REASONS.get(status, ""), fields)
