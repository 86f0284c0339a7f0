"""RTCP on one leg: our reports (SR/RR + SDES CNAME) and what we learn from the peer's.

The gateway terminates RTCP on each leg instead of forwarding it: each leg has its own sender
(our SSRC, our counts) and its own receiver statistics, which is what RFC 3550 §7.1 asks of a
translator that changes SSRCs and timing. Feedback (RFC 4585 PLI and NACK, RFC 5104 FIR, REMB) is
not a report: it is handed to ``on_feedback`` and relayed by meaning (see :mod:`.feedback`).
Packets are built and parsed with :mod:`aiortc.rtp`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import attrs
from aiortc import clock
from aiortc.rtp import (RtcpByePacket, RtcpPacket, RtcpPsfbPacket, RtcpReceiverInfo, RtcpRrPacket,
                        RtcpRtpfbPacket, RtcpSdesPacket, RtcpSenderInfo, RtcpSourceInfo, RtcpSrPacket)

from .rtp import InboundStats, OutboundStream
from .sync import SenderReport, ntp_now

__all__ = ["RtcpReporter", "RTCP_INTERVAL", "LegQuality"]

# RFC 3550 §6.2: 5 s minimum, randomised by [0.5, 1.5] (§6.3.1) so calls started together spread out.
RTCP_INTERVAL = 5.0
_SDES_CNAME = 1


@attrs.frozen
class LegQuality:
    """How a leg fares both ways, in a person's units: what we lost of the peer's stream and its jitter (our
    reception), what the peer says it lost of ours and its jitter (its last report block), and the round trip
    (RFC 3550 §6.4). None where nothing says it yet."""

    received_loss_pct: float | None
    received_jitter_ms: float | None
    sent_loss_pct: float | None
    sent_jitter_ms: float | None
    round_trip_ms: float | None

    def to_json(self) -> dict[str, float | None]:
        return attrs.asdict(self)


class RtcpReporter:
    """Builds this leg's compound RTCP and reads the peer's."""

    def __init__(self, outbound: OutboundStream, inbound: InboundStats, cname: str) -> None:
        self.outbound = outbound
        self.inbound = inbound
        self.cname = cname.encode()
        self.next_report = time.monotonic() + RTCP_INTERVAL * random.uniform(0.1, 0.6)
        self.round_trip: float | None = None
        self.remote_fraction_lost = 0
        self.remote_jitter: int | None = None  # of our stream, in its timestamp units; None: no report block yet
        self.last_received: float | None = None
        self.on_feedback: Callable[[RtcpPsfbPacket | RtcpRtpfbPacket], None] = lambda packet: None
        self._sent_since_report = 0

    def due(self, now: float) -> bool:
        return now >= self.next_report

    def report(self, now: float | None = None) -> bytes:
        """The compound packet to send now (RFC 3550 §6.1: SR or RR first, then SDES CNAME)."""
        now = time.monotonic() if now is None else now
        self.next_report = now + RTCP_INTERVAL * random.uniform(0.5, 1.5)
        blocks = self._report_blocks(now)
        if self.outbound.packet_count != self._sent_since_report:
            self._sent_since_report = self.outbound.packet_count
            ntp = clock.current_ntp_time()
            rtp = self.outbound.timestamp_at(ntp / (1 << 32))  # the source's own mapping, when it gave one
            sender = RtcpSenderInfo(ntp_timestamp=ntp,
                                    rtp_timestamp=self.outbound.timestamp_now() if rtp is None else rtp,
                                    packet_count=self.outbound.packet_count & 0xFFFFFFFF,
                                    octet_count=self.outbound.octet_count & 0xFFFFFFFF)
            first = RtcpSrPacket(ssrc=self.outbound.ssrc, sender_info=sender, reports=blocks)
        else:
            first = RtcpRrPacket(ssrc=self.outbound.ssrc, reports=blocks)
        return bytes(first) + self._sdes()

    def bye(self) -> bytes:
        """RFC 3550 §6.6: a BYE ends our source; it goes in a compound packet like any RTCP."""
        return (bytes(RtcpRrPacket(ssrc=self.outbound.ssrc, reports=[])) + self._sdes()
                + bytes(RtcpByePacket(sources=[self.outbound.ssrc])))

    def compound(self, feedback: bytes) -> bytes:
        """Feedback in a compound packet (RFC 4585 §3.1: an RR and SDES first), without moving the
        report schedule."""
        return bytes(RtcpRrPacket(ssrc=self.outbound.ssrc, reports=[])) + self._sdes() + feedback

    def receive(self, data: bytes, now: float | None = None) -> None:
        """Take the peer's compound RTCP; malformed packets are ignored (RFC 3550 §6.1 validity)."""
        now = time.monotonic() if now is None else now
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            return
        self.last_received = now
        for packet in packets:
            if isinstance(packet, RtcpSrPacket):
                self.take_sender_report(packet, now)
            if isinstance(packet, (RtcpSrPacket, RtcpRrPacket)):
                for block in packet.reports:
                    if block.ssrc == self.outbound.ssrc:
                        self._read_block(block)
            elif isinstance(packet, (RtcpPsfbPacket, RtcpRtpfbPacket)):
                self.on_feedback(packet)

    def take_sender_report(self, packet: RtcpSrPacket, now: float | None = None) -> None:
        """The peer's SR: for our report blocks (LSR) and for lip sync on the other leg (sync.py)."""
        stats, info = self.inbound, packet.sender_info
        stats.lsr = (info.ntp_timestamp >> 16) & 0xFFFFFFFF
        stats.lsr_time = time.monotonic() if now is None else now
        stats.sender_report = SenderReport(packet.ssrc, stats.peer_clock.ours(info.ntp_timestamp, ntp_now()),
                                           info.rtp_timestamp)

    def _report_blocks(self, now: float) -> list[RtcpReceiverInfo]:
        stats = self.inbound
        if stats.ssrc is None or stats.received == 0:
            return []
        fraction, lost, highest, jitter = stats.report_fields()
        dlsr = int((now - stats.lsr_time) * 65536) if stats.lsr_time is not None else 0
        return [RtcpReceiverInfo(ssrc=stats.ssrc, fraction_lost=fraction, packets_lost=lost,
                                 highest_sequence=highest & 0xFFFFFFFF, jitter=jitter,
                                 lsr=stats.lsr, dlsr=dlsr)]

    def quality(self) -> LegQuality:
        inbound, reported = self.inbound, self.remote_jitter is not None
        receiving = inbound.ssrc is not None and inbound.expected > 0
        return LegQuality(
            received_loss_pct=round(100 * max(0, inbound.expected - inbound.received) / inbound.expected, 1)
            if receiving else None,
            received_jitter_ms=round(1000 * inbound.jitter / inbound.clock_rate, 1) if receiving else None,
            sent_loss_pct=round(100 * self.remote_fraction_lost / 256, 1) if reported else None,
            sent_jitter_ms=round(1000 * self.remote_jitter / self.outbound.clock_rate, 1) if reported else None,
            round_trip_ms=round(1000 * self.round_trip, 1) if self.round_trip is not None else None)

    def _read_block(self, block: RtcpReceiverInfo) -> None:
        self.remote_fraction_lost = block.fraction_lost
        self.remote_jitter = block.jitter
        if block.lsr:
            # RFC 3550 §6.4.1: RTT = arrival - LSR - DLSR, all in 1/65536 s units.
            arrival = (clock.current_ntp_time() >> 16) & 0xFFFFFFFF
            rtt = ((arrival - block.lsr - block.dlsr) & 0xFFFFFFFF) / 65536
            if rtt < 60:
                self.round_trip = rtt

    def _sdes(self) -> bytes:
        return bytes(RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=self.outbound.ssrc,
                                                           items=[(_SDES_CNAME, self.cname)])]))
