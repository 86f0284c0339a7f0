"""SIP, SIPS and tel URIs as values (RFC 3261 §19.1, RFC 3966), and their comparison.

Components are kept as they appear on the wire, %-escapes included, so ``str(parse_uri(t))``
gives back ``t`` (apart from the scheme, which is lowercased). Escapes only matter when URIs
are compared, and :func:`uri_equal` applies the RFC 3261 §19.1.4 rules for that. Any other
scheme is kept opaque as an :class:`AbsoluteUri`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Union

import attrs

from . import _abnf
from .errors import LocalProtocolError, RemoteProtocolError

__all__ = ["SipUri", "TelUri", "AbsoluteUri", "Uri", "parse_uri", "uri_equal", "Params"]

#: ``;name=value`` parameters in wire order; a flag parameter (``;lr``) has value ``None``.
Params = tuple[tuple[str, Union[str, None]], ...]


def _ipv6_host(host: str) -> str:
    # Accept a bare IPv6 address for convenience; the grammar wants it bracketed (§25.1).
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _check_port(instance: object, attribute: attrs.Attribute, value: int | None) -> None:
    if value is not None and not 0 <= value <= 65535:
        raise LocalProtocolError(f"port {value} is outside 0..65535")


def find_param(params: Params, name: str) -> tuple[str, str | None] | None:
    """The first ``(name, value)`` pair named *name* (case-insensitive), or ``None``."""
    key = name.lower()
    for pair in params:
        if pair[0].lower() == key:
            return pair
    return None


def replace_params(params: Params, updates: dict[str, str | None]) -> Params:
    """*params* with each of *updates* set in place (or appended), names case-insensitive."""
    pending = {k.lower(): (k, v) for k, v in updates.items()}
    out = [pending.pop(n.lower(), (n, v)) for n, v in params]
    return tuple(out) + tuple(pending.values())


def format_params(params: Params) -> str:
    return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in params)


class _ParamsMixin:
    """Parameter access shared by every URI and header value that carries ``params``."""

    __slots__ = ()
    params: Params

    def param(self, name: str, default: str | None = None) -> str | None:
        """Value of parameter *name* (case-insensitive); *default* if absent or a flag."""
        pair = find_param(self.params, name)
        return default if pair is None or pair[1] is None else pair[1]

    def has_param(self, name: str) -> bool:
        """Whether parameter *name* is present, with or without a value (``;lr``)."""
        return find_param(self.params, name) is not None

    def with_params(self, **params: str | None):
        """A copy with *params* set, in place or appended (``None`` makes a flag);
        ``with_params(**{"+sip.instance": v})`` sets names that are not identifiers."""
        return attrs.evolve(self, params=replace_params(self.params, params))

    def without_params(self, *names: str):
        """A copy with every parameter named in *names* (case-insensitive) removed."""
        drop = {n.lower() for n in names}
        return attrs.evolve(self, params=tuple(p for p in self.params if p[0].lower() not in drop))


@attrs.frozen(kw_only=True)
class SipUri(_ParamsMixin):
    """``sip:`` or ``sips:`` URI (RFC 3261 §19.1.1).

    ``user`` and ``password`` keep their %-escapes; ``host`` keeps its case and, for IPv6, its
    brackets (``[2001:db8::1]``; a bare IPv6 address given here is bracketed for you).
    ``headers`` are the ``?name=value`` components, which only make sense in a header field URI.
    Fields are keyword-only: ``SipUri(user="alice", host="example.com")``.
    """

    scheme: str = attrs.field(default="sip", validator=attrs.validators.in_(("sip", "sips")))
    user: str | None = None
    password: str | None = None
    host: str = attrs.field(converter=_ipv6_host)
    port: int | None = attrs.field(default=None, validator=_check_port)
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts += [self.user, "" if self.password is None else ":" + self.password, "@"]
        parts.append(self.host)
        if self.port is not None:
            parts.append(f":{self.port}")
        parts.append(format_params(self.params))
        if self.headers:
            parts.append("?" + "&".join(f"{n}={v}" for n, v in self.headers))
        return "".join(parts)

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lowercased (``udp``, ``tcp``, ``tls``, ``ws``...)."""
        value = self.param("transport")
        return value.lower() if value else None

    @property
    def host_is_ip(self) -> bool:
        return _is_ip(self.host)


@attrs.frozen
class TelUri(_ParamsMixin):
    """``tel:`` URI (RFC 3966): a global number (``+15551234567``) or a local number that
    carries a ``phone-context`` parameter. ``number`` keeps its visual separators."""

    number: str
    params: Params = ()

    def __str__(self) -> str:
        return f"tel:{self.number}{format_params(self.params)}"

    @property
    def is_global(self) -> bool:
        return self.number.startswith("+")

    @property
    def phone_context(self) -> str | None:
        return self.param("phone-context")

    @property
    def digits(self) -> str:
        """The number without visual separators (RFC 3966 §5.1.1), as compared in §4."""
        return re.sub(rf"[{_abnf.visual_separator}]", "", self.number)


@attrs.frozen
class AbsoluteUri:
    """A URI of any other scheme (``urn:``, ``mailto:``, ``http:``...), kept opaque."""

    scheme: str
    rest: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.rest}"


Uri = Union[SipUri, TelUri, AbsoluteUri]

# ---------------------------------------------------------------------------------------------
# Parsing

_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*):")
_USERINFO_RE = _abnf.compile_fullmatch(rf"({_abnf.user})(?::({_abnf.password}))?")
_HOSTPORT_RE = _abnf.compile_fullmatch(
    rf"({_abnf.host})(?::({_abnf.port}))?"
    rf"((?:;{_abnf.paramchar}+(?:={_abnf.paramchar}+)?)*)"
    rf"(?:\?({_abnf.hnvchar}+={_abnf.hnvchar}*(?:&{_abnf.hnvchar}+={_abnf.hnvchar}*)*))?"
)
_TEL_RE = _abnf.compile_fullmatch(
    rf"({_abnf.global_number_digits}|{_abnf.local_number_digits})"
    rf"((?:;[A-Za-z0-9\-]+(?:={_abnf.paramchar}+)?)*)"
)
# Opaque URIs: anything printable that cannot end a name-addr or a header value.
_OPAQUE_RE = re.compile(r"[^\x00-\x20<>\"\x7f]+\Z")


def parse_uri(text: str) -> Uri:
    """Parse a URI; raise :class:`RemoteProtocolError` if it is malformed."""
    match = _SCHEME_RE.match(text)
    if match is None:
        raise RemoteProtocolError(f"URI {text!r} has no scheme")
    scheme = match.group(1).lower()
    rest = text[match.end():]
    if scheme in ("sip", "sips"):
        return _parse_sip(scheme, rest, text)
    if scheme == "tel":
        return _parse_tel(rest, text)
    if not _OPAQUE_RE.match(rest):
        raise RemoteProtocolError(f"URI {text!r} has characters a URI cannot contain")
    return AbsoluteUri(scheme, rest)


def _parse_sip(scheme: str, rest: str, text: str) -> SipUri:
    user = password = None
    # '@' is in neither the host, the parameters nor the headers (§25.1), so the first one
    # ends the userinfo; the user part itself may contain ';' and '?'.
    at = rest.find("@")
    if at >= 0:
        userinfo = _USERINFO_RE.match(rest[:at])
        if userinfo is None:
            raise RemoteProtocolError(f"SIP URI {text!r} has a malformed user part")
        user, password = userinfo.groups()
        rest = rest[at + 1:]
    match = _HOSTPORT_RE.match(rest)
    if match is None:
        raise RemoteProtocolError(f"SIP URI {text!r} is malformed")
    host, port, params, headers = match.groups()
    if host.startswith("["):
        _check_ipv6(host, text)
    port_number = None if port is None else int(port)
    if port_number is not None and port_number > 65535:
        raise RemoteProtocolError(f"SIP URI {text!r} has port {port} beyond 65535")
    return SipUri(
        scheme=scheme,
        user=user,
        password=password,
        host=host,
        port=port_number,
        params=split_params(params) if params else (),
        headers=tuple(_split_pair(h) for h in headers.split("&")) if headers else (),
    )


def _check_ipv6(host: str, text: str) -> None:
    try:
        ipaddress.IPv6Address(host[1:-1])
    except ValueError:
        raise RemoteProtocolError(f"URI {text!r} has a malformed IPv6 reference") from None


def _parse_tel(rest: str, text: str) -> TelUri:
    match = _TEL_RE.match(rest)
    if match is None:
        raise RemoteProtocolError(f"tel URI {text!r} is malformed")
    number, params = match.groups()
    uri = TelUri(number, split_params(params) if params else ())
    if not uri.is_global and uri.phone_context is None:
        # RFC 3966 §5.1.5: a local number MUST carry the context it is valid in.
        raise RemoteProtocolError(f"local tel URI {text!r} lacks a phone-context parameter")
    return uri


def split_params(text: str) -> Params:
    """Split ``;a=1;b`` (already validated) into ``(("a", "1"), ("b", None))``."""
    return tuple(_split_pair(p) for p in text.split(";")[1:])


def _split_pair(text: str) -> tuple[str, str | None]:
    name, eq, value = text.partition("=")
    return (name, value if eq else None)


# ---------------------------------------------------------------------------------------------
# Comparison (RFC 3261 §19.1.4, RFC 3966 §4)

# The characters whose escaped and plain forms differ in meaning inside a SIP URI (§19.1.2),
# plus "%" itself, so that decoding once can never manufacture a new escape.
_KEEP_ESCAPED = set(";/?:@&=+$,%")
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
# §19.1.4: these parameters break equality even when only one URI has them.
_PARAMS_THAT_MUST_MATCH = ("user", "ttl", "method", "maddr")


def unescape(text: str) -> str:
    """Decode %-escapes of unreserved characters; normalise the rest to upper-case escapes."""

    def decode(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return "%" + match.group(1).upper() if char in _KEEP_ESCAPED or ord(char) < 0x21 else char

    return _ESCAPE_RE.sub(decode, text) if "%" in text else text


def uri_equal(a: Uri, b: Uri) -> bool:
    """Whether *a* and *b* are the same URI under RFC 3261 §19.1.4 / RFC 3966 §4 rules."""
    if isinstance(a, SipUri) and isinstance(b, SipUri):
        return _sip_equal(a, b)
    if isinstance(a, TelUri) and isinstance(b, TelUri):
        return _tel_equal(a, b)
    if isinstance(a, AbsoluteUri) and isinstance(b, AbsoluteUri):
        return a.scheme == b.scheme and a.rest == b.rest
    return False


def _sip_equal(a: SipUri, b: SipUri) -> bool:
    def opt(value: str | None) -> str | None:
        return None if value is None else unescape(value)

    if (a.scheme, a.port) != (b.scheme, b.port):
        return False
    # userinfo is compared case-sensitively, everything else case-insensitively.
    if (opt(a.user), opt(a.password)) != (opt(b.user), opt(b.password)):
        return False
    if _host_key(a.host) != _host_key(b.host):
        return False
    return _params_equal(a.params, b.params) and _headers_key(a) == _headers_key(b)


def _host_key(host: str) -> str:
    if host.startswith("["):
        return str(ipaddress.IPv6Address(host[1:-1]))
    return host.lower().rstrip(".")


def _params_equal(a: Params, b: Params) -> bool:
    def normalise(params: Params) -> dict[str, str | None]:
        return {
            unescape(n).lower(): None if v is None else unescape(v).lower() for n, v in params
        }

    left, right = normalise(a), normalise(b)
    for name in left.keys() & right.keys():
        if left[name] != right[name]:
            return False
    return all((n in left) == (n in right) for n in _PARAMS_THAT_MUST_MATCH)


def _headers_key(uri: SipUri) -> frozenset[tuple[str, str]]:
    return frozenset((unescape(n).lower(), unescape(v)) for n, v in uri.headers)


def _tel_equal(a: TelUri, b: TelUri) -> bool:
    def params_key(uri: TelUri) -> frozenset[tuple[str, str | None]]:
        return frozenset(
            (n.lower(), None if v is None else unescape(v).lower()) for n, v in uri.params
        )

    return a.digits.lower() == b.digits.lower() and params_key(a) == params_key(b)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
