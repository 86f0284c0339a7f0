"""SIP requests and responses as values, and the helpers a UA needs to build them.

A message is a start line, :class:`~webims.sip.headers.Headers` and a body. Typed views of
the headers the stack relies on (``cseq``, ``vias``, ``from_``...) are parsed on first use
and remembered by the Headers object until it changes. Messages are frozen but their Headers
are mutable so that a message can be built in place; treat a message you received or handed
on as a value and call :meth:`copy` before changing it. For the same reason messages compare
by value but are not hashable.
"""

from __future__ import annotations

import secrets
from typing import Callable, Iterable, TypeVar, Union

import attrs

from . import _abnf
from .errors import LocalProtocolError, RemoteProtocolError
from .headers import Contact, CSeq, Headers, NameAddr, TokenList, Via
from .uri import AbsoluteUri, SipUri, TelUri, Uri

__all__ = [
    "Request",
    "Response",
    "Message",
    "make_response",
    "new_branch",
    "new_tag",
    "new_call_id",
    "REASON_PHRASES",
    "BRANCH_MAGIC_COOKIE",
]

#: RFC 3261 §8.1.1.7: a branch starting with this was made to be unique across space and time.
BRANCH_MAGIC_COOKIE = "z9hG4bK"

_T = TypeVar("_T")


def _to_headers(value: Headers | Iterable[tuple[str, str]]) -> Headers:
    return value if isinstance(value, Headers) else Headers(value)


def _check_method(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if not _abnf.TOKEN_RE.match(value):
        raise LocalProtocolError(f"method {value!r} is not a token")


def _check_status(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if not 100 <= value <= 699:
        raise LocalProtocolError(f"status {value} is outside 100..699")


def _check_reason(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise LocalProtocolError(f"reason phrase {value!r} contains CR or LF")


class _MessageView:
    """Typed access to the header fields every SIP message has (RFC 3261 §8.1.1)."""

    __slots__ = ()
    headers: Headers
    body: bytes

    def copy(self: _T) -> _T:
        """The same message with its own Headers, safe to change."""
        return attrs.evolve(self, headers=self.headers.copy())  # type: ignore[misc]

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise LocalProtocolError(f"message has no {name} header")
        return value

    def _typed(self, name: str, parse: Callable[[str], _T]) -> _T:
        return self.headers.cache(name, lambda h: parse(self._required(name)))

    def _typed_list(self, name: str, parse: Callable[[str], _T]) -> list[_T]:
        values = self.headers.cache(name, lambda h: tuple(parse(v) for v in h.get_all(name)))
        return list(values)

    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def cseq(self) -> CSeq:
        return self._typed("CSeq", CSeq.parse)

    @property
    def from_(self) -> NameAddr:
        return self._typed("From", NameAddr.parse)

    @property
    def to(self) -> NameAddr:
        return self._typed("To", NameAddr.parse)

    @property
    def from_tag(self) -> str | None:
        return self.from_.tag

    @property
    def to_tag(self) -> str | None:
        return self.to.tag

    @property
    def vias(self) -> list[Via]:
        """Every Via value, top (most recent hop) first."""
        return self._typed_list("Via", Via.parse)

    @property
    def top_via(self) -> Via:
        vias = self.vias
        if not vias:
            raise LocalProtocolError("message has no Via header")
        return vias[0]

    @property
    def branch(self) -> str | None:
        """The top Via's branch: the transaction identifier (RFC 3261 §17.2.3)."""
        return self.top_via.branch

    @property
    def contacts(self) -> list[Contact]:
        return self._typed_list("Contact", Contact.parse)

    @property
    def route(self) -> list[NameAddr]:
        return self.name_addrs("Route")

    @property
    def record_route(self) -> list[NameAddr]:
        return self.name_addrs("Record-Route")

    def name_addrs(self, name: str) -> list[NameAddr]:
        """Every address in a list-of-addresses header: Route, Path, Service-Route,
        P-Associated-URI, P-Asserted-Identity..."""
        return self._typed_list(name, NameAddr.parse)

    def tokens(self, name: str) -> TokenList:
        """Supported, Require, Proxy-Require, Unsupported, Allow or Allow-Events as tokens."""
        return self.headers.cache(name, lambda h: TokenList.parse_list(h.get_all(name)))

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (0..255), or ``None`` if absent or malformed (RFC 4475 §3.1.2.4
        allows processing as if absent)."""
        value = self.headers.get("Max-Forwards")
        if value is None or not (value.isascii() and value.isdigit()) or int(value) > 255:
            return None
        return int(value)

    @property
    def expires(self) -> int | None:
        """The Expires header in seconds, or ``None`` if absent or malformed."""
        value = self.headers.get("Expires")
        if value is None or not (value.isascii() and value.isdigit()) or int(value) >= 2**32:
            return None
        return int(value)

    @property
    def content_type(self) -> str | None:
        """Content-Type as sent, e.g. ``application/sdp`` or ``multipart/mixed;boundary=x``."""
        return self.headers.get("Content-Type")

    @property
    def media_type(self) -> str | None:
        """Content-Type without parameters, lowercased: ``application/pidf+xml``."""
        value = self.content_type
        return None if value is None else value.split(";", 1)[0].strip().lower()


def _serialize(start_line: str, headers: Headers, body: bytes) -> bytes:
    lines = [start_line]
    lines += [f"{name}: {value}\r\n" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}\r\n\r\n")
    # surrogateescape gives back the exact bytes of a non-UTF-8 header we received.
    return "".join(lines).encode("utf-8", "surrogateescape") + body


@attrs.frozen
class Request(_MessageView):
    """A SIP request. ``headers`` accepts a :class:`Headers` or ``(name, value)`` pairs."""

    method: str = attrs.field(validator=_check_method)
    uri: Uri = attrs.field(validator=attrs.validators.instance_of((SipUri, TelUri, AbsoluteUri)))
    headers: Headers = attrs.field(factory=Headers, converter=_to_headers)
    body: bytes = b""

    def to_bytes(self) -> bytes:
        """The wire form, with Content-Length set to the body's length."""
        return _serialize(f"{self.method} {self.uri} SIP/2.0\r\n", self.headers, self.body)


@attrs.frozen
class Response(_MessageView):
    """A SIP response. ``headers`` accepts a :class:`Headers` or ``(name, value)`` pairs."""

    status: int = attrs.field(validator=_check_status)
    reason: str = attrs.field(validator=_check_reason)
    headers: Headers = attrs.field(factory=Headers, converter=_to_headers)
    body: bytes = b""

    def to_bytes(self) -> bytes:
        """The wire form, with Content-Length set to the body's length."""
        return _serialize(f"SIP/2.0 {self.status} {self.reason}\r\n", self.headers, self.body)

    @property
    def is_provisional(self) -> bool:
        return self.status < 200

    @property
    def is_final(self) -> bool:
        return self.status >= 200


Message = Union[Request, Response]

REASON_PHRASES = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 199: "Early Dialog Terminated", 200: "OK", 202: "Accepted",
    204: "No Notification", 300: "Multiple Choices", 301: "Moved Permanently",
    302: "Moved Temporarily", 305: "Use Proxy", 380: "Alternative Service",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    412: "Conditional Request Failed", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 420: "Bad Extension", 421: "Extension Required",
    422: "Session Interval Too Small", 423: "Interval Too Brief", 428: "Use Identity Header",
    429: "Provide Referrer Identity", 430: "Flow Failed", 433: "Anonymity Disallowed",
    439: "First Hop Lacks Outbound Support", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops",
    484: "Address Incomplete", 485: "Ambiguous", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending", 493: "Undecipherable",
    494: "Security Agreement Required", 500: "Server Internal Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Server Time-out",
    505: "Version Not Supported", 513: "Message Too Large", 580: "Precondition Failure",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}  # fmt: skip

# §8.2.6.2: the response carries these, copied verbatim and in order, from the request.
_COPIED_TO_RESPONSE = ("via", "from", "to", "call-id", "cseq")


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response to *request* as RFC 3261 §8.2.6 builds it.

    Via, From, To, Call-ID and CSeq are copied from the request; *to_tag* is added to To
    unless the request's To already has a tag (an in-dialog request). A 100 copies Timestamp
    (§8.2.6.1). *headers* are appended after these. Copying Record-Route into
    dialog-creating responses (§12.1.1) is the dialog layer's job.
    """
    copied = [(n, v) for n, v in request.headers if n.lower() in _COPIED_TO_RESPONSE]
    if to_tag is not None and not _has_to_tag(request):
        copied = [(n, f"{v};tag={to_tag}" if n == "To" else v) for n, v in copied]
    response_headers = Headers(copied)
    if status == 100 and "Timestamp" in request.headers:
        response_headers.add("Timestamp", request.headers.get("Timestamp", ""))
    for name, value in headers:
        response_headers.add(name, value)
    if reason is None:
        reason = REASON_PHRASES.get(status, "")
    return Response(status, reason, response_headers, body)


def _has_to_tag(request: Request) -> bool:
    # A 400 answers requests whose To may not parse; then To is copied untouched.
    try:
        return request.to_tag is not None
    except RemoteProtocolError:
        return True


def new_branch() -> str:
    """A fresh Via branch, unique across space and time (RFC 3261 §8.1.1.7)."""
    return BRANCH_MAGIC_COOKIE + secrets.token_hex(10)


def new_tag() -> str:
    """A fresh From/To tag with well over the 32 random bits §19.3 asks for."""
    return secrets.token_hex(8)


def new_call_id(host: str | None = None) -> str:
    """A fresh Call-ID (§8.1.1.4), optionally ``random@host``."""
    value = secrets.token_hex(16)
    return value if host is None else f"{value}@{host}"
