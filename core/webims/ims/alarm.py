"""A deadline a task sleeps towards while others may move it: a refresh that is due, a retry planned.

The task ``await alarm.ring()``s; anyone may ``alarm.set(due)`` meanwhile (sooner, later, or ``math.inf``
for never), and the sleeper wakes for the new time without a poll. Times are trio's clock.
"""

from __future__ import annotations

import math

import trio

__all__ = ["Alarm"]


class Alarm:
    def __init__(self, due: float = math.inf) -> None:
        self.due = due
        self._moved = trio.Event()

    def set(self, due: float) -> None:
        """Ring at ``due`` instead (a sleeper looks at the new time at once)."""
        self.due = due
        self._moved.set()

    async def ring(self) -> None:
        """Return once the clock reaches ``due``, however often it moved meanwhile."""
        while True:
            with trio.move_on_at(self.due):
                await self._moved.wait()
                self._moved = trio.Event()
                continue
            return
