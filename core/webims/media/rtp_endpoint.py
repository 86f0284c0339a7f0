"""One RTP/RTCP port pair towards an IMS phone: a stream's transport on the IMS leg.

- Ports: an even RTP port and the odd one above it for RTCP (RFC 3550 §11), from the
  configured range. A call has one pair for audio and, with video, a second one (one per m-line).
- Symmetric RTP (RFC 4961): we send from the port we receive on, and latch once per SDP to the
  address the phone's first packet comes from, so a phone behind a NAT is reached where it
  really is. After latching, packets from any other address are dropped (no hijacking). Only a
  packet of a payload type the SDP agreed latches (or is relayed): an RTCP packet, or another
  call's stray packet, also parses as an RTP header and must not move the call's media.
- RTCP: our reports go out through :class:`~webims.media.rtcp.RtcpReporter`; what the phone
  sends is read there, and feedback (RFC 4585 PLI, NACK, RFC 5104 FIR) is handed on.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Callable, Iterable

import attrs

import webims.log
from webims.sip.sdp import MediaDescription

from .config import MediaConfig
from .errors import MediaError
from .rtcp import RtcpReporter
from .rtp import InboundStats, OutboundStream, parse_rtp

__all__ = ["RtpEndpoint", "RtpSink"]

log = webims.log.get("media")

RtpSink = Callable[[int, int, int, int, int, bytes], None]


def _ignore(data: bytes, addr: tuple) -> None:
    pass


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple], None]) -> None:
        # An instance attribute: the loop looks it up for every datagram, so it calls ours with no hop between.
        self.datagram_received = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable while the phone is not listening yet: RTP is fire and forget


@attrs.define
class _Peer:
    """Where the phone is, from its SDP, until latching corrects it."""

    rtp: tuple[str, int] | None = None
    rtcp: tuple[str, int] | None = None
    rtp_latched: bool = False
    rtcp_latched: bool = False


class RtpEndpoint:
    """A bound RTP/RTCP pair, the stream we send from it and the statistics of what we receive."""

    def __init__(self, config: MediaConfig, rtp: _Socket, rtcp: _Socket, port: int, clock_rate: int) -> None:
        self.port = port
        self._rtp, self._rtcp = rtp, rtcp
        rtp.datagram_received, rtcp.datagram_received = self._on_rtp, self._on_rtcp
        self.peer = _Peer()
        self.on_rtp: RtpSink = lambda *packet: None
        self.outbound = OutboundStream(secrets.randbits(32), clock_rate)
        self.inbound = InboundStats(clock_rate)
        self.rtcp = RtcpReporter(self.outbound, self.inbound, cname=f"webims-{port}@{config.ims_sdp_address}")
        self.dropped_from_strangers = 0
        self.dropped_unknown_format = 0
        self._payload_types: frozenset[int] = frozenset()
        self._described: tuple[str, int] | None = None

    @classmethod
    async def open(cls, config: MediaConfig, clock_rate: int) -> RtpEndpoint:
        """Bind an RTP/RTCP pair in ``config.ims_port_range``, starting at a random even port."""
        loop = asyncio.get_running_loop()
        low, high = config.ims_port_range
        pairs = (high - low) // 2
        first = random.randrange(pairs)
        for i in range(min(pairs, 64)):
            port = low + (low % 2) + 2 * ((first + i) % pairs)
            rtp = rtcp = None
            try:
                rtp, _ = await loop.create_datagram_endpoint(lambda: _Socket(_ignore), (config.ims_address, port))
                rtcp, _ = await loop.create_datagram_endpoint(lambda: _Socket(_ignore), (config.ims_address, port + 1))
            except OSError:
                if rtp is not None:
                    rtp.close()
                continue
            return cls(config, rtp.get_protocol(), rtcp.get_protocol(), port, clock_rate)
        raise MediaError(f"No free RTP port pair in {low}-{high} on {config.ims_address}; "
                         "the gateway is at its call limit or the port range is too small.")

    def close(self) -> None:
        if self.peer.rtcp is not None:
            self.send_rtcp(self.rtcp.bye())
        for sock in (self._rtp, self._rtcp):
            if sock.transport is not None:
                sock.transport.close()

    @property
    def closed(self) -> bool:
        return self._rtp.transport is None or self._rtp.transport.is_closing()

    def describe_peer(self, address: str | None, media: MediaDescription, payload_types: Iterable[int]) -> None:
        """Where the phone's SDP says it is and the payload types it may send; ``address`` None (or a hold
        address) means nowhere. The same SDP again (a 183 then the 200) keeps what we latched."""
        self._payload_types = frozenset(payload_types)
        described = None if address is None else (address, media.port)
        if described != self._described:
            self._described = described
            self.peer = _Peer(described, _rtcp_address(media, address)) if described else _Peer()

    # --- media ------------------------------------------------------------------------------

    def send_rtp(self, packet: bytes) -> None:
        if self.peer.rtp is not None and self._rtp.transport is not None:
            self._rtp.transport.sendto(packet, self.peer.rtp)

    def send_rtcp(self, data: bytes) -> None:
        if self.peer.rtcp is not None and self._rtcp.transport is not None:
            self._rtcp.transport.sendto(data, self.peer.rtcp)

    def send_rtcp_report(self, extra: bytes = b"") -> None:
        self.send_rtcp(self.rtcp.report() + extra)

    def _on_rtp(self, data: bytes, addr: tuple) -> None:
        packet = parse_rtp(data)
        if packet is None:
            return
        if packet[0] not in self._payload_types:
            self.dropped_unknown_format += 1
            return
        peer = self.peer
        if not (peer.rtp_latched and addr == peer.rtp) and not self._from_peer(addr, rtcp=False):
            return  # (the common case, a latched phone, costs one comparison)
        self.inbound.update(packet[4], packet[2], packet[3], time.monotonic())
        self.on_rtp(*packet)

    def _on_rtcp(self, data: bytes, addr: tuple) -> None:
        if self._from_peer(addr, rtcp=True):
            self.rtcp.receive(data)

    def _from_peer(self, addr: tuple, *, rtcp: bool) -> bool:
        """RFC 4961 symmetric RTP with latching: the first packet fixes where the phone is."""
        addr = (addr[0], addr[1])
        current = self.peer.rtcp if rtcp else self.peer.rtp
        latched = self.peer.rtcp_latched if rtcp else self.peer.rtp_latched
        if latched:
            if addr != current:
                self.dropped_from_strangers += 1
                return False
            return True
        if addr != current:
            log.info("media.ims.latched", port=self.port, rtcp=rtcp, sdp=current, actual=addr)
        if rtcp:
            self.peer.rtcp, self.peer.rtcp_latched = addr, True
        else:
            self.peer.rtp, self.peer.rtp_latched = addr, True
        return True

    @property
    def last_received(self) -> float | None:
        times = [t for t in (self.inbound.last_arrival, self.rtcp.last_received) if t is not None]
        return max(times) if times else None


def _rtcp_address(media: MediaDescription, address: str) -> tuple[str, int]:
    """RFC 3605 ``a=rtcp:port [IN IP4 addr]``, else the next port up (RFC 3550 §11)."""
    value = media.attribute("rtcp")
    if value:
        fields = value.split()
        if fields[0].isdigit():
            return (fields[3] if len(fields) >= 4 else address, int(fields[0]))
    return address, media.port + 1
