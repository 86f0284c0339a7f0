"""Calls she does not want (TS 24.611: anonymous communication rejection and incoming communication barring).

- ``anonymous``: a call that withholds its caller's identity (``Privacy: id``, or an anonymous caller) is refused
  with 433 Anonymity Disallowed (RFC 5079), so the caller learns to call again with the number shown;
- ``numbers``: calls from these numbers or SIP addresses are refused with 603 Decline.

The gateway refuses them before anything rings, whether or not a tab is open, and tells her tabs, whose history
keeps them. Kept per subscription beside her forwarding (``settings_store``).
"""

from __future__ import annotations

import attrs

from webims.addressing import peer_key, target_uri
from webims.errors import ServiceError

MAX_NUMBERS = 100


@attrs.frozen
class Barring:
    anonymous: bool = False
    numbers: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    # The numbers as peer_key compares them, made once: refusal() runs for every call that comes in.
    _keys: frozenset[str] = attrs.field(init=False, eq=False, repr=False)

    @_keys.default
    def _compare_keys(self) -> frozenset[str]:
        return frozenset(peer_key(number) for number in self.numbers)

    def to_json(self) -> dict:
        return {"anonymous": self.anonymous, "numbers": list(self.numbers)}

    @classmethod
    def from_json(cls, data: dict) -> Barring:
        return cls(bool(data.get("anonymous")), tuple(data.get("numbers") or ()))

    def refusal(self, caller: str | None) -> tuple[int, str] | None:
        """``(status, why)`` when a call from ``caller`` (None: withheld) is refused, else None."""
        if caller is None:
            return (433, "the caller withheld their number") if self.anonymous else None
        if peer_key(caller) in self._keys:
            return 603, "you blocked this number"
        return None


def from_browser(body: object, domain: str) -> Barring:
    """Her barring as the page sends it, checked: each entry a number or SIP address, at most MAX_NUMBERS."""
    if not isinstance(body, dict):
        raise ServiceError("bad_request", "Barring settings are an object.")
    numbers = body.get("numbers") or []
    if not isinstance(numbers, list) or len(numbers) > MAX_NUMBERS:
        raise ServiceError("bad_request", f"Block at most {MAX_NUMBERS} numbers, as a list.")
    uris = []
    for number in numbers:
        if isinstance(number, str) and not number.strip():
            continue
        uri = target_uri(number, domain, action="block")
        if uri not in uris:
            uris.append(uri)
    return Barring(anonymous=body.get("anonymous") is True, numbers=tuple(uris))
