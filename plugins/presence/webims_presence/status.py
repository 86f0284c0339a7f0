"""Her presence status: what she chose, and what watchers are shown once the automatic rules apply.

Activities use the RFC 4480 (RPID) names, with two names of our own for the page: ``available`` (open with no
activity published) and ``in-a-meeting`` (RPID's ``meeting``). A contact's status may carry any RPID activity
(``vacation``, ``sleeping``...); she herself chooses among :data:`CHOOSABLE`.
"""

from __future__ import annotations

from typing import Any

import attrs

BASIC = ("open", "closed")
CHOOSABLE = ("available", "away", "busy", "in-a-meeting", "on-the-phone")
MAX_NOTE_CHARS = 200
_MAX_ACTIVITY_CHARS = 64


def _check_activity(instance, attribute, value) -> None:
    if value is not None and not (0 < len(value) <= _MAX_ACTIVITY_CHARS):
        raise ValueError(f"activity {value!r} must be 1 to {_MAX_ACTIVITY_CHARS} characters")


@attrs.frozen
class PresenceStatus:
    """open/closed (RFC 3863 basic status), an activity (or None) and a free-text note."""

    basic: str = attrs.field(default="open", validator=attrs.validators.in_(BASIC))
    activity: str | None = attrs.field(default="available", validator=_check_activity)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"basic": self.basic, "activity": self.activity, "note": self.note}


CLOSED = PresenceStatus("closed", None)


class StatusError(ValueError):
    """A status the page asked for is not one she can choose; the message says why."""


def chosen_from_browser(body: dict[str, Any], current: PresenceStatus) -> PresenceStatus:
    """``current`` changed by the keys ``basic``, ``activity`` and ``note`` a page sent (each optional)."""
    basic = body.get("basic", current.basic)
    if basic not in BASIC:
        raise StatusError("basic must be open or closed.")
    activity = body.get("activity", current.activity if basic == "open" else None)
    if basic == "open" and activity not in CHOOSABLE:
        raise StatusError(f"activity must be one of {', '.join(CHOOSABLE)}.")
    note = body.get("note", current.note)
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS or any(ord(c) < 32 for c in note):
        raise StatusError(f"A note is one line of at most {MAX_NOTE_CHARS} characters.")
    return PresenceStatus(basic, activity if basic == "open" else None, note.strip())


def shown_status(chosen: PresenceStatus, *, on_the_phone: bool, away: bool) -> tuple[PresenceStatus, str | None]:
    """What watchers see, and which automatic rule made it so (``on-the-phone``, ``away`` or None).

    Appearing offline wins over everything: a call must not reveal her. A call shows on-the-phone. Being away
    from every tab only replaces "available": a busy or in-a-meeting she chose says more than "away".
    """
    if chosen.basic == "closed":
        return chosen, None
    if on_the_phone:
        return attrs.evolve(chosen, activity="on-the-phone"), "on-the-phone"
    if away and chosen.activity == "available":
        return attrs.evolve(chosen, activity="away"), "away"
    return chosen, None
