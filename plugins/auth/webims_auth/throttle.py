"""Login throttling: too many failures for one username or one address lock it out for a while.

Sans-IO: the caller passes the time, so tests need no clock.
"""

from __future__ import annotations

import collections
import math

import attrs

PRUNE_ABOVE = 10_000


@attrs.frozen
class ThrottlePolicy:
    max_failures: int = 5
    window_seconds: float = 300.0
    lockout_seconds: float = 60.0


class LoginThrottle:
    def __init__(self, policy: ThrottlePolicy):
        self.policy = policy
        self._failures: dict[str, collections.deque[float]] = {}
        self._locked_until: dict[str, float] = {}

    def retry_after(self, keys: list[str], now: float) -> int:
        """Seconds until a login for these keys (``user:mary``, ``addr:10.0.0.7``) may be tried; 0 = now."""
        wait = max((self._locked_until.get(key, 0.0) - now for key in keys), default=0.0)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, keys: list[str], now: float) -> None:
        if len(self._failures) > PRUNE_ABOVE:
            self._prune(now)
        for key in keys:
            recent = self._failures.setdefault(key, collections.deque())
            recent.append(now)
            while recent and recent[0] < now - self.policy.window_seconds:
                recent.popleft()
            if len(recent) >= self.policy.max_failures:
                self._locked_until[key] = now + self.policy.lockout_seconds
                recent.clear()

    def _prune(self, now: float) -> None:
        """Forget keys with no recent failure and no lockout: a flood of made-up usernames must not pile up."""
        for key in [k for k, times in self._failures.items() if not times or times[-1] < now - self.policy.window_seconds]:
            del self._failures[key]
        for key in [k for k, until in self._locked_until.items() if until <= now]:
            del self._locked_until[key]

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)
            self._locked_until.pop(key, None)
