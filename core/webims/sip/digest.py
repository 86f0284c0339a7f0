"""HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).

The client side answers a WWW-Authenticate / Proxy-Authenticate challenge: MD5, SHA-256 and
SHA-512/256, their ``-sess`` variants, qop ``auth`` and ``auth-int``, and RFC 7616
``userhash``. IMS AKA (``AKAv1-MD5``) needs the ISIM and is not handled here.
:func:`make_challenge` and :func:`verify` are the server side, for test peers.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Iterable

import attrs

from .errors import LocalProtocolError, RemoteProtocolError
from .headers import Authenticate, Authorization

__all__ = [
    "DigestChallenge",
    "DigestClient",
    "choose_challenge",
    "make_challenge",
    "verify",
    "SUPPORTED_ALGORITHMS",
]

_HASHLIB_NAMES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}


def _available(hashlib_name: str) -> bool:
    # SHA-512/256 comes from OpenSSL and some builds lack it (RFC 7616 §3.2 requires it).
    try:
        hashlib.new(hashlib_name, usedforsecurity=False)
    except ValueError:
        return False
    return True


#: Algorithms this interpreter can answer, strongest first (RFC 8760 §2.3 order).
SUPPORTED_ALGORITHMS = tuple(
    name
    for base in ("SHA-512-256", "SHA-256", "MD5")
    if _available(_HASHLIB_NAMES[base])
    for name in (base, base + "-sess")
)


def _hasher(algorithm: str):
    """``H(text) -> hex`` for *algorithm* (``-sess`` or not, any case)."""
    base = algorithm.upper().removesuffix("-SESS")
    if algorithm.upper() not in (a.upper() for a in SUPPORTED_ALGORITHMS):
        raise LocalProtocolError(f"digest algorithm {algorithm} is not supported here")
    name = _HASHLIB_NAMES[base]

    def digest(data: str | bytes) -> str:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return hashlib.new(name, raw, usedforsecurity=False).hexdigest()

    return digest


@attrs.frozen
class DigestChallenge:
    """A Digest challenge. ``stale`` tells a UA that only the nonce expired, so it can retry
    with the same credentials without asking the user (RFC 7616 §3.3). ``proxy`` is true when
    it came from Proxy-Authenticate, which is answered in Proxy-Authorization."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    userhash: bool = False
    proxy: bool = False
    algorithm_given: bool = attrs.field(default=True, repr=False)

    @classmethod
    def parse(cls, text: str, *, proxy: bool = False) -> DigestChallenge:
        """Parse a WWW-Authenticate (or, with ``proxy=True``, Proxy-Authenticate) value."""
        return cls.from_header(Authenticate.parse(text), proxy=proxy)

    @classmethod
    def from_header(cls, header: Authenticate, *, proxy: bool = False) -> DigestChallenge:
        if header.scheme.lower() != "digest":
            raise RemoteProtocolError(f"challenge scheme {header.scheme} is not Digest")
        realm, nonce = header.param("realm"), header.param("nonce")
        if realm is None or nonce is None:
            raise RemoteProtocolError("Digest challenge lacks realm or nonce")
        algorithm = header.param("algorithm")
        qop = header.param("qop")
        return cls(
            realm=realm,
            nonce=nonce,
            algorithm=algorithm or "MD5",
            qop=tuple(q.strip().lower() for q in qop.split(",") if q.strip()) if qop else (),
            opaque=header.param("opaque"),
            stale=(header.param("stale") or "").lower() == "true",
            userhash=(header.param("userhash") or "").lower() == "true",
            proxy=proxy,
            algorithm_given=algorithm is not None,
        )

    @property
    def response_header(self) -> str:
        """The header that carries the answer: ``Authorization`` or ``Proxy-Authorization``."""
        return "Proxy-Authorization" if self.proxy else "Authorization"

    @property
    def is_supported(self) -> bool:
        return self.algorithm.upper() in (a.upper() for a in SUPPORTED_ALGORITHMS)


def choose_challenge(challenges: Iterable[DigestChallenge]) -> DigestChallenge | None:
    """The challenge with the strongest algorithm we support (the first one on a tie), or
    ``None`` if we support none (RFC 8760 §2.4)."""
    strength = {a.upper(): i for i, a in enumerate(SUPPORTED_ALGORITHMS)}
    usable = [c for c in challenges if c.algorithm.upper() in strength]
    return min(usable, key=lambda c: strength[c.algorithm.upper()], default=None)


@attrs.frozen
class _Answer:
    """The inputs of one digest computation (RFC 7616 §3.4.1)."""

    algorithm: str
    username: str
    realm: str
    password: str
    nonce: str
    method: str
    uri: str
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    body: bytes = b""

    def response(self) -> str:
        h = _hasher(self.algorithm)
        ha1 = h(f"{self.username}:{self.realm}:{self.password}")
        if self.algorithm.upper().endswith("-SESS"):
            ha1 = h(f"{ha1}:{self.nonce}:{self.cnonce}")
        a2 = f"{self.method}:{self.uri}"
        if self.qop == "auth-int":
            a2 += ":" + h(self.body)
        if self.qop is None:  # RFC 2069 compatibility, still allowed by RFC 3261 §22.4
            return h(f"{ha1}:{self.nonce}:{h(a2)}")
        return h(f"{ha1}:{self.nonce}:{self.nc}:{self.cnonce}:{self.qop}:{h(a2)}")


@attrs.define
class DigestClient:
    """A user's credentials, and the nonce counts used with each server nonce.

    Keep one per registration or call leg: the same nonce may be reused across requests,
    and each use needs the next ``nc`` (RFC 7616 §3.4).
    """

    username: str
    password: str = attrs.field(repr=False)
    _nonce_counts: dict[str, int] = attrs.field(factory=dict, init=False, repr=False)
    _MAX_NONCES = 16  # a long-lived client must not grow without bound

    def authorize(
        self,
        challenge: DigestChallenge,
        method: str,
        uri: str,
        body: bytes = b"",
        *,
        qop: str | None = None,
        cnonce: str | None = None,
    ) -> str:
        """The Authorization (or Proxy-Authorization) value answering *challenge* for a
        *method* request to *uri* (the Request-URI as sent). ``qop`` picks among those
        offered (default ``auth`` over ``auth-int``); ``cnonce`` is for known-answer tests."""
        qop = self._pick_qop(challenge, qop)
        nc = cnonce_value = None
        if qop is not None or challenge.algorithm.upper().endswith("-SESS"):
            cnonce_value = cnonce or secrets.token_hex(16)
        if qop is not None:
            nc = f"{self._next_count(challenge.nonce):08x}"
        response = _Answer(
            challenge.algorithm, self.username, challenge.realm, self.password, challenge.nonce,
            method, uri, qop, nc, cnonce_value, body,
        ).response()  # fmt: skip
        username = self.username
        if challenge.userhash:  # RFC 7616 §3.4.4: only the username field is hashed
            username = _hasher(challenge.algorithm)(f"{username}:{challenge.realm}")
        params = [
            ("username", username), ("realm", challenge.realm), ("nonce", challenge.nonce),
            ("uri", uri), ("response", response),
        ]  # fmt: skip
        if challenge.algorithm_given:
            params.append(("algorithm", challenge.algorithm))
        if cnonce_value is not None:
            params.append(("cnonce", cnonce_value))
        if challenge.opaque is not None:
            params.append(("opaque", challenge.opaque))
        if qop is not None:
            params += [("qop", qop), ("nc", nc)]
        if challenge.userhash:
            params.append(("userhash", "true"))
        return str(Authorization("Digest", tuple(params)))

    @staticmethod
    def _pick_qop(challenge: DigestChallenge, wanted: str | None) -> str | None:
        if wanted is not None:
            if wanted not in challenge.qop:
                raise LocalProtocolError(f"qop {wanted} was not offered: {challenge.qop}")
            return wanted
        for candidate in ("auth", "auth-int"):
            if candidate in challenge.qop:
                return candidate
        if challenge.qop:
            raise LocalProtocolError(f"none of the offered qop {challenge.qop} is supported")
        return None

    def _next_count(self, nonce: str) -> int:
        count = self._nonce_counts.pop(nonce, 0) + 1
        self._nonce_counts[nonce] = count  # re-inserted last: most recently used
        if len(self._nonce_counts) > self._MAX_NONCES:
            del self._nonce_counts[next(iter(self._nonce_counts))]
        return count


def make_challenge(
    realm: str,
    *,
    algorithm: str = "MD5",
    qop: tuple[str, ...] = ("auth",),
    nonce: str | None = None,
    opaque: str | None = None,
    stale: bool = False,
) -> str:
    """A WWW-Authenticate / Proxy-Authenticate value, for test peers."""
    params = [("realm", realm), ("nonce", nonce or secrets.token_hex(16))]
    if qop:
        params.append(("qop", ",".join(qop)))
    params.append(("algorithm", algorithm))
    if opaque is not None:
        params.append(("opaque", opaque))
    if stale:
        params.append(("stale", "true"))
    return str(Authenticate("Digest", tuple(params)))


def verify(credentials: str, *, method: str, password: str, body: bytes = b"") -> bool:
    """Whether an Authorization value proves knowledge of *password* (test peers only: it
    trusts the realm, nonce and nc the client echoes, and ignores userhash)."""
    header = Authorization.parse(credentials)
    p = header.param
    username, realm, nonce, uri, response = (
        p("username"), p("realm"), p("nonce"), p("uri"), p("response")
    )  # fmt: skip
    if header.scheme.lower() != "digest" or None in (username, realm, nonce, uri, response):
        return False
    answer = _Answer(
        p("algorithm") or "MD5", username, realm, password, nonce, method, uri,
        p("qop"), p("nc"), p("cnonce"), body,
    )  # type: ignore[arg-type]  # fmt: skip
    return secrets.compare_digest(answer.response(), response)  # type: ignore[arg-type]
