"""RFC 4733 telephone-events: reading them on one leg, rewriting them for the other, sending digits.

aiortc has no telephone-event support (NOTES), so the browser leg's events reach us through the
same packet tap as its audio, and we write the events we send ourselves.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

__all__ = ["DIGITS", "EventReader", "scale_duration", "send_digits"]

# RFC 4733 §3.2, table 1: event codes 0-15.
DIGITS = "0123456789*#ABCD"
_EVENT = struct.Struct("!BBH")
_END = 0x80

# Timing of digits we send: RFC 4733 §2.5.1.2 (updates every packet time) and §2.5.1.4 (the end
# packet three times); 100 ms of tone and a 60 ms pause, which every DTMF receiver accepts.
TONE_MS = 100
PAUSE_MS = 60
END_REPEATS = 3
VOLUME = 10  # -10 dBm0


def parse_event(payload: bytes) -> tuple[int, bool, int] | None:
    """``(event, end, duration)`` of an RFC 4733 §2.3 payload, or None if it is too short."""
    if len(payload) < 4:
        return None
    event, flags, duration = _EVENT.unpack_from(payload)
    return event, bool(flags & _END), duration


def scale_duration(payload: bytes, numerator: int, denominator: int) -> bytes:
    """The same event with its duration in another clock (when the legs' event rates differ)."""
    if numerator == denominator or len(payload) < 4:
        return payload
    event, flags, duration = _EVENT.unpack_from(payload)
    scaled = min(0xFFFF, duration * numerator // denominator)
    return _EVENT.pack(event, flags, scaled) + payload[4:]


class EventReader:
    """Turns one leg's event packets into digits, each reported once.

    An event is identified by its RTP timestamp (§2.5.2.1): updates and the three end packets
    share it. A lost end is covered by the next event's start.
    """

    def __init__(self, clock_rate: int, on_digit: Callable[[str, int], None]) -> None:
        self.clock_rate = clock_rate
        self.on_digit = on_digit
        self._current: tuple[int, int, int] | None = None  # (timestamp, event, duration)
        self._reported: int | None = None

    def feed(self, timestamp: int, payload: bytes) -> None:
        parsed = parse_event(payload)
        if parsed is None or timestamp == self._reported:
            return
        event, end, duration = parsed
        if self._current is not None and self._current[0] != timestamp:
            self._report(*self._current)
        self._current = (timestamp, event, duration)
        if end:
            self._report(timestamp, event, duration)

    def _report(self, timestamp: int, event: int, duration: int) -> None:
        self._current = None
        self._reported = timestamp
        if event < len(DIGITS):
            self.on_digit(DIGITS[event], duration * 1000 // self.clock_rate)


async def send_digits(digits: str, *, clock_rate: int, ptime_ms: int,
                      send_event: Callable[[bytes, int, bool], None],
                      timestamp_now: Callable[[], int]) -> None:
    """Play ``digits`` as RFC 4733 events through ``send_event(payload, timestamp, marker)``.

    Each event starts at the stream's current timestamp (§2.5.1.1), is updated every packet time
    with the growing duration (§2.5.1.2), and ends with three end packets (§2.5.1.4).
    """
    step = clock_rate * ptime_ms // 1000
    for digit in digits:
        code = DIGITS.index(digit)
        timestamp = timestamp_now()
        duration = 0
        marker = True
        while duration < clock_rate * TONE_MS // 1000:
            duration += step
            send_event(_EVENT.pack(code, VOLUME, duration), timestamp, marker)
            marker = False
            await asyncio.sleep(ptime_ms / 1000)
        for _ in range(END_REPEATS):
            send_event(_EVENT.pack(code, _END | VOLUME, duration), timestamp, False)
        await asyncio.sleep(PAUSE_MS / 1000)


def check_digits(digits: str) -> str:
    """The digits in canonical form, or ValueError naming the first one that is not DTMF."""
    digits = digits.upper()
    for digit in digits:
        if digit not in DIGITS:
            raise ValueError(f"{digit!r} is not a DTMF digit; use 0-9, *, # and A-D")
    return digits
