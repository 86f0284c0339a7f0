"""Call forwarding she sets herself: where calls to her go when she does not take them (TS 24.604 CDIV).

The gateway carries it out as the served user's phone may (TS 24.604 §4.5.2.6.3, communication deflection): it
answers the caller's INVITE with 302 and a Contact naming the target, and the IMS (its AS; in the lab, Kamailio)
sends the call there. So it works while she is logged in, also with no tab open:

- ``always``: every call, at once, without ringing her (CFU);
- ``busy``: when she answers "busy" (CFB);
- ``no_answer``: when no tab answers within ``no_answer_seconds`` (CFNR);
- ``unreachable``: when no tab of hers is open as the call comes in (CFNRc).

The rules are kept per subscription (under her default public identity) in the gateway's call settings file
(``settings_store``), so every tab and every later login see them.
"""

from __future__ import annotations

import attrs

from webims.addressing import peer_key, target_uri
from webims.errors import ServiceError

CONDITIONS = ("always", "busy", "no_answer", "unreachable")
NO_ANSWER_SECONDS = (5, 120)
# Words for the caller's fate, as her tabs and her history show it: "Forwarded to X: <why>".
WHY = {"always": "you forward all calls", "busy": "you were busy", "no_answer": "you did not answer",
       "unreachable": "no window of yours was open"}


@attrs.frozen
class Forwarding:
    """Her rules: a target URI per condition, or None where calls are not forwarded."""

    always: str | None = None
    busy: str | None = None
    no_answer: str | None = None
    unreachable: str | None = None
    no_answer_seconds: int = 20

    def to_json(self) -> dict:
        return attrs.asdict(self)

    def without_ringing(self, tabs_open: bool) -> tuple[str, str] | None:
        """``(target, condition)`` for a call that is sent on before it rings her: all calls (CFU), or any while
        no tab of hers is open (CFNRc). None: it rings."""
        if self.always:
            return self.always, "always"
        if self.unreachable and not tabs_open:
            return self.unreachable, "unreachable"
        return None

    @classmethod
    def from_json(cls, data: dict) -> Forwarding:
        return cls(**{name: data.get(name) for name in CONDITIONS},
                   no_answer_seconds=int(data.get("no_answer_seconds", 20)))


def from_browser(body: object, domain: str, own: set[str]) -> Forwarding:
    """Her rules as the page sends them, checked: each target a number or SIP address that is not one of her own
    identities (a call forwarded to herself would come back), and a sane no-answer time."""
    if not isinstance(body, dict):
        raise ServiceError("bad_request", "Forwarding rules are an object.")
    targets = {}
    for condition in CONDITIONS:
        value = body.get(condition)
        if value is None or (isinstance(value, str) and not value.strip()):
            targets[condition] = None
            continue
        target = target_uri(value, domain, action="forward calls to")
        if peer_key(target) in own:
            raise ServiceError("bad_target", f"Calls cannot be forwarded to {target}: it is one of your own "
                                             "numbers, so they would come back to you.")
        targets[condition] = target
    seconds = body.get("no_answer_seconds", 20)
    low, high = NO_ANSWER_SECONDS
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not low <= seconds <= high:
        raise ServiceError("bad_request", f"Ring for {low} to {high} seconds before forwarding.")
    return Forwarding(**targets, no_answer_seconds=seconds)
