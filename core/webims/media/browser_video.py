"""The browser leg's video transceiver: aiortc negotiates it, the bridge moves its packets.

Like the audio (see browser_leg.py), aiortc's receiver and sender are bypassed: packets come in
through the receiver's ``_handle_rtp_packet`` and go out through ``RTCDtlsTransport._send_rtp``.
Video adds RTCP feedback, which aiortc routes to the sender it names (``RtpRouter.route_rtcp`` by
media SSRC). Our sender never starts, so it is never registered there; we register
:class:`BrowserVideo` itself for our SSRC (``register_sender``), and PLI, NACK and REMB from the
browser reach :meth:`BrowserVideo._handle_rtcp_packet`. Both are private aiortc API, guarded by
``tests/unit/media/test_aiortc_pins.py``.

Retransmissions: the browser's NACKs are answered from the packets we sent (video_relay.py) on the
media SSRC, RFC 4585 §6.2.1 generic NACK; RTX (RFC 4588) is not negotiated, so the answer never lists
it (an RTP/AVP phone has no NACK at all, and a retransmission is ours to make, not the phone's).

Formats: aiortc knows H.264 packetization-mode 1 only; :func:`register_h264_mode_0` adds mode 0, which
the gateway never encodes, so that a browser can send it to a phone that takes nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiortc.codecs import CODECS
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RtcpSrPacket

from webims.sip.sdp import Codec, Direction, MediaDescription

from .rtcp import RtcpReporter
from .rtp import InboundStats, OutboundStream
from .video_codecs import VIDEO_CLOCK, VideoNegotiated, VideoPolicy, bandwidths, relays

__all__ = ["BrowserVideo", "register_h264_mode_0", "video_capabilities", "bandwidth_lines", "sender_stays_idle"]

_H264_MODE_0_PAYLOAD_TYPE = 103  # free in aiortc's table (VP8, H.264 and their RTX use 97-102)


def register_h264_mode_0() -> None:
    """Add H.264 Constrained Baseline packetization-mode 0 to aiortc's codec table (see above)."""
    video = CODECS["video"]
    if not any(c.name == "H264" and c.parameters.get("packetization-mode") == "0" for c in video):
        video.append(RTCRtpCodecParameters(
            mimeType="video/H264", clockRate=VIDEO_CLOCK, payloadType=_H264_MODE_0_PAYLOAD_TYPE,
            rtcpFeedback=[RTCRtcpFeedback(type="nack"), RTCRtcpFeedback(type="nack", parameter="pli"),
                          RTCRtcpFeedback(type="goog-remb")],
            parameters={"level-asymmetry-allowed": "1", "packetization-mode": "0", "profile-level-id": "42e01f"}))


register_h264_mode_0()


def video_capabilities(policy: VideoPolicy, first: Codec | None):
    """aiortc's capabilities for ``policy``'s formats, ``first``'s format ahead; no RTX (see above)."""
    available = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.name.lower() != "rtx"]
    ordered = [first] if first is not None else []
    ordered += policy.codecs
    chosen = []
    for wanted in ordered:
        chosen += [c for c in available if c not in chosen and relays(_codec(c), wanted)]
    return chosen


def bandwidth_lines(sdp: str, max_bitrate: int) -> str:
    """``sdp`` with ``b=AS`` and ``b=TIAS`` (RFC 3890) in its video sections, which aiortc cannot write:
    a browser sends no faster than its peer's ``b=`` says."""
    lines = sdp.splitlines()
    out: list[str] = []
    in_video = False
    for line in lines:
        if line.startswith("m="):
            in_video = line.startswith("m=video")
        elif in_video and line.startswith("b="):
            continue
        out.append(line)
        if in_video and line.startswith("c="):
            out += [f"b={bandwidth}" for bandwidth in bandwidths(max_bitrate)]
    return "\r\n".join(out) + "\r\n"


class BrowserVideo:
    """One video transceiver: its taps, the stream we send on it, and what we know of the browser's."""

    def __init__(self, transceiver, send_rtp: Callable[[bytes], None]) -> None:
        self.transceiver = transceiver
        self.send_rtp = send_rtp
        self.negotiated: VideoNegotiated | None = None
        self.direction = Direction.INACTIVE  # the browser's, as it wrote it
        self.on_rtp: Callable[[int, int, int, int, int, bytes], None] = lambda *packet: None
        self.on_feedback: Callable[[object], None] = lambda packet: None
        self.outbound = OutboundStream(transceiver.sender._ssrc, VIDEO_CLOCK)
        self.inbound = InboundStats(VIDEO_CLOCK)
        self.rtcp = RtcpReporter(self.outbound, self.inbound, cname="webims")
        self._router = None
        # Before any await: the connect task aiortc schedules must find the taps in place.
        transceiver.receiver._handle_rtp_packet = self._on_rtp
        tap_sender_reports(transceiver.receiver, lambda packet: self.rtcp.take_sender_report(packet))
        transceiver.sender.send = sender_stays_idle

    @property
    def sends_to_browser(self) -> bool:
        return self.negotiated is not None and self.direction.receives

    @property
    def receives_from_browser(self) -> bool:
        return self.negotiated is not None and self.direction.sends

    def negotiate(self, codecs: tuple[Codec, ...], browser: MediaDescription | None, direction: Direction,
                  cname: bytes) -> None:
        """The agreed formats (in the answer's order) and what the browser wrote in its section; no
        formats means no video."""
        if not codecs or browser is None:
            self.negotiated, self.direction = None, Direction.INACTIVE
            return
        feedback = frozenset(" ".join(v.split()[1:]).lower() for v in browser.attribute_values("rtcp-fb"))
        bitrate = next((b.value * (1000 if b.type == "AS" else 1) for b in browser.bandwidths
                        if b.type in ("AS", "TIAS")), None)
        self.negotiated = VideoNegotiated(codecs, {c.payload_type: c for c in codecs}, feedback, bitrate)
        self.direction = direction
        self.rtcp.cname = cname  # one CNAME for the audio and video we send (RFC 3550 §6.5.1)
        self._listen_for_feedback()

    def _listen_for_feedback(self) -> None:
        # After BUNDLE the transceiver's transport is the bundle's: register with that one's router.
        router = self.transceiver.sender.transport._rtp_router
        if router is not self._router:
            router.register_sender(self, self.outbound.ssrc)
            self._router = router

    async def _handle_rtcp_packet(self, packet) -> None:
        self.on_feedback(packet)

    async def _on_rtp(self, packet, arrival_time_ms: int) -> None:
        self.receive(packet.payload_type, packet.marker, packet.sequence_number, packet.timestamp,
                     packet.ssrc, packet.payload)

    def receive(self, payload_type: int, marker: int, seq: int, timestamp: int, ssrc: int,
                payload: bytes) -> None:
        """One packet from the browser: through aiortc (``_on_rtp``) or the leg's SRTP shortcut."""
        self.inbound.update(ssrc, seq, timestamp, time.monotonic())
        self.on_rtp(payload_type, marker, seq, timestamp, ssrc, payload)

    def send_rtcp_report(self, extra: bytes = b"") -> None:
        self.send_rtp(self.rtcp.report() + extra)


def tap_sender_reports(receiver, take: Callable[[RtcpSrPacket], None]) -> None:
    """Hand the browser's SRs for ``receiver``'s stream to ``take`` too (lip sync, sync.py); aiortc, which
    routes them to the receiver by SSRC, keeps its own use of them."""
    aiortc_handles = receiver._handle_rtcp_packet

    async def handle(packet) -> None:
        if isinstance(packet, RtcpSrPacket):
            take(packet)
        await aiortc_handles(packet)

    receiver._handle_rtcp_packet = handle


async def sender_stays_idle(parameters) -> None:
    """Stands in for ``RTCRtpSender.send``: the bridge is the transceiver's RTP sender (aiortc's would number
    and time packets itself)."""


def _codec(capability) -> Codec:
    fmtp = ";".join(k if v is None else f"{k}={v}" for k, v in capability.parameters.items()) or None
    return Codec(capability.name, capability.clockRate, 1, None, fmtp)
