"""The lab's subscriber data: IMS subscriptions loaded and validated from a TOML file.

An IMS subscription (TS 23.228 §4.3.3) has private identities (what a UA authenticates
as) and public identities (what it is reached at). Here every subscription has exactly
one implicit registration set: all its public identities register together, and the
first one is the default public identity. The lab stores a subscription's contacts
under that default identity, its *canonical AOR*, so it must be a SIP URI.

Identities are compared by their *key* (:func:`identity_key`): the lab's Kamailio
config applies the same rule when it maps a Request-URI or a From URI to a
subscription, so the two must stay in step.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import attrs

# The demo data in the source tree (config/ is not part of the installed package).
DEFAULT_SUBSCRIBERS_FILE = Path(__file__).resolve().parents[3] / "config" / "lab" / "subscribers.toml"

_SIP_URI = re.compile(r"^(?P<scheme>sips?):(?P<user>[^@;?]+)@(?P<host>[^;?>:]+)", re.IGNORECASE)
_TEL_URI = re.compile(r"^tel:(?P<number>\+[0-9]+)", re.IGNORECASE)


class SubscribersError(ValueError):
    """The subscribers file is unreadable or describes an impossible subscription."""


def identity_key(uri: str) -> str:
    """The form under which the lab knows a public identity.

    `sip:user@host` keeps only user and host (no port, parameters or headers); a SIP
    URI whose user part is a global number (`sip:+15550100@ims.test;user=phone`) and
    a tel URI both become `tel:+15550100`, so dialling either reaches the same
    identity.
    """
    sip = _SIP_URI.match(uri.strip())
    if sip:
        user = sip["user"]
        if user.startswith("+"):
            return "tel:" + user
        return f"sip:{user}@{sip['host'].lower()}"
    tel = _TEL_URI.match(uri.strip())
    if tel:
        return "tel:" + tel["number"]
    raise SubscribersError(f"not a sip: or global tel: URI: {uri!r}")


def _check_identity(_instance, _attribute, value: tuple[str, ...]) -> None:
    if not value:
        raise SubscribersError("a subscription needs at least one public identity")
    for uri in value:
        if identity_key(uri) != uri:
            raise SubscribersError(f"write public identity {uri!r} as {identity_key(uri)!r}")
    if not value[0].startswith("sip:"):
        raise SubscribersError(f"the default public identity must be a sip: URI, not {value[0]!r}")


def _non_empty(_instance, attribute, value: str) -> None:
    if not value:
        raise SubscribersError(f"{attribute.name} must not be empty")


@attrs.frozen
class PrivateIdentity:
    """A digest credential of a subscription (IMPI): username in the lab's realm."""

    username: str = attrs.field(validator=_non_empty)
    password: str = attrs.field(validator=_non_empty, repr=False)


@attrs.frozen
class Subscription:
    """One subscriber: its credentials and its implicit registration set."""

    display_name: str
    public_identities: tuple[str, ...] = attrs.field(converter=tuple, validator=_check_identity)
    private_identities: tuple[PrivateIdentity, ...] = attrs.field(converter=tuple)

    @private_identities.validator
    def _at_least_one(self, _attribute, value) -> None:
        if not value:
            raise SubscribersError(f"{self.canonical_aor}: no private identity")

    @property
    def canonical_aor(self) -> str:
        """The default public identity: where the lab stores this subscription's contacts."""
        return self.public_identities[0]

    @property
    def implicit_set(self) -> tuple[str, ...]:
        return self.public_identities


@attrs.frozen
class Subscribers:
    """All subscriptions of the lab, served under one domain (also the digest realm)."""

    domain: str = attrs.field(validator=_non_empty)
    subscriptions: tuple[Subscription, ...] = attrs.field(converter=tuple)

    def __attrs_post_init__(self) -> None:
        _check_unique(u.username for s in self.subscriptions for u in s.private_identities)
        _check_unique(uri for s in self.subscriptions for uri in s.public_identities)
        for uri in (uri for s in self.subscriptions for uri in s.public_identities):
            if uri.startswith("sip:") and not uri.endswith("@" + self.domain):
                raise SubscribersError(f"{uri} is outside the lab domain {self.domain}")

    def by_identity(self, uri: str) -> Subscription:
        """The subscription a public identity (in any form :func:`identity_key` accepts) belongs to."""
        key = identity_key(uri)
        for subscription in self.subscriptions:
            if key in subscription.public_identities:
                return subscription
        raise KeyError(uri)

    def by_username(self, username: str) -> Subscription:
        for subscription in self.subscriptions:
            if any(p.username == username for p in subscription.private_identities):
                return subscription
        raise KeyError(username)

    def credential(self, username: str) -> PrivateIdentity:
        subscription = self.by_username(username)
        return next(p for p in subscription.private_identities if p.username == username)


def _check_unique(values) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise SubscribersError(f"{value} appears in more than one place")
        seen.add(value)


def load_subscribers(path: Path | str = DEFAULT_SUBSCRIBERS_FILE) -> Subscribers:
    """Read and validate a subscribers file; :class:`SubscribersError` says what is wrong."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return Subscribers(
            domain=document["domain"],
            subscriptions=[_subscription(entry) for entry in document["subscription"]],
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, SubscribersError) as error:
        raise SubscribersError(f"{path}: {_describe(error)}") from error


def _subscription(entry: dict) -> Subscription:
    return Subscription(
        display_name=entry.get("display_name", ""),
        public_identities=entry["public_identities"],
        private_identities=[PrivateIdentity(**p) for p in entry["private_identities"]],
    )


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing key {error.args[0]!r}"
    return str(error)
