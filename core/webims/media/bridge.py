"""One call's bridge: the browser leg, the IMS leg and the two forwarders between them.

Lives on the media loop (asyncio); the trio call layer reaches it through
:class:`webims.media.engine.Bridge`. Call flows (RFC 3264 offer/answer on each leg):

- browser calls out: ``accept_browser_offer`` → ``ims_offer`` → ``accept_ims_answer``;
- a call comes in: ``offer_to_browser`` (from the IMS offer) → ``accept_browser_answer``
  (returns the IMS answer);
- later: ``accept_ims_reoffer`` (the phone's re-INVITE: hold, resume, new address, video added
  or removed), ``set_hold`` + ``ims_offer`` + ``accept_ims_answer`` (our re-INVITE),
  ``accept_browser_reoffer`` (the browser renegotiates: camera on or off), ``restart_browser_leg``,
  ``accept_ims_keyframe_request`` (the phone's SIP INFO ``picture_fast_update``, RFC 5168).

Codec choice favours relaying: the IMS offer lists the browser leg's codec first, and the
browser offer lists the IMS phone's codec first. Only when the legs end with different audio
codecs does the bridge transcode.

Video (when the call layer passed a :class:`~webims.service.CallMedia` of kind ``video``) follows the
browser: the phone gets a video line when the browser sends video or the session already has one,
in the directions the browser wrote (camera on: sendrecv; off: recvonly; no video: port zero).
When the browser changes them it renegotiates with us (``accept_browser_reoffer``) and the bridge
emits :class:`NegotiationNeeded`: the call layer re-INVITEs with ``ims_offer``. Video is only ever
relayed (video_path.py); what it does is reported as :class:`VideoChanged` (bridge_video.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import attrs

import webims.log
from webims.sip.errors import RemoteProtocolError
from webims.service import CallMedia
from webims.sip.offer_answer import common_codecs, hold_direction
from webims.sip.sdp import Codec, Direction, MediaDescription, SessionDescription

from .browser_leg import BrowserLeg
from .codecs import SUPPORTED, Negotiated
from .config import MediaConfig
from .dtmf import EventReader, check_digits, send_digits
from .errors import MediaError
from .bridge_video import BridgeVideo, VideoStats
from .events import (CodecChosen, DtmfReceived, IceStateChanged, Leg, MediaEvent, MediaMode, MediaTimeout,
                     NegotiationNeeded)
from .ims_leg import ImsLeg
from .relay import Forwarder
from .rtcp import LegQuality
from .sync import ntp_now
from .transcode import Transcoder
from .video_codecs import VideoPolicy

__all__ = ["CallBridge", "BridgeStats", "LegQuality", "VideoStats"]

log = webims.log.get("media")
_HOUSEKEEPING_PERIOD = 1.0


@attrs.frozen
class BridgeStats:
    """A snapshot for monitoring and tests; ``decoded_frames`` stays 0 while relaying."""

    mode: MediaMode | None
    browser_codec: str | None
    ims_codec: str | None
    ims_port: int
    to_ims: int
    to_browser: int
    dropped: int
    decoded_frames: int
    encoded_packets: int
    ims_round_trip: float | None
    video: VideoStats | None = None
    # The IMS leg's audio both ways, from our reception and the phone's RTCP (None before the IMS leg has media).
    ims_quality: LegQuality | None = None
    # Browser-leg packets that took the SRTP shortcut (srtp_shortcut.py) rather than aiortc's path.
    shortcut_received: int = 0
    shortcut_sent: int = 0
    # The streams whose SRs on the far leg state their source's own timing, from its SR (sync.py):
    # "audio to ims", "audio to browser", "video to ims", "video to browser".
    synced: tuple[str, ...] = ()


class CallBridge:
    def __init__(self, call_id: str, config: MediaConfig, ims: ImsLeg, emit: Callable[[MediaEvent], None],
                 video_policy: VideoPolicy | None = None, keyframe_request_info: str = "auto") -> None:
        self.call_id = call_id
        self.config = config
        self.ims = ims
        self.video_policy = video_policy
        self.video = BridgeVideo(call_id, video_policy, ims, emit, keyframe_request_info)
        self.browser: BrowserLeg | None = None
        self._emit = emit
        self._held_locally = False
        self._pending_ims_offer: str | None = None
        self._to_ims: Forwarder | None = None
        self._to_browser: Forwarder | None = None
        self._wired: tuple[Negotiated, Negotiated] | None = None
        self._wired_at = time.monotonic()
        self._timed_out: set[Leg] = set()
        self._tasks: set[asyncio.Task] = set()
        self._closed = False
        self._spawn(self._housekeeping())

    @classmethod
    async def open(cls, call_id: str, config: MediaConfig, emit: Callable[[MediaEvent], None],
                   media: Sequence[CallMedia] = ()) -> CallBridge:
        """A bridge for audio and the ``media`` kinds the call layer adds (the engine carries video)."""
        policy, keyframe_request_info = None, "auto"
        for extra in media:
            if extra.kind != "video":
                raise MediaError(f"This gateway's media engine carries audio and video, not {extra.kind}.")
            policy, keyframe_request_info = VideoPolicy.from_call_media(extra), extra.keyframe_request_info
        return cls(call_id, config, await ImsLeg.open(config), emit, policy, keyframe_request_info)

    # --- browser calls out ------------------------------------------------------------------

    async def accept_browser_offer(self, offer: str) -> str:
        leg = self._new_browser_leg()
        answer = await leg.accept_offer(offer, _codecs(self.config.browser_codecs), self.video.phone_codec(),
                                        self.video.browser_bitrate())
        self._adopt_browser_leg(leg)
        return answer

    async def ims_offer(self) -> str:
        """Our SDP for an INVITE or re-INVITE: the browser leg's codec first, then the others; video
        as the browser has it (see the module docstring)."""
        first = [self.browser.negotiated.audio] if self.browser and self.browser.negotiated else []
        await self.video.prepare(self.browser, self.ims.has_video_line, self._held_locally)
        codecs = _unique([*first, *_codecs(self.config.ims_codecs)])
        return self.ims.make_offer(codecs, self.video.browser_codec(self.browser))

    async def accept_ims_answer(self, answer: str) -> None:
        self.ims.accept_answer(answer)
        self._wire()

    # --- a call comes in --------------------------------------------------------------------

    async def offer_to_browser(self, ims_offer: str) -> str:
        """Check the phone's offer (MediaError if nothing fits) and make the browser's offer."""
        offered = _ims_media(ims_offer, "audio")
        fits = common_codecs(offered.codecs, _codecs(self.config.ims_codecs)) if offered else ()
        if not fits:
            self.ims.accept_offer(ims_offer, _codecs(self.config.ims_codecs))  # raises the explanation
        self._pending_ims_offer = ims_offer
        video_first = self.video.read_offer(_ims_media(ims_offer, "video"))
        leg = self._new_browser_leg()
        offer = await leg.make_offer(_unique([fits[0], *_codecs(self.config.browser_codecs)]), video_first,
                                     self.video.browser_bitrate())
        self.browser = leg
        return offer

    async def accept_browser_answer(self, answer: str) -> str:
        """Apply the browser's answer; returns our answer to the phone's offer."""
        if self.browser is None or self._pending_ims_offer is None:
            raise MediaError("There is no offer to the browser waiting for its answer.")
        await self.browser.accept_answer(answer)
        self._adopt_browser_leg(self.browser)
        preference = _unique([self.browser.negotiated.audio, *_codecs(self.config.ims_codecs)])
        await self.video.prepare(self.browser, _ims_media(self._pending_ims_offer, "video") is not None,
                                 self._held_locally)
        ims_answer, _ = self.ims.accept_offer(self._pending_ims_offer, preference,
                                              self.video.browser_codec(self.browser))
        self._pending_ims_offer = None
        self._wire()
        self._check_negotiation()  # she answered an audio call with her camera on: offer the phone video
        return ims_answer

    # --- mid-call ---------------------------------------------------------------------------

    async def accept_ims_reoffer(self, offer: str) -> str:
        """The phone's re-INVITE (hold, resume, a new address or codec, video added or removed): our answer."""
        current = [self.ims.negotiated.audio] if self.ims.negotiated else []
        line_exists = self.ims.has_video_line or _ims_media(offer, "video") is not None
        await self.video.prepare(self.browser, line_exists, self._held_locally)
        answer, _ = self.ims.accept_offer(offer, _unique([*current, *_codecs(self.config.ims_codecs)]),
                                          self.video.browser_codec(self.browser))
        self._wire()
        return answer

    async def accept_browser_reoffer(self, offer: str) -> str:
        """The browser renegotiated (camera on or off, video added): our answer. If the phone's side
        must change too, :class:`NegotiationNeeded` follows."""
        if self.browser is None:
            raise MediaError("The browser renegotiated a call whose media was never set up.")
        answer = await self.browser.accept_reoffer(offer, self.video.phone_codec(), self.video.browser_bitrate())
        self._wire()
        self._check_negotiation()
        return answer

    async def set_hold(self, held: bool) -> None:
        """Hold (or resume) the phone from our side: media stops both ways at once; send
        :meth:`ims_offer` in a re-INVITE (sendonly while held, RFC 3264 §8.4)."""
        self._held_locally = held
        self.ims.local_direction = hold_direction(Direction.SENDRECV) if held else Direction.SENDRECV
        if self.ims.video is not None:
            self.ims.video.local_direction = self.video.wanted(self.browser, self.ims.has_video_line, held)
        self._apply_gates()

    async def send_dtmf(self, digits: str, to: Leg | str) -> None:
        """Play ``digits`` as RFC 4733 events towards one leg; returns when they are sent."""
        to = Leg(to)
        try:
            digits = check_digits(digits)
        except ValueError as exc:
            raise MediaError(str(exc) + ".") from None
        leg = self.ims if to is Leg.IMS else self.browser
        forwarder = self._to_ims if to is Leg.IMS else self._to_browser
        if leg is None or leg.negotiated is None or forwarder is None:
            raise MediaError("Digits can be sent once the call's media is connected.")
        dtmf = leg.negotiated.dtmf
        if dtmf is None:
            phone = "IMS phone" if to is Leg.IMS else "browser"
            raise MediaError(f"The {phone} did not agree to RFC 4733 DTMF events, so digits cannot be sent to it.")
        out, send = forwarder.out, forwarder.send
        was_enabled, forwarder.enabled = forwarder.enabled, False  # no audio while events play (RFC 4733 §2.5.1.1)
        try:
            await send_digits(digits, clock_rate=dtmf.clock_rate, ptime_ms=self.config.ptime,
                              send_event=lambda payload, ts, marker: send(
                                  out.packet(dtmf.payload_type, int(marker), ts, payload, audio=False)),
                              timestamp_now=out.timestamp_now)
        finally:
            forwarder.enabled = was_enabled and self._gate(to)

    def accept_ims_keyframe_request(self) -> None:
        """The phone asked for a keyframe by SIP INFO (RFC 5168): ask the browser's camera, and learn that this
        phone takes INFO (bridge_video.py)."""
        self.video.phone_asked_by_info()

    async def restart_browser_leg(self, offer: str) -> str:
        """A re-attached tab (or an ICE restart): a new peer connection, the IMS leg untouched.

        aiortc cannot restart ICE in place, and a reloaded tab has a new DTLS certificate anyway;
        the new leg's answer carries a new fingerprint, which makes the browser run a new DTLS
        handshake (RFC 8842 §5). The phone sees the same continuous stream throughout.
        """
        old = self.browser
        leg = self._new_browser_leg()
        try:
            answer = await leg.accept_offer(offer, _codecs(self.config.browser_codecs), self.video.phone_codec(),
                                            self.video.browser_bitrate())
        except BaseException:
            await leg.close()
            raise
        self._adopt_browser_leg(leg)
        self._wired = None
        self._wire()
        self._check_negotiation()
        if old is not None:
            await old.close()
        return answer

    async def add_browser_candidate(self, candidate: str | None, sdp_mid: str | None = None,
                                    sdp_mline_index: int | None = None) -> None:
        if self.browser is None:
            raise MediaError("A browser ICE candidate arrived before the browser's session description.")
        await self.browser.add_candidate(candidate, sdp_mid, sdp_mline_index)

    def stats(self) -> BridgeStats:
        forwarders = [f for f in (self._to_ims, self._to_browser) if f is not None]
        transcoders = [f.transcoder for f in forwarders if f.transcoder is not None]
        return BridgeStats(
            mode=self._mode(),
            browser_codec=self._wired[0].audio.encoding_name if self._wired else None,
            ims_codec=self._wired[1].audio.encoding_name if self._wired else None,
            ims_port=self.ims.audio.port,
            to_ims=self._to_ims.forwarded if self._to_ims else 0,
            to_browser=self._to_browser.forwarded if self._to_browser else 0,
            dropped=sum(f.dropped for f in forwarders),
            decoded_frames=sum(t.decoded_frames for t in transcoders),
            encoded_packets=sum(t.encoded_packets for t in transcoders),
            ims_round_trip=self.ims.audio.rtcp.round_trip,
            video=self.video.stats(),
            ims_quality=self.ims.audio.rtcp.quality() if self.ims.negotiated is not None else None,
            shortcut_received=self.browser.shortcut_received if self.browser else 0,
            shortcut_sent=self.browser.shortcut_sent if self.browser else 0,
            synced=self._synced(),
        )

    def _synced(self) -> tuple[str, ...]:
        now, path = ntp_now(), self.video.path
        streams = {"audio to ims": self._to_ims, "audio to browser": self._to_browser,
                   "video to ims": path and path.to_ims, "video to browser": path and path.to_browser}
        return tuple(name for name, forwarder in streams.items()
                     if forwarder is not None and forwarder.timestamp_at(now) is not None)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.ims.close()
        if self.browser is not None:
            await self.browser.close()

    # --- wiring -----------------------------------------------------------------------------

    def _new_browser_leg(self) -> BrowserLeg:
        leg: BrowserLeg

        def on_ice_state(state: str) -> None:
            if leg is self.browser and not self._closed:
                self._emit(IceStateChanged(state))

        leg = BrowserLeg(self.config, on_ice_state, self.video_policy)
        return leg

    def _adopt_browser_leg(self, leg: BrowserLeg) -> None:
        self.browser = leg
        self._wire()

    def _wire(self) -> None:
        """Connect the legs once both are negotiated; again only if a codec changed."""
        if self.browser is None or self.browser.negotiated is None or self.ims.negotiated is None:
            return
        pair = (self.browser.negotiated, self.ims.negotiated)
        if pair != self._wired:
            self._connect(*pair)
        self.video.wire(self.browser)
        self._apply_gates()

    def _connect(self, browser: Negotiated, ims: Negotiated) -> None:
        relay = browser.relays_with(ims)
        self._to_ims = Forwarder(
            source=browser, target=ims, out=self.ims.audio.outbound, send=self.ims.audio.send_rtp,
            on_event=self._event_reader(Leg.BROWSER, browser).feed,
            transcoder=None if relay else Transcoder(browser.audio, ims.audio, self.ims.ptime),
            source_stats=self.browser.inbound)
        self._to_browser = Forwarder(
            source=ims, target=browser, out=self.browser.outbound, send=self.browser.send_rtp,
            on_event=self._event_reader(Leg.IMS, ims).feed,
            transcoder=None if relay else Transcoder(ims.audio, browser.audio, self.config.ptime),
            source_stats=self.ims.audio.inbound)
        self.browser.on_rtp = self._to_ims.forward
        self.ims.audio.on_rtp = self._to_browser.forward
        self._wired = (browser, ims)
        self._wired_at = time.monotonic()
        mode = self._mode()
        log.info("media.bridge.connected", call=self.call_id, mode=mode,
                 browser=browser.audio.encoding_name, ims=ims.audio.encoding_name)
        self._emit(CodecChosen(mode, browser.audio.encoding_name, ims.audio.encoding_name))

    def _event_reader(self, leg: Leg, negotiated: Negotiated) -> EventReader:
        rate = negotiated.dtmf.clock_rate if negotiated.dtmf else negotiated.audio.clock_rate
        return EventReader(rate, lambda digit, ms: self._emit(DtmfReceived(digit, leg, ms)))

    def _gate(self, towards: Leg) -> bool:
        if self._held_locally:
            return False
        if towards is Leg.IMS:
            return self.ims.sends_to_peer
        return self.ims.remote_direction.sends and not self.ims.remote_held

    def _apply_gates(self) -> None:
        if self._to_ims is not None:
            self._to_ims.enabled = self._gate(Leg.IMS)
        if self._to_browser is not None:
            self._to_browser.enabled = self._gate(Leg.BROWSER)
        self.video.apply_gates(self._held_locally, ringing=self._pending_ims_offer is not None)

    def _mode(self) -> MediaMode | None:
        if self._to_ims is None:
            return None
        return MediaMode.RELAY if self._to_ims.transcoder is None else MediaMode.TRANSCODE

    def _check_negotiation(self) -> None:
        """After the browser's side changed: if the phone's video line must change too, ask for a re-INVITE."""
        if self.video.negotiation_needed(self.browser, self._held_locally):
            self._emit(NegotiationNeeded())

    # --- housekeeping: RTCP and media timeouts -----------------------------------------------

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(_HOUSEKEEPING_PERIOD)
            now = time.monotonic()
            if self.ims.negotiated is not None and self.ims.audio.rtcp.due(now):
                self.ims.audio.send_rtcp_report()
            browser = self.browser
            if browser is not None and browser.rtcp is not None and browser.connected and browser.rtcp.due(now):
                browser.send_rtcp_report()
            if browser is not None and browser.connected:
                self.video.send_reports(now)
            if self._wired is not None:
                self._check_timeout(Leg.IMS, self.ims.last_received, now)
                self._check_timeout(Leg.BROWSER, self.browser.inbound.last_arrival, now)

    def _check_timeout(self, leg: Leg, last: float | None, now: float) -> None:
        silent = now - max(last or 0.0, self._wired_at)
        if silent < self.config.media_timeout:
            self._timed_out.discard(leg)
        elif leg not in self._timed_out:
            self._timed_out.add(leg)
            log.info("media.bridge.timeout", call=self.call_id, leg=leg, seconds=round(silent, 1))
            self._emit(MediaTimeout(leg, round(silent, 1)))


def _codecs(names: Sequence[str]) -> list[Codec]:
    return [SUPPORTED[name] for name in names]


def _unique(codecs: Sequence[Codec]) -> list[Codec]:
    chosen: list[Codec] = []
    for codec in codecs:
        plain = Codec(codec.encoding_name, codec.clock_rate, codec.channels)
        if not any(plain.same_encoding(c) for c in chosen):
            chosen.append(plain)
    return chosen


def _ims_media(text: str, kind: str) -> MediaDescription | None:
    """The phone's first RTP stream of ``kind`` that it did not decline (None for unreadable SDP: the
    leg reports that with its reason)."""
    try:
        sdp = SessionDescription.parse(text)
    except RemoteProtocolError:
        return None
    return next((m for m in sdp.media if m.media == kind and m.is_rtp and not m.is_rejected), None)
