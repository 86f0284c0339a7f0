"""The browser leg: one aiortc ``RTCPeerConnection`` per browser attachment.

aiortc does what it is good at: SDP for WebRTC, ICE, DTLS-SRTP, BUNDLE and rtcp-mux. The media
itself bypasses its ``RTCRtpReceiver``/``RTCRtpSender``, which always decode and re-encode and
add ~80 ms of jitter buffer (NOTES):

- in: our receiver's ``_handle_rtp_packet`` is replaced on the instance, so packets arrive
  SRTP-unprotected and parsed, and never reach aiortc's jitter buffer or decoder;
- out: ``RTCDtlsTransport._send_rtp(bytes)`` protects and sends our RTP and RTCP;
- aiortc's own sender never starts (``send`` is a no-op on the instance): it would number its
  packets itself, and the RFC 4733 events we inject must share one sequence space with the audio.

Those three are private aiortc API: aiortc is pinned to :data:`PINNED_AIORTC` and
``tests/unit/media/test_aiortc_pins.py`` fails when they change. They carry the first packets only:
once DTLS is up, :class:`~webims.media.srtp_shortcut.SrtpShortcut` moves SRTP between the ICE socket
and the relay directly, and aiortc keeps STUN, DTLS and RTCP.

Video, when the call may carry it, is one more transceiver with the same bypass (browser_video.py).
A browser may renegotiate on the same peer connection (:meth:`BrowserLeg.accept_reoffer`: camera on
or off, video added), which aiortc handles; the gateway never sends the browser an offer mid-call.

ICE: our candidates are gathered before the SDP is returned (host candidates take no time;
with STUN/TURN configured the wait is bounded by ``ice_gathering_timeout``); the browser's
trickle in through :meth:`BrowserLeg.add_candidate`. aiortc cannot restart ICE on a live
connection, so a re-attached tab gets a new leg (see bridge.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs import CODECS
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.sdp import candidate_from_sdp

import webims.log
from webims.sip.errors import RemoteProtocolError
from webims.sip.sdp import Codec, Direction, MediaDescription, SessionDescription

from .browser_video import BrowserVideo, bandwidth_lines, sender_stays_idle, tap_sender_reports, video_capabilities
from .codecs import Negotiated
from .config import MediaConfig
from .errors import MediaError
from .rtcp import RtcpReporter
from .rtp import InboundStats, OutboundStream
from .srtp_shortcut import SrtpShortcut
from .video_codecs import VideoPolicy

__all__ = ["BrowserLeg", "PINNED_AIORTC", "register_telephone_event", "use_host_addresses"]

PINNED_AIORTC = "1.16.0"

log = webims.log.get("media")

RtpSink = Callable[[int, int, int, int, int, bytes], None]

# Chrome's numbers for telephone-event/8000 and /48000, so our offers look like its own.
_TELEPHONE_EVENTS = ((8000, 126), (48000, 110))


def register_telephone_event() -> None:
    """Make aiortc negotiate RFC 4733 telephone-event, which it does not know (NOTES).

    aiortc negotiates only codecs in its ``CODECS`` table. The entries are added after the audio
    codecs, so no aiortc sender ever picks one as its first codec; in our legs these packets are
    taken by the tap before aiortc's decoder could see them.
    """
    audio = CODECS["audio"]
    for rate, payload_type in _TELEPHONE_EVENTS:
        if not any(c.mimeType.lower() == "audio/telephone-event" and c.clockRate == rate for c in audio):
            audio.append(RTCRtpCodecParameters(mimeType="audio/telephone-event", clockRate=rate, channels=1,
                                               payloadType=payload_type, parameters={"0-15": None}))


register_telephone_event()


def use_host_addresses(addresses: Sequence[str]) -> None:
    """Offer exactly ``addresses`` as ICE host candidates (``MediaConfig.browser_addresses``).

    aioice lists every interface address except 127.0.0.1 and has no option for it (NOTES), so
    its listing is replaced for this process: the media process serves one gateway, whose
    operator says which addresses browsers reach it on.
    """
    chosen = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses


class BrowserLeg:
    """One WebRTC peer connection towards a browser tab and the RTP stream we send on it."""

    def __init__(self, config: MediaConfig, on_ice_state: Callable[[str], None],
                 video_policy: VideoPolicy | None = None) -> None:
        self.config = config
        servers = [RTCIceServer(urls=url) for url in config.ice_servers]
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.pc.on("iceconnectionstatechange", lambda: on_ice_state(self.pc.iceConnectionState))
        self.on_rtp: RtpSink = lambda *packet: None
        self.negotiated: Negotiated | None = None
        self.inbound = InboundStats(48000)
        self.outbound: OutboundStream | None = None
        self.rtcp: RtcpReporter | None = None
        self.video: BrowserVideo | None = None
        self.video_policy = video_policy
        self._transceiver = None
        # Payload type → where the SRTP shortcut hands it; kept current in place as negotiation goes on.
        self._sinks: dict[int, RtpSink] = {}
        # None: not tried yet (DTLS not up); False: this pair cannot take it, aiortc's path stays.
        self._shortcut: SrtpShortcut | bool | None = None

    # --- SDP --------------------------------------------------------------------------------

    async def accept_offer(self, offer: str, preference: Sequence[Codec], video_first: Codec | None = None,
                           video_bitrate: int | None = None) -> str:
        """Answer the browser's offer with codecs in ``preference`` order; the browser sends the first.
        Its video, if the call may have video, is answered with ``video_first``'s format first."""
        self._add_audio_transceiver(preference)
        answer = await self._answer(offer, video_first)
        codecs = _audio(answer).codecs
        self._negotiated(Negotiated.choose(codecs, codecs), answer)
        self._negotiate_video(agreed=answer, browser=_parse(offer))
        return self._with_bandwidth(str(self.pc.localDescription.sdp), video_bitrate)

    async def accept_reoffer(self, offer: str, video_first: Codec | None = None,
                             video_bitrate: int | None = None) -> str:
        """A new offer on the same peer connection (the camera went on or off, video was added): our
        answer. Audio goes on as negotiated; aiortc keeps ICE and DTLS."""
        if self.negotiated is None:
            raise MediaError("The browser renegotiated a call whose media was never set up.")
        answer = await self._answer(offer, video_first)
        self._negotiate_video(agreed=answer, browser=_parse(offer))
        return self._with_bandwidth(str(self.pc.localDescription.sdp), video_bitrate)

    async def make_offer(self, preference: Sequence[Codec], video_first: Codec | None = None,
                         video_bitrate: int | None = None) -> str:
        self._add_audio_transceiver(preference)
        if self.video_policy is not None:
            self._add_video_transceiver(video_first)
        await self._set_local(await self.pc.createOffer())
        return self._with_bandwidth(str(self.pc.localDescription.sdp), video_bitrate)

    async def accept_answer(self, answer: str) -> None:
        await self._set_remote(answer, "answer")
        local = _parse(self.pc.localDescription.sdp)
        remote = _parse(answer)
        codecs = _audio(remote).codecs
        self._negotiated(Negotiated.choose(codecs, (*codecs, *_audio(local).codecs)), local)
        self._negotiate_video(agreed=remote, browser=remote)

    async def _answer(self, offer: str, video_first: Codec | None) -> SessionDescription:
        wants_video = self.video_policy is not None and "m=video" in offer
        if wants_video and self.video is None:
            self._add_video_transceiver(video_first)
        elif wants_video:
            self.video.transceiver.setCodecPreferences(video_capabilities(self.video_policy, video_first))
        await self._set_remote(offer, "offer")
        ours = {self._transceiver, self.video.transceiver if self.video is not None else None}
        for transceiver in self.pc.getTransceivers():
            if transceiver not in ours:
                transceiver.direction = "inactive"  # what the call does not carry is declined, never decoded
        return await self._set_local(await self.pc.createAnswer())

    async def add_candidate(self, candidate: str | None, sdp_mid: str | None = None,
                            sdp_mline_index: int | None = None) -> None:
        """A trickled remote candidate (``candidate:...`` as in the browser's RTCIceCandidate), or
        None for end-of-candidates (RFC 8838 §8)."""
        if candidate is None:
            await self.pc.addIceCandidate(None)
            return
        line = candidate.strip().removeprefix("a=").removeprefix("candidate:")
        try:
            parsed = candidate_from_sdp(line)
        except (AssertionError, ValueError, IndexError):
            raise MediaError(f"The browser sent an unreadable ICE candidate: {candidate[:80]!r}.") from None
        if _is_mdns(parsed.ip) and not self.config.resolve_mdns:
            log.debug("media.browser.mdns_candidate_dropped", host=parsed.ip)
            return
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = sdp_mline_index if sdp_mid is not None or sdp_mline_index is not None else 0
        await self.pc.addIceCandidate(parsed)

    def _add_audio_transceiver(self, preference: Sequence[Codec]) -> None:
        transceiver = self.pc.addTransceiver("audio", direction="sendrecv")
        transceiver.setCodecPreferences(_capabilities(preference))
        # Before any await: the connect task aiortc schedules must find the tap in place.
        transceiver.receiver._handle_rtp_packet = self._on_rtp
        tap_sender_reports(transceiver.receiver, lambda packet: self.rtcp and self.rtcp.take_sender_report(packet))
        transceiver.sender.send = sender_stays_idle
        self._transceiver = transceiver

    def _add_video_transceiver(self, first: Codec | None) -> None:
        transceiver = self.pc.addTransceiver("video", direction="sendrecv")
        transceiver.setCodecPreferences(video_capabilities(self.video_policy, first))
        self.video = BrowserVideo(transceiver, self.send_rtp)
        self.video.inbound.peer_clock = self.inbound.peer_clock  # one browser, one wallclock (sync.py)

    def _negotiate_video(self, *, agreed: SessionDescription, browser: SessionDescription) -> None:
        """Read our video section's outcome: the formats in ``agreed`` (the answer) and the direction
        the browser wrote (in its offer or answer)."""
        if self.video is None:
            return
        mid = self.video.transceiver.mid
        ours, theirs = _section(agreed, mid), _section(browser, mid)
        codecs = tuple(c for c in ours.codecs if c.encoding_name.lower() != "rtx") if ours and theirs else ()
        direction = browser.media_direction(theirs) if codecs else Direction.INACTIVE
        self.video.negotiate(codecs, theirs, direction, self.rtcp.cname)
        self._update_sinks()

    def _with_bandwidth(self, sdp: str, video_bitrate: int | None) -> str:
        if self.video is None or video_bitrate is None:
            return sdp
        return bandwidth_lines(sdp, video_bitrate)

    async def _set_remote(self, text: str, kind: str) -> None:
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=self._without_mdns(text), type=kind))
        except (ValueError, AssertionError, OperationError, InvalidStateError, InvalidAccessError) as exc:
            raise MediaError(f"The browser's {kind} could not be used: {exc or type(exc).__name__}.") from None

    async def _set_local(self, description: RTCSessionDescription) -> SessionDescription:
        try:
            await asyncio.wait_for(self.pc.setLocalDescription(description), self.config.ice_gathering_timeout)
        except asyncio.TimeoutError:
            raise MediaError(f"The gateway could not gather its ICE candidates within "
                             f"{self.config.ice_gathering_timeout:g} s; check its STUN/TURN servers.") from None
        return _parse(self.pc.localDescription.sdp)

    def _negotiated(self, negotiated: Negotiated | None, local: SessionDescription) -> None:
        if negotiated is None:
            raise MediaError("The browser offered no codec the gateway supports (Opus, PCMU or PCMA).")
        self.negotiated = negotiated
        rate = negotiated.audio.clock_rate
        self.inbound.clock_rate = rate
        self.outbound = OutboundStream(self._transceiver.sender._ssrc, rate)
        self.rtcp = RtcpReporter(self.outbound, self.inbound, cname=_cname(_audio(local)) or "webims")
        self._update_sinks()

    def _without_mdns(self, text: str) -> str:
        if self.config.resolve_mdns:
            return text
        lines = text.splitlines()
        kept = [line for line in lines if not (line.startswith("a=candidate:") and _is_mdns(line.split()[4]))]
        return "\r\n".join(kept) + "\r\n"

    # --- media ------------------------------------------------------------------------------

    async def _on_rtp(self, packet, arrival_time_ms: int) -> None:
        """aiortc's path: the packets before the shortcut is in place."""
        self._receive(packet.payload_type, packet.marker, packet.sequence_number, packet.timestamp,
                      packet.ssrc, packet.payload)
        self._take_shortcut()

    def _receive(self, payload_type: int, marker: int, seq: int, timestamp: int, ssrc: int,
                 payload: bytes) -> None:
        self.inbound.update(ssrc, seq, timestamp, time.monotonic())
        self.on_rtp(payload_type, marker, seq, timestamp, ssrc, payload)

    def _update_sinks(self) -> None:
        sinks: dict[int, RtpSink] = {}
        if self.video is not None and self.video.negotiated is not None:
            sinks.update(dict.fromkeys(self.video.negotiated.receive, self.video.receive))
        if self.negotiated is not None:
            sinks.update(dict.fromkeys(self.negotiated.receive, self._receive))
        self._sinks.clear()
        self._sinks.update(sinks)

    def _take_shortcut(self) -> None:
        if self._shortcut is None and self._transceiver is not None:
            dtls = self._transceiver.sender.transport
            if dtls.state == "connected":
                self._shortcut = SrtpShortcut.install(dtls, self._sinks) or False

    def send_rtp(self, data: bytes) -> None:
        """Send one RTP or RTCP packet (RFC 5761 §4 tells them apart).

        Through the shortcut once DTLS is up; before that (or on a pair it cannot take) through
        aiortc's ``_send_rtp``, whose coroutine becomes a Task: Tasks run in creation order, which
        keeps packets in order.
        """
        if self._shortcut is None:
            self._take_shortcut()
        if self._shortcut:
            self._shortcut.send(data)
        elif self._transceiver is not None:
            asyncio.get_running_loop().create_task(_send(self._transceiver.sender.transport, data))

    def send_rtcp_report(self) -> None:
        if self.rtcp is not None:
            self.send_rtp(self.rtcp.report())

    @property
    def shortcut_received(self) -> int:
        return self._shortcut.received if self._shortcut else 0

    @property
    def shortcut_sent(self) -> int:
        return self._shortcut.sent if self._shortcut else 0

    @property
    def connected(self) -> bool:
        return self._transceiver is not None and self._transceiver.sender.transport.state == "connected"

    async def close(self) -> None:
        if self.rtcp is not None and self.connected:
            self.send_rtp(self.rtcp.bye())
            if self.video is not None and self.video.negotiated is not None:
                self.send_rtp(self.video.rtcp.bye())
        if self._shortcut:
            self._shortcut.remove()
        self._shortcut = False
        await self.pc.close()


async def _send(transport, data: bytes) -> None:
    try:
        await transport._send_rtp(data)
    except ConnectionError:
        pass  # DTLS not (or no longer) connected: media before the handshake or after the end is dropped


def _capabilities(preference: Sequence[Codec]):
    available = RTCRtpSender.getCapabilities("audio").codecs
    chosen = []
    for codec in (*preference, *(Codec("telephone-event", rate) for rate, _ in _TELEPHONE_EVENTS)):
        chosen += [c for c in available if c.name.lower() == codec.encoding_name.lower()
                   and c.clockRate == codec.clock_rate and c not in chosen]
    return chosen


def _parse(text: str) -> SessionDescription:
    try:
        return SessionDescription.parse(text)
    except RemoteProtocolError as exc:
        raise MediaError(f"The browser sent an unreadable SDP: {exc.reason}.") from None


def _audio(sdp: SessionDescription) -> MediaDescription:
    media = next((m for m in sdp.media if m.media == "audio" and not m.is_rejected), None)
    if media is None:
        raise MediaError("The browser's session has no audio stream.")
    return media


def _section(sdp: SessionDescription, mid: str | None) -> MediaDescription | None:
    if mid is None:
        return None
    return next((m for m in sdp.media if m.attribute("mid") == mid and not m.is_rejected), None)


def _cname(media: MediaDescription) -> str | None:
    for value in media.attribute_values("ssrc"):
        _, _, attribute = value.partition(" ")
        if attribute.startswith("cname:"):
            return attribute.removeprefix("cname:")
    return None


def _is_mdns(host: str) -> bool:
    return host.endswith(".local")
