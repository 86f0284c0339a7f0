"""The IMS leg: plain RTP/AVP to a native IMS phone, with RTCP on the next port.

- Ports: an even RTP port and the odd one above it for RTCP (RFC 3550 §11), from the
  configured range.
- Symmetric RTP (RFC 4961): we send from the port we receive on, and latch once per SDP to the
  address the phone's first packet comes from, so a phone behind a NAT is reached where it
  really is. After latching, packets from any other address are dropped (no hijacking).
- SDP: built and read with :mod:`webims.sip.sdp` and :mod:`webims.sip.offer_answer`.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Callable, Sequence

import attrs

import webims.log
from webims.sip.errors import RemoteProtocolError
from webims.sip.offer_answer import (SdpSession, answer_media, common_codecs, explain_failure, is_hold_offer,
                                     reject_media)
from webims.sip.sdp import Attribute, Codec, Direction, MediaDescription, SessionDescription

from .codecs import Negotiated, display_name, ims_payload_type, is_telephone_event, telephone_event
from .config import MediaConfig
from .errors import MediaError
from .rtcp import RtcpReporter
from .rtp import InboundStats, OutboundStream, parse_rtp

__all__ = ["ImsLeg"]

log = webims.log.get("media")

RtpSink = Callable[[int, int, int, int, int, bytes], None]


def _ignore(data: bytes, addr: tuple) -> None:
    pass


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple], None]) -> None:
        self.on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable while the phone is not listening yet: RTP is fire and forget


@attrs.define
class _Peer:
    """Where the phone is, from its SDP, until latching corrects it."""

    rtp: tuple[str, int] | None = None
    rtcp: tuple[str, int] | None = None
    rtp_latched: bool = False
    rtcp_latched: bool = False


class ImsLeg:
    """One call's RTP/RTCP endpoint towards the IMS, and its side of the SDP."""

    def __init__(self, config: MediaConfig, rtp: _Socket, rtcp: _Socket, port: int) -> None:
        self.config = config
        self.port = port
        self._rtp, self._rtcp = rtp, rtcp
        rtp.on_datagram, rtcp.on_datagram = self._on_rtp, self._on_rtcp
        self.sdp = SdpSession(config.ims_sdp_address)
        self.peer = _Peer()
        self.on_rtp: RtpSink = lambda *packet: None
        self.negotiated: Negotiated | None = None
        self.remote_direction = Direction.SENDRECV
        self.local_direction = Direction.SENDRECV
        self.remote_held = False
        self.outbound = OutboundStream(secrets.randbits(32), 8000)
        self.inbound = InboundStats(8000)
        self.rtcp = RtcpReporter(self.outbound, self.inbound, cname=f"webims-{port}@{config.ims_sdp_address}")
        self.ptime = config.ptime
        self.dropped_from_strangers = 0
        self._offered: tuple[Codec, ...] = ()
        self._described: tuple[str, int] | None = None

    # --- lifetime ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, config: MediaConfig) -> ImsLeg:
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
            return cls(config, rtp.get_protocol(), rtcp.get_protocol(), port)
        raise MediaError(f"No free RTP port pair in {low}-{high} on {config.ims_address}; "
                         "the gateway is at its call limit or the port range is too small.")

    def close(self) -> None:
        if self.peer.rtcp is not None:
            self._send_rtcp(self.rtcp.bye())
        for sock in (self._rtp, self._rtcp):
            if sock.transport is not None:
                sock.transport.close()

    @property
    def closed(self) -> bool:
        return self._rtp.transport is None or self._rtp.transport.is_closing()

    # --- SDP --------------------------------------------------------------------------------

    def make_offer(self, codecs: Sequence[Codec]) -> str:
        """Our offer (or re-offer): ``codecs`` in preference order, telephone-event for each rate."""
        rates = dict.fromkeys(c.clock_rate for c in codecs)
        offered = [attrs.evolve(c, payload_type=ims_payload_type(c)) for c in codecs]
        offered += [telephone_event(rate, ims_payload_type(telephone_event(rate))) for rate in rates]
        self._offered = tuple(offered)
        attributes = [Attribute("rtpmap", c.rtpmap_value()) for c in offered]
        attributes += [Attribute("fmtp", f"{c.payload_type} {c.fmtp}") for c in offered if c.fmtp]
        attributes += [Attribute("ptime", str(self.config.ptime)), Attribute(str(self.local_direction))]
        media = MediaDescription("audio", self.port, "RTP/AVP", tuple(str(c.payload_type) for c in offered),
                                 attributes=tuple(attributes))
        return str(self.sdp.describe([media]))

    def accept_answer(self, text: str | bytes) -> Negotiated:
        """Apply the phone's answer to our last offer (RFC 3264 §6)."""
        answer = _parse(text)
        media = _audio(answer)
        if media is None or media.is_rejected:
            raise MediaError("The other phone declined the audio stream.")
        send = [c for c in media.codecs if any(c.same_encoding(o) for o in self._offered)]
        negotiated = Negotiated.choose(send, (*self._offered, *send))
        if negotiated is None:
            theirs = _names(c for c in media.codecs if not is_telephone_event(c)) or "no codec"
            ours = _names(c for c in self._offered if not is_telephone_event(c))
            raise MediaError(f"The other phone answered with {theirs}, which the gateway did not offer; "
                             f"it supports {ours}.")
        self._apply(answer, media, negotiated)
        return negotiated

    def accept_offer(self, text: str | bytes, preference: Sequence[Codec]) -> tuple[str, Negotiated]:
        """Answer the phone's offer (a new call or a re-INVITE): our SDP and what was chosen."""
        offer = _parse(text)
        media = _audio(offer)
        supported = [*preference, telephone_event(8000), telephone_event(48000)]
        if media is None or not common_codecs(media.codecs, supported):
            reason = explain_failure(offer, {"audio": preference}) if media else ""
            raise MediaError((reason or "The other phone's offer has no audio stream") + ".")
        offered_direction = offer.media_direction(media)
        answer = answer_media(media, supported, direction_wanted=self.local_direction, port=self.port,
                              offered_direction=offered_direction)
        answer = attrs.evolve(answer, attributes=(*answer.attributes, Attribute("ptime", str(self.config.ptime))))
        negotiated = Negotiated.choose(answer.codecs, answer.codecs)
        self._apply(offer, media, negotiated)
        sections = [answer if m is media else reject_media(m) for m in offer.media]
        return str(self.sdp.describe(sections)), negotiated

    def _apply(self, sdp: SessionDescription, media: MediaDescription, negotiated: Negotiated) -> None:
        self.negotiated = negotiated
        self.remote_direction = sdp.media_direction(media)
        self.remote_held = is_hold_offer(sdp, media)
        self.ptime = media.ptime or self.config.ptime
        self.outbound.clock_rate = self.inbound.clock_rate = negotiated.audio.clock_rate
        connection = sdp.media_connection(media)
        address = connection.address if connection is not None else None
        described = None if address is None or connection.is_hold_address else (address, media.port)
        if described != self._described:  # the same SDP again (183 then 200) keeps what we latched
            self._described = described
            self.peer = _Peer(described, _rtcp_address(media, address)) if described else _Peer()

    @property
    def sends_to_peer(self) -> bool:
        return self.local_direction.sends and self.remote_direction.receives and not self.remote_held

    # --- media ------------------------------------------------------------------------------

    def send_rtp(self, packet: bytes) -> None:
        if self.peer.rtp is not None and self._rtp.transport is not None:
            self._rtp.transport.sendto(packet, self.peer.rtp)

    def send_rtcp_report(self) -> None:
        self._send_rtcp(self.rtcp.report())

    def _send_rtcp(self, data: bytes) -> None:
        if self.peer.rtcp is not None and self._rtcp.transport is not None:
            self._rtcp.transport.sendto(data, self.peer.rtcp)

    def _on_rtp(self, data: bytes, addr: tuple) -> None:
        packet = parse_rtp(data)
        if packet is None or not self._from_peer(addr, rtcp=False):
            return
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


def _parse(text: str | bytes) -> SessionDescription:
    try:
        return SessionDescription.parse(text)
    except RemoteProtocolError as exc:
        raise MediaError(f"The other phone sent an unreadable SDP: {exc.reason}.") from None


def _audio(sdp: SessionDescription) -> MediaDescription | None:
    return next((m for m in sdp.media if m.media == "audio" and m.is_rtp), None)


def _rtcp_address(media: MediaDescription, address: str) -> tuple[str, int]:
    """RFC 3605 ``a=rtcp:port [IN IP4 addr]``, else the next port up (RFC 3550 §11)."""
    value = media.attribute("rtcp")
    if value:
        fields = value.split()
        if fields[0].isdigit():
            return (fields[3] if len(fields) >= 4 else address, int(fields[0]))
    return address, media.port + 1


def _names(codecs) -> str:
    names = list(dict.fromkeys(display_name(c) for c in codecs))
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
