"""Header fields: the ordered multi-map of a message, and typed views of the values we use.

:class:`Headers` keeps every field's value verbatim (as received, after unfolding), so a
proxy can forward what it does not understand. Typed values (:class:`NameAddr`, :class:`Via`,
:class:`CSeq`...) are parsed on demand from that text by their ``parse`` classmethod and turn
back into text with ``str()``. Parsing raises :class:`RemoteProtocolError`, since header text
normally comes from the peer.
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Iterable, Iterator, TypeVar

import attrs

from . import _abnf
from .errors import LocalProtocolError, RemoteProtocolError
from .uri import Params, Uri, _ParamsMixin, format_params, parse_uri

__all__ = [
    "Headers",
    "canonical_name",
    "split_list",
    "quote",
    "unquote",
    "NameAddr",
    "Contact",
    "Via",
    "CSeq",
    "Authenticate",
    "Authorization",
    "EventHeader",
    "SubscriptionState",
    "Privacy",
    "TokenList",
]

# RFC 3261 §7.3.3 and the extensions that define compact forms (RFC 3265, 3515, 3841, 3892,
# 4028, 4474).
COMPACT_FORMS = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact",
    "k": "Supported", "l": "Content-Length", "m": "Contact", "n": "Identity-Info",
    "o": "Event", "r": "Refer-To", "s": "Subject", "t": "To", "u": "Allow-Events", "v": "Via",
    "x": "Session-Expires", "y": "Identity",
}  # fmt: skip

# Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1); only these are split by
# Headers.get_all. WWW-Authenticate & co. contain commas but are not lists.
LIST_HEADERS = frozenset(
    """Accept Accept-Contact Accept-Encoding Accept-Language Accept-Resource-Priority
    Alert-Info Allow Allow-Events Call-Info Contact Content-Encoding Content-Language
    Error-Info Feature-Caps History-Info In-Reply-To P-Asserted-Identity P-Asserted-Service
    P-Associated-URI P-Early-Media P-Preferred-Identity P-Visited-Network-ID Path
    Proxy-Require Reason Record-Route Recv-Info Reject-Contact Request-Disposition Require
    Resource-Priority Route Security-Client Security-Server Security-Verify Service-Route
    Supported Unsupported Via Warning""".lower().split()
)

_KNOWN_NAMES = (
    """Authentication-Info Authorization Call-ID CSeq Content-Disposition Content-Length
    Content-Type Date Event Expires From Geolocation Identity Identity-Info Info-Package
    Max-Forwards MIME-Version Min-Expires Min-SE Organization P-Access-Network-Info
    P-Called-Party-ID P-Charging-Function-Addresses P-Charging-Vector P-Preferred-Service
    Priority Privacy Proxy-Authenticate Proxy-Authorization RAck Refer-To Referred-By
    Replaces Reply-To Retry-After RSeq Server Session-Expires SIP-ETag SIP-If-Match Subject
    Subscription-State Target-Dialog Timestamp To User-Agent WWW-Authenticate Flow-Timer"""
).split()
_CANONICAL = {name.lower(): name for name in _KNOWN_NAMES}
_CANONICAL.update({key: key.title() for key in LIST_HEADERS})
_CANONICAL.update(
    (n.lower(), n)
    for n in "P-Asserted-Identity P-Asserted-Service P-Associated-URI P-Early-Media "
    "P-Preferred-Identity P-Visited-Network-ID".split()
)
_CANONICAL.update((c, full) for c, full in COMPACT_FORMS.items())


def canonical_name(name: str) -> str:
    """The name we write for *name*: compact forms expanded, known names in their RFC
    spelling (``call-id`` -> ``Call-ID``), unknown names as given."""
    return _CANONICAL.get(name.lower(), name)


@functools.lru_cache(maxsize=512)
def _key(name: str) -> str:
    return _CANONICAL.get(name.lower(), name).lower()


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value, ignoring commas inside quotes or ``<...>``."""
    if "," not in value:
        value = value.strip()
        return [value] if value else []
    items, start, quoted, angled, i = [], 0, False, False, 0
    while i < len(value):
        char = value[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "<":
            angled = True
        elif char == ">":
            angled = False
        elif char == "," and not angled:
            items.append(value[start:i])
            start = i + 1
        i += 1
    items.append(value[start:])
    return [item.strip() for item in items if item.strip()]


_T = TypeVar("_T")


class Headers:
    """Ordered, case-insensitive multi-map of header fields.

    Names are stored in canonical spelling (compact forms expanded) and looked up
    case-insensitively, compact forms included (``get("v")`` finds Via). Values are kept as
    received. Content-Length is not kept here: it is framing, read by the parser and written
    by ``to_bytes()``.

    Headers are mutable so a message can be built up in place; messages holding them are
    treated as values, so copy (``Request.copy()``) before changing a message you did not
    build. Headers are unhashable; equality compares names case-insensitively, in order.
    """

    __slots__ = ("_fields", "_cache")

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: list[tuple[str, str, str]] = []  # (key, name, value)
        self._cache: dict[str, object] = {}
        for name, value in fields:
            self.add(name, value)

    @classmethod
    def _trusted(cls, fields: list[tuple[str, str, str]]) -> Headers:
        """Wrap (key, name, value) triples the parser has already validated."""
        headers = cls.__new__(cls)
        headers._fields = fields
        headers._cache = {}
        return headers

    def get(self, name: str, default: str | None = None) -> str | None:
        """Value of the first field named *name*, or *default*."""
        key = _key(name)
        for field_key, _, value in self._fields:
            if field_key == key:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of *name* in order; comma-separated lists are split for headers whose
        grammar is a list (Via, Route, Contact, Supported...), respecting quotes and ``<>``."""
        key = _key(name)
        values = [value for field_key, _, value in self._fields if field_key == key]
        if key not in LIST_HEADERS:
            return values
        return [item for value in values for item in split_list(value)]

    def count(self, name: str) -> int:
        """How many header fields (lines, not list items) are named *name*."""
        key = _key(name)
        return sum(1 for field_key, _, _ in self._fields if field_key == key)

    def add(self, name: str, value: str) -> None:
        """Append a field after all existing ones."""
        self._fields.append(self._checked(name, value))
        self._cache.clear()

    def insert(self, name: str, value: str) -> None:
        """Put a field before the first one of the same name (e.g. a new top Via), or last."""
        field = self._checked(name, value)
        index = next(
            (i for i, f in enumerate(self._fields) if f[0] == field[0]), len(self._fields)
        )
        self._fields.insert(index, field)
        self._cache.clear()

    def set(self, name: str, value: str) -> None:
        """Replace every field named *name* by one with *value*, where the first one was."""
        field = self._checked(name, value)
        index = next((i for i, f in enumerate(self._fields) if f[0] == field[0]), None)
        self.remove(name)
        self._fields.insert(len(self._fields) if index is None else index, field)

    def remove(self, name: str) -> None:
        """Remove every field named *name* (no error if there is none)."""
        key = _key(name)
        self._fields = [f for f in self._fields if f[0] != key]
        self._cache.clear()

    def copy(self) -> Headers:
        return Headers._trusted(list(self._fields))

    def cache(self, key: str, compute: Callable[[Headers], _T]) -> _T:
        """``compute(self)``, remembered until these headers next change; lets messages
        parse a typed header once however often it is read."""
        try:
            return self._cache[key]  # type: ignore[return-value]
        except KeyError:
            value = self._cache[key] = compute(self)
            return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((name, value) for _, name, value in self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(k, v) for k, _, v in self._fields] == [(k, v) for k, _, v in other._fields]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"

    @staticmethod
    def _checked(name: str, value: str) -> tuple[str, str, str]:
        if not _abnf.TOKEN_RE.match(name):
            raise LocalProtocolError(f"header name {name!r} is not a token")
        if _key(name) == "content-length":
            raise LocalProtocolError("Content-Length is framing: to_bytes() writes it")
        if "\r" in value or "\n" in value:
            raise LocalProtocolError(f"value of {name} contains CR or LF: {value!r}")
        canonical = canonical_name(name)
        return (canonical.lower(), canonical, value.strip())


# ---------------------------------------------------------------------------------------------
# Shared grammar pieces

_SWS = _abnf.SWS
_PARAM_RE = re.compile(
    rf"{_SWS};{_SWS}({_abnf.token})(?:{_SWS}={_SWS}({_abnf.gen_value}))?"
)
_TRAILING_WS_RE = re.compile(r"[ \t]*\Z")
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.S)


def parse_params(text: str, pos: int, what: str) -> Params:
    """Parse ``*( SEMI generic-param )`` from *pos* to the end of *text*."""
    params = []
    while not _TRAILING_WS_RE.match(text, pos):
        match = _PARAM_RE.match(text, pos)
        if match is None:
            raise RemoteProtocolError(f"malformed parameters in {what}: {text!r}")
        params.append(match.groups())
        pos = match.end()
    return tuple(params)


def unquote(value: str) -> str:
    """The content of a quoted-string with its quoted-pairs decoded; other text unchanged."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return _QUOTED_PAIR_RE.sub(r"\1", value[1:-1])
    return value


def quote(value: str) -> str:
    """*value* as a quoted-string, escaping backslashes and double quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _digits(value: str | None) -> int | None:
    """``1*DIGIT`` as an int, else ``None`` (str.isdigit alone would accept "²")."""
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


def _delta_seconds(value: str | None) -> int | None:
    # RFC 3261 §25.1 delta-seconds is 1*DIGIT; values past 2**32-1 are treated as malformed,
    # and malformed values as absent so the caller applies its default (RFC 4475 §3.1.2.4).
    number = _digits(value)
    return number if number is not None and number < 2**32 else None


# ---------------------------------------------------------------------------------------------
# Addresses: From, To, Contact, Route, Record-Route, P-Asserted-Identity...

# display-name = *(token LWS) / quoted-string (RFC 3261 §25.1)
_DISPLAY_TOKENS_RE = _abnf.compile_fullmatch(rf"{_abnf.token}(?:{_abnf.LWS}{_abnf.token})*")
_QUOTED_RE = re.compile(_abnf.quoted_string)


def _parse_address(text: str, what: str) -> tuple[str | None, Uri, int, str]:
    """Split name-addr / addr-spec *text* into (display name, URI, end of address, text)."""
    text = text.strip()
    display_name = None
    if text.startswith('"'):
        quoted = _QUOTED_RE.match(text)
        if quoted is None:
            raise RemoteProtocolError(f"unterminated quoted display name in {what}: {text!r}")
        display_name = unquote(quoted.group())
        lt = len(text) - len(text[quoted.end():].lstrip(" \t"))
        if not text.startswith("<", lt):
            raise RemoteProtocolError(f"display name in {what} is not followed by <URI>")
    else:
        lt = text.find("<")
        if lt < 0:
            # addr-spec: parameters after the URI belong to the header, and a URI with
            # headers or a comma must use the name-addr form (§20.10, RFC 4475 §3.1.2.13).
            end = text.find(";")
            end = len(text) if end < 0 else end
            if "?" in text[:end] or "," in text[:end]:
                raise RemoteProtocolError(f"URI with ? or , in {what} must be in <>")
            return None, _parse_uri(text[:end].rstrip(" \t"), what), end, text
        if lt:
            tokens = text[:lt].rstrip(" \t")
            if not _DISPLAY_TOKENS_RE.match(tokens):
                raise RemoteProtocolError(f"display name in {what} must be tokens or quoted")
            display_name = tokens
    gt = text.find(">", lt)
    if gt < 0:
        raise RemoteProtocolError(f"unterminated <URI> in {what}: {text!r}")
    return display_name, _parse_uri(text[lt + 1:gt], what), gt + 1, text


def _parse_uri(text: str, what: str) -> Uri:
    try:
        return parse_uri(text)
    except RemoteProtocolError as exc:
        raise RemoteProtocolError(f"{exc.reason} (in {what})") from None


def _format_address(display_name: str | None, uri: Uri | None, params: Params) -> str:
    name = "" if display_name is None else quote(display_name) + " "
    return f"{name}<{uri}>{format_params(params)}"


@attrs.frozen
class NameAddr(_ParamsMixin):
    """An address with optional display name and header parameters (RFC 3261 §25.1
    name-addr / addr-spec), as in From, To, Route, Record-Route, P-Asserted-Identity.

    ``display_name`` is unquoted and unescaped (``None`` when absent). ``str()`` always
    writes the name-addr form, which is valid wherever addr-spec is.
    """

    display_name: str | None
    uri: Uri
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        display_name, uri, end, text = _parse_address(text, "address")
        return cls(display_name, uri, parse_params(text, end, "address"))

    def __str__(self) -> str:
        return _format_address(self.display_name, self.uri, self.params)

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return self.with_params(tag=tag)


@attrs.frozen
class Contact(_ParamsMixin):
    """One Contact value (RFC 3261 §20.10), or the ``*`` wildcard of a REGISTER that removes
    all bindings (``uri is None``). Parse a whole header field with :meth:`parse_list`."""

    display_name: str | None
    uri: Uri | None
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> Contact:
        if text.strip() == "*":
            return cls(None, None)
        display_name, uri, end, text = _parse_address(text, "Contact")
        return cls(display_name, uri, parse_params(text, end, "Contact"))

    @classmethod
    def parse_list(cls, values: Iterable[str]) -> list[Contact]:
        """Parse already-split Contact values (``Headers.get_all("Contact")``)."""
        return [cls.parse(value) for value in values]

    def __str__(self) -> str:
        if self.uri is None:
            return "*"
        return _format_address(self.display_name, self.uri, self.params)

    @property
    def is_wildcard(self) -> bool:
        return self.uri is None

    @property
    def expires(self) -> int | None:
        """The ``expires`` parameter in seconds; ``None`` if absent or malformed."""
        return _delta_seconds(self.param("expires"))

    @property
    def q(self) -> float | None:
        value = self.param("q")
        try:
            return None if value is None else float(value)
        except ValueError:
            return None

    @property
    def sip_instance(self) -> str | None:
        """The ``+sip.instance`` value unquoted, e.g. ``<urn:uuid:...>`` (RFC 5626 §4.1)."""
        value = self.param("+sip.instance")
        return None if value is None else unquote(value)

    @property
    def reg_id(self) -> int | None:
        return _digits(self.param("reg-id"))


# ---------------------------------------------------------------------------------------------
# Via, CSeq

_VIA_RE = re.compile(
    rf"{_SWS}({_abnf.token}){_SWS}/{_SWS}({_abnf.token}){_SWS}/{_SWS}({_abnf.token})"
    rf"{_abnf.LWS}({_abnf.host})(?:{_SWS}:{_SWS}({_abnf.port}))?"
)


@attrs.frozen
class Via(_ParamsMixin):
    """One Via value (RFC 3261 §20.42): ``SIP/2.0/UDP host:port;branch=...``.

    ``protocol`` is ``name/version`` (``SIP/2.0``); ``transport`` is upper-cased.
    """

    protocol: str
    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> Via:
        match = _VIA_RE.match(text)
        if match is None:
            raise RemoteProtocolError(f"malformed Via: {text!r}")
        name, version, transport, host, port = match.groups()
        if port is not None and int(port) > 65535:
            raise RemoteProtocolError(f"Via port {port} is beyond 65535")
        return cls(
            f"{name}/{version}",
            transport.upper(),
            host,
            None if port is None else int(port),
            parse_params(text, match.end(), "Via"),
        )

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.protocol}/{self.transport} {self.host}{port}{format_params(self.params)}"

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    @property
    def received(self) -> str | None:
        return self.param("received")

    @property
    def rport(self) -> int | None:
        """The port filled in by the server (RFC 3581); ``None`` if absent or a bare flag."""
        return _digits(self.param("rport"))

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return (self.host, self.port)


_CSEQ_RE = _abnf.compile_fullmatch(rf"{_SWS}([0-9]+){_abnf.LWS}({_abnf.token}){_SWS}")


@attrs.frozen
class CSeq:
    """CSeq (RFC 3261 §20.16): sequence number below 2**31 and method."""

    seq: int = attrs.field()
    method: str

    @seq.validator
    def _check_seq(self, attribute: attrs.Attribute, value: int) -> None:
        if not 0 <= value < 2**31:
            raise LocalProtocolError(f"CSeq number {value} is outside 0..2**31-1")

    @classmethod
    def parse(cls, text: str) -> CSeq:
        match = _CSEQ_RE.match(text)
        if match is None:
            raise RemoteProtocolError(f"malformed CSeq: {text!r}")
        seq = int(match.group(1))
        if seq >= 2**31:  # §8.1.1.5
            raise RemoteProtocolError(f"CSeq number {match.group(1)} is 2**31 or more")
        return cls(seq, match.group(2))

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


# ---------------------------------------------------------------------------------------------
# Authentication (RFC 3261 §20.27, §20.44; RFC 7616 §3.3-3.4)

_AUTH_SCHEME_RE = re.compile(rf"{_SWS}({_abnf.token})(?:{_abnf.LWS}|\Z)")
_AUTH_PARAM_RE = re.compile(
    rf"{_SWS}({_abnf.token}){_SWS}={_SWS}({_abnf.token}|{_abnf.quoted_string}){_SWS}"
)


def _parse_auth(text: str, what: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    match = _AUTH_SCHEME_RE.match(text)
    if match is None:
        raise RemoteProtocolError(f"malformed {what}: {text!r}")
    params, pos = [], match.end()
    while pos < len(text):
        param = _AUTH_PARAM_RE.match(text, pos)
        if param is None:
            raise RemoteProtocolError(f"malformed parameter in {what}: {text[pos:]!r}")
        params.append((param.group(1), unquote(param.group(2))))
        pos = param.end()
        if pos < len(text):
            if text[pos] != ",":
                raise RemoteProtocolError(f"parameters of {what} must be comma-separated")
            pos += 1
    return match.group(1), tuple(params)


class _AuthMixin:
    __slots__ = ()
    scheme: str
    params: tuple[tuple[str, str], ...]
    _UNQUOTED: frozenset[str]

    def param(self, name: str) -> str | None:
        """Unquoted value of auth-param *name* (case-insensitive), or ``None``."""
        key = name.lower()
        return next((v for n, v in self.params if n.lower() == key), None)

    def __str__(self) -> str:
        items = (f"{n}={v if n.lower() in self._UNQUOTED else quote(v)}" for n, v in self.params)
        return f"{self.scheme} {', '.join(items)}"


@attrs.frozen
class Authenticate(_AuthMixin):
    """A WWW-Authenticate or Proxy-Authenticate challenge: scheme and unquoted params."""

    scheme: str
    params: tuple[tuple[str, str], ...] = ()
    _UNQUOTED = frozenset({"algorithm", "stale", "userhash", "charset"})

    @classmethod
    def parse(cls, text: str) -> Authenticate:
        return cls(*_parse_auth(text, "challenge"))


@attrs.frozen
class Authorization(_AuthMixin):
    """An Authorization or Proxy-Authorization credential: scheme and unquoted params."""

    scheme: str
    params: tuple[tuple[str, str], ...] = ()
    _UNQUOTED = frozenset({"algorithm", "nc", "qop", "userhash"})

    @classmethod
    def parse(cls, text: str) -> Authorization:
        return cls(*_parse_auth(text, "credentials"))


# ---------------------------------------------------------------------------------------------
# Events and subscriptions (RFC 6665 §8.2), Privacy (RFC 3323), option-tag lists

_EVENT_TYPE_RE = re.compile(rf"{_SWS}({_abnf.token})")


@attrs.frozen
class EventHeader(_ParamsMixin):
    """Event (RFC 6665 §8.2.1): package (with templates, ``presence.winfo``) and params."""

    package: str
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> EventHeader:
        match = _EVENT_TYPE_RE.match(text)
        if match is None:
            raise RemoteProtocolError(f"malformed Event: {text!r}")
        return cls(match.group(1), parse_params(text, match.end(), "Event"))

    def __str__(self) -> str:
        return f"{self.package}{format_params(self.params)}"

    @property
    def id(self) -> str | None:
        return self.param("id")


@attrs.frozen
class SubscriptionState(_ParamsMixin):
    """Subscription-State (RFC 6665 §8.2.3): ``active``, ``pending`` or ``terminated``
    (lowercased) with ``expires``, ``reason`` and ``retry-after``."""

    state: str
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> SubscriptionState:
        match = _EVENT_TYPE_RE.match(text)
        if match is None:
            raise RemoteProtocolError(f"malformed Subscription-State: {text!r}")
        params = parse_params(text, match.end(), "Subscription-State")
        return cls(match.group(1).lower(), params)

    def __str__(self) -> str:
        return f"{self.state}{format_params(self.params)}"

    @property
    def expires(self) -> int | None:
        return _delta_seconds(self.param("expires"))

    @property
    def reason(self) -> str | None:
        return self.param("reason")

    @property
    def retry_after(self) -> int | None:
        return _delta_seconds(self.param("retry-after"))


_PRIV_VALUE_RE = _abnf.compile_fullmatch(rf"{_SWS}{_abnf.token}{_SWS}")


@attrs.frozen
class Privacy:
    """Privacy (RFC 3323 §4.2): ``id;header`` -> ``Privacy(("id", "header"))``."""

    values: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Privacy:
        items = text.split(";")
        if not all(_PRIV_VALUE_RE.match(item) for item in items):
            raise RemoteProtocolError(f"malformed Privacy: {text!r}")
        return cls(tuple(item.strip().lower() for item in items))

    def __str__(self) -> str:
        return ";".join(self.values)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and value.lower() in self.values


@attrs.frozen
class TokenList:
    """A list of tokens: option tags (Supported, Require, Proxy-Require, Unsupported),
    methods (Allow) or event packages (Allow-Events). Membership is case-sensitive, as
    option tags and methods are (RFC 3261 §19.2, §7.1)."""

    tokens: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> TokenList:
        return cls.parse_list(split_list(text))

    @classmethod
    def parse_list(cls, values: Iterable[str]) -> TokenList:
        """Parse already-split values, e.g. ``Headers.get_all("Supported")``."""
        tokens = tuple(values)
        for token in tokens:
            if not _abnf.TOKEN_RE.match(token):
                raise RemoteProtocolError(f"{token!r} is not a token")
        return cls(tokens)

    def __str__(self) -> str:
        return ", ".join(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.tokens

    def __iter__(self) -> Iterator[str]:
        return iter(self.tokens)
