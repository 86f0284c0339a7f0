"""Common Presence and Instant Messaging message format, ``message/cpim`` (RFC 3862): parse and write.

A CPIM body is message headers, an empty line, then one MIME object (its content headers, an empty line, its
content). IMDN (RFC 5438 §6) puts its own headers in the message headers under a namespace declared with
``NS: <prefix> <urn:ietf:params:imdn>``; :meth:`CpimMessage.get` resolves a header by namespace, so any prefix
the sender chose works. Sans-IO: bytes in, a value out, :class:`~webims_im.errors.ContentError` on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from webims_im.errors import ContentError

CONTENT_TYPE = "message/cpim"
IMDN_NS = "urn:ietf:params:imdn"
# RFC 3862 §3.2 header-name: a token, optionally "prefix." in front.
_HEADER = re.compile(r"^([A-Za-z0-9!#$%&'*+\-^_`|~]+(?:\.[A-Za-z0-9!#$%&'*+\-^_`|~]+)?):[ \t]*(.*)$")
_NS = re.compile(r"^(?:([A-Za-z0-9_\-]+)[ \t]*)?<([^<>]+)>$")
_ADDRESS = re.compile(r"<([^<>]*)>")
MAX_HEADERS = 64
MAX_HEADER_LINE = 1024


@attrs.frozen
class CpimMessage:
    """A parsed ``message/cpim`` body. Header names are kept as written (``imdn.Message-ID``)."""

    headers: tuple[tuple[str, str], ...]
    content_headers: tuple[tuple[str, str], ...]
    content: bytes

    def header(self, name: str) -> str | None:
        """The first message header called ``name`` (compared case-insensitively), or None."""
        return _first(self.headers, name)

    def content_header(self, name: str) -> str | None:
        return _first(self.content_headers, name)

    def get(self, namespace: str, name: str) -> str | None:
        """A header of a namespace declared by ``NS:`` (RFC 3862 §3.3.8), whatever prefix the sender used."""
        for prefix in self._prefixes(namespace):
            value = self.header(f"{prefix}.{name}" if prefix else name)
            if value is not None:
                return value
        return None

    def _prefixes(self, namespace: str) -> list[str]:
        prefixes = []
        for value in (v for n, v in self.headers if n.lower() == "ns"):
            match = _NS.match(value.strip())
            if match and match[2].strip() == namespace:
                prefixes.append(match[1] or "")
        return prefixes

    @property
    def content_type(self) -> str:
        return (self.content_header("Content-Type") or "text/plain").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        return parameter(self.content_header("Content-Type") or "", "charset")

    @property
    def from_uri(self) -> str | None:
        return address(self.header("From"))

    @property
    def to_uri(self) -> str | None:
        return address(self.header("To"))


def parse(data: bytes) -> CpimMessage:
    """Parse a ``message/cpim`` body; bare LF line ends are accepted as well as CRLF."""
    try:
        text_part, sep, rest = _split_block(data)
        if not sep:
            raise ContentError("CPIM: no empty line after the message headers")
        headers = _headers(text_part, "message")
        content_part, sep, content = _split_block(rest)
        if not sep:
            raise ContentError("CPIM: no empty line after the content headers")
        content_headers = _headers(content_part, "content")
    except UnicodeDecodeError as error:
        raise ContentError(f"CPIM headers are not UTF-8 ({error.reason} at byte {error.start})") from None
    if not any(name.lower() == "content-type" for name, _ in content_headers):
        raise ContentError("CPIM: the encapsulated content has no Content-Type")
    return CpimMessage(headers, content_headers, _content(content, _first(content_headers, "Content-Length")))


def _split_block(data: bytes) -> tuple[bytes, bytes, bytes]:
    """Split at the first empty line, whichever line ends the sender used."""
    crlf, lf = data.find(b"\r\n\r\n"), data.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return data[:crlf], b"\r\n\r\n", data[crlf + 4:]
    if lf >= 0:
        return data[:lf], b"\n\n", data[lf + 2:]
    return data, b"", b""


def _headers(block: bytes, where: str) -> tuple[tuple[str, str], ...]:
    lines = [line.removesuffix(b"\r") for line in block.split(b"\n")] if block else []
    if len(lines) > MAX_HEADERS:
        raise ContentError(f"CPIM: more than {MAX_HEADERS} {where} headers", 413)
    headers = []
    for line in lines:
        if len(line) > MAX_HEADER_LINE:
            raise ContentError(f"CPIM: a {where} header line is longer than {MAX_HEADER_LINE} bytes", 413)
        match = _HEADER.match(line.decode("utf-8"))
        if match is None:
            raise ContentError(f"CPIM: {line[:40].decode('utf-8')!r} is not a 'Name: value' {where} header")
        headers.append((match[1], match[2].strip()))
    return tuple(headers)


def _content(content: bytes, length: str | None) -> bytes:
    if length is None:
        return content
    if not length.isdecimal() or int(length) > len(content):
        raise ContentError(f"CPIM: Content-Length {length} does not fit the {len(content)} bytes of content")
    return content[:int(length)]


def _first(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def address(value: str | None) -> str | None:
    """The URI of a ``[Formal-name] <URI>`` value (From, To, cc)."""
    if value is None:
        return None
    match = _ADDRESS.search(value)
    return match[1].strip() if match else None


def parameter(content_type: str, name: str) -> str | None:
    """One parameter of a Content-Type value (``charset``), unquoted and lower-cased."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"').lower()
    return None


def write(*, from_uri: str, to_uri: str, content_type: str, content: bytes,
          headers: Iterable[tuple[str, str]] = (), content_headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A ``message/cpim`` body: From and To, then ``headers`` (declare namespaces with ``("NS", ...)``), then
    the content with its type, extra content headers and length."""
    message = [("From", f"<{from_uri}>"), ("To", f"<{to_uri}>"), *headers]
    mime = [("Content-Type", content_type), *content_headers, ("Content-Length", str(len(content)))]
    head = "".join(f"{name}: {value}\r\n" for name, value in message)
    body_head = "".join(f"{name}: {value}\r\n" for name, value in mime)
    return f"{head}\r\n{body_head}\r\n".encode() + content
