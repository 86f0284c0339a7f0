"""RTP packets and the streams the gateway sends and receives (RFC 3550 §5, appendix A).

Only the fixed header is touched on the hot path: parsing and writing use ``struct`` on bytes,
no objects per packet beyond a tuple.
"""

from __future__ import annotations

import secrets
import struct
import time
from collections.abc import Callable
from time import monotonic

from .sync import PeerClock, SenderReport

__all__ = ["parse_rtp", "OutboundStream", "InboundStats", "is_rtcp"]

_HEADER = struct.Struct("!BBHII")
_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 §4: with RTP and RTCP on one port, RTCP packet types 192-223 sit where RTP
    would have a marker bit and payload type 64-95, which RTP never uses."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def parse_rtp(data: bytes) -> tuple[int, int, int, int, int, bytes] | None:
    """``(payload_type, marker, sequence, timestamp, ssrc, payload)``, or None if not RTP v2.

    CSRCs, a header extension (§5.3.1) and padding (§5.1, P bit) are skipped: the gateway
    terminates each leg, so none of them crosses to the other side.
    """
    if len(data) < 12:
        return None
    first, second, seq, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2:
        return None
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        if len(data) < offset + 4:
            return None
        offset += 4 + 4 * int.from_bytes(data[offset + 2:offset + 4], "big")
    end = len(data)
    if first & 0x20:
        end -= data[-1]
    if end < offset:
        return None
    return second & 0x7F, second >> 7, seq, timestamp, ssrc, data[offset:end]


class OutboundStream:
    """The one RTP stream the gateway sends on a leg: its SSRC, sequence numbers and timeline.

    Every packet towards a leg goes through here, relayed or transcoded audio and injected RFC
    4733 events alike, so they share one sequence space and one clock as one source must (RFC
    4733 §2.2). The timeline runs with the wall clock from an anchor that each audio packet
    moves, so after a pause (hold, a reloaded tab, digits) ``timestamp_now`` leaves a gap of the
    right length for the receiver's jitter buffer, and RTCP SR times agree with the packets.
    """

    def __init__(self, ssrc: int, clock_rate: int) -> None:
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.next_seq = secrets.randbelow(_SEQ_MOD // 2)  # low half: no early wrap (RFC 3711 §3.3.1)
        self._anchor_ts = secrets.randbelow(_TS_MOD)      # RFC 3550 §5.1: random initial timestamp
        self._anchor_time = time.monotonic()
        self.packet_count = 0
        self.octet_count = 0
        # Set by the forwarder that feeds this stream: our timestamp for an instant by its source's SR (sync.py).
        self.timestamp_at: Callable[[float], int | None] = lambda now: None

    def timestamp_now(self) -> int:
        elapsed = time.monotonic() - self._anchor_time
        return (self._anchor_ts + int(elapsed * self.clock_rate)) % _TS_MOD

    def packet(self, payload_type: int, marker: int, timestamp: int, payload: bytes, *,
               seq: int | None = None, audio: bool = True) -> bytes:
        """One packet. ``seq`` None takes the next number (relayed audio passes its own so the
        source's gaps stay visible as loss); events (``audio=False``) keep their start timestamp
        while they last (RFC 4733 §2.5.1.2), so they do not move the timeline."""
        if seq is None:
            seq = self.next_seq
        if audio:
            return self.relayed(payload_type, marker, seq, timestamp, payload)
        if (seq - self.next_seq) % _SEQ_MOD < _SEQ_MOD // 2:
            self.next_seq = (seq + 1) % _SEQ_MOD
        self.packet_count += 1
        self.octet_count += len(payload)
        return _HEADER.pack(0x80, (marker << 7) | payload_type, seq, timestamp, self.ssrc) + payload

    def relayed(self, payload_type: int, marker: int, seq: int, timestamp: int, payload: bytes) -> bytes:
        """:meth:`packet` for media with its own sequence number: the relays' path, one call per packet."""
        if (seq - self.next_seq) % _SEQ_MOD < _SEQ_MOD // 2:
            self.next_seq = (seq + 1) % _SEQ_MOD
        self._anchor_ts, self._anchor_time = timestamp, monotonic()
        self.packet_count += 1
        self.octet_count += len(payload)
        return _HEADER.pack(0x80, (marker << 7) | payload_type, seq, timestamp, self.ssrc) + payload


class InboundStats:
    """Reception statistics of the peer's stream for RTCP report blocks (RFC 3550 A.1, A.3, A.8)."""

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.ssrc: int | None = None
        self.last_arrival: float | None = None
        self._reset()
        self.lsr = 0          # middle 32 bits of the last SR's NTP time (§6.4.1)
        self.lsr_time: float | None = None
        self.peer_clock = PeerClock()  # shared by the streams of one leg (sync.py)
        self.sender_report: SenderReport | None = None

    def _reset(self) -> None:
        self.base_seq = self.max_seq = 0
        self.cycles = self.received = 0
        self.expected_prior = self.received_prior = 0
        self.jitter = 0.0
        self._transit: float | None = None

    def update(self, ssrc: int, seq: int, timestamp: int, arrival: float) -> None:
        if ssrc != self.ssrc:
            self.ssrc = ssrc
            self._reset()
            self.base_seq = self.max_seq = seq
        elif 0 < (seq - self.max_seq) % _SEQ_MOD < _SEQ_MOD // 2:
            if seq < self.max_seq:
                self.cycles += _SEQ_MOD
            self.max_seq = seq
        self.received += 1
        self.last_arrival = arrival
        transit = arrival * self.clock_rate - timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < self.clock_rate:  # a jump of a second is a new timeline, not jitter
                self.jitter += (d - self.jitter) / 16
        self._transit = transit

    @property
    def expected(self) -> int:
        return self.cycles + self.max_seq - self.base_seq + 1

    def report_fields(self) -> tuple[int, int, int, int]:
        """``(fraction_lost, cumulative_lost, extended_highest_seq, jitter)``; advances the interval."""
        expected = self.expected
        expected_interval = expected - self.expected_prior
        received_interval = self.received - self.received_prior
        self.expected_prior, self.received_prior = expected, self.received
        lost_interval = expected_interval - received_interval
        fraction = 0 if expected_interval <= 0 or lost_interval <= 0 else (lost_interval << 8) // expected_interval
        lost = max(-(1 << 23), min(expected - self.received, (1 << 23) - 1))
        return fraction, lost, self.cycles + self.max_seq, int(self.jitter)
