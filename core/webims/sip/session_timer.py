"""Session timers (RFC 4028) as pure arithmetic: which interval and refresher a UAC asks for,
what a UAS answers (or its 422), how a UAC retries after a 422, and when to refresh or give
up. The call layer turns :class:`SessionTimer` into trio deadlines and re-INVITEs/UPDATEs.
"""

from __future__ import annotations

import enum

import attrs

from .errors import RemoteProtocolError
from .message import Request, Response

__all__ = [
    "DEFAULT_INTERVAL",
    "MIN_SE_FLOOR",
    "Refresher",
    "SessionExpires",
    "SessionTimer",
    "SessionTimerPolicy",
    "TooSmall",
    "retry_after_422",
    "session_timer_headers",
    "uac_session_timer",
    "uas_session_timer",
]

MIN_SE_FLOOR = 90  # §4: no one may ask for less than 90 s
DEFAULT_INTERVAL = 1800  # §4: the recommended Session-Expires


class Refresher(enum.StrEnum):
    UAC = "uac"
    UAS = "uas"


def _seconds(value: str, what: str) -> int:
    if not value.isdecimal():
        raise RemoteProtocolError(f"{what} {value!r} is not a number of seconds")
    return int(value)


@attrs.frozen
class SessionExpires:
    """Session-Expires (RFC 4028 §4): ``1800;refresher=uac``."""

    interval: int
    refresher: Refresher | None = None

    @classmethod
    def parse(cls, text: str) -> SessionExpires:
        value, *params = (part.strip() for part in text.split(";"))
        refresher = None
        for param in params:
            name, _, param_value = param.partition("=")
            if name.strip().lower() == "refresher":
                try:
                    refresher = Refresher(param_value.strip().lower())
                except ValueError:
                    raise RemoteProtocolError(f"unknown refresher in {text!r}") from None
        return cls(_seconds(value, "Session-Expires"), refresher)

    def __str__(self) -> str:
        if self.refresher is None:
            return str(self.interval)
        return f"{self.interval};refresher={self.refresher}"


def _session_expires(message: Request | Response) -> SessionExpires | None:
    value = message.headers.get("Session-Expires")
    return None if value is None else SessionExpires.parse(value)


def _min_se(message: Request | Response) -> int | None:
    value = message.headers.get("Min-SE")
    return None if value is None else _seconds(value.split(";")[0].strip(), "Min-SE")


@attrs.frozen
class SessionTimerPolicy:
    """What this gateway wants: the interval it asks for, the least it accepts, and whether
    it would rather do the refreshing itself when the choice is its own."""

    interval: int = DEFAULT_INTERVAL
    min_se: int = MIN_SE_FLOOR
    refresh_ourselves: bool = True


@attrs.frozen
class SessionTimer:
    """An agreed session timer, seen from our side (``we_are`` the UAC or UAS of the
    INVITE or UPDATE that set it)."""

    interval: int
    refresher: Refresher
    we_are: Refresher

    @property
    def we_refresh(self) -> bool:
        return self.refresher is self.we_are

    @property
    def refresh_after(self) -> float | None:
        """§10: the refresher sends its refresh halfway through the interval."""
        return self.interval / 2 if self.we_refresh else None

    @property
    def expire_after(self) -> float:
        """§10: without a refresh, send BYE at interval - min(32, interval/3)."""
        return self.interval - min(32, self.interval / 3)

    def response_headers(self) -> list[tuple[str, str]]:
        """A UAS's 2xx headers (§9): Session-Expires always with its refresher, and
        ``Require: timer`` when the UAC is to refresh."""
        headers = [("Session-Expires", str(SessionExpires(self.interval, self.refresher)))]
        return headers + ([("Require", "timer")] if self.refresher is Refresher.UAC else [])


@attrs.frozen
class TooSmall:
    """The UAS's answer to too short a Session-Expires: 422 with our Min-SE (§9)."""

    min_se: int

    status = 422

    def response_headers(self) -> list[tuple[str, str]]:
        return [("Min-SE", str(self.min_se))]


def session_timer_headers(
    policy: SessionTimerPolicy, *, interval: int | None = None, min_se: int | None = None
) -> list[tuple[str, str]]:
    """A UAC's Session-Expires and Min-SE (§7.1); add ``timer`` to Supported as well."""
    refresher = Refresher.UAC if policy.refresh_ourselves else None
    session_expires = SessionExpires(interval or policy.interval, refresher)
    return [("Session-Expires", str(session_expires)), ("Min-SE", str(min_se or policy.min_se))]


def retry_after_422(request: Request, response: Response) -> tuple[int, int]:
    """§7.4: the (Session-Expires, Min-SE) to retry with after a 422: Min-SE the largest
    seen, Session-Expires at least that."""
    asked = _session_expires(request)
    needed = max(_min_se(response) or MIN_SE_FLOOR, _min_se(request) or MIN_SE_FLOOR)
    return max(asked.interval if asked else DEFAULT_INTERVAL, needed), needed


def uas_session_timer(request: Request, policy: SessionTimerPolicy) -> SessionTimer | TooSmall:
    """§9: the session timer a UAS answers ``request`` with, or the 422 it must send."""
    asked = _session_expires(request)
    if asked is not None and asked.interval < policy.min_se:
        return TooSmall(policy.min_se)
    floor = max(policy.min_se, _min_se(request) or MIN_SE_FLOOR)
    wanted = max(policy.interval, floor)
    interval = min(asked.interval, wanted) if asked else wanted  # a UAS may only shorten
    uac_supports = "timer" in request.tokens("Supported")
    if asked is not None and asked.refresher is not None:
        refresher = asked.refresher
    elif uac_supports and not policy.refresh_ourselves:
        refresher = Refresher.UAC
    else:
        refresher = Refresher.UAS  # a UAC without "timer" cannot refresh
    return SessionTimer(interval, refresher, Refresher.UAS)


def uac_session_timer(response: Response) -> SessionTimer | None:
    """§7.2: the session timer a 2xx sets up for the UAC; None when it has no
    Session-Expires (no session expiration). A missing refresher leaves it to us."""
    agreed = _session_expires(response)
    if agreed is None:
        return None
    return SessionTimer(agreed.interval, agreed.refresher or Refresher.UAC, Refresher.UAC)
