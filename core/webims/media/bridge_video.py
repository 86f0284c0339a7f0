"""The video half of one call's bridge: what the phone's video line should say, the path between the legs,
and what the call's video does, reported as :class:`~webims.media.events.VideoChanged`.

The browser leads (see bridge.py): the phone's line carries the directions the browser wrote for its
own video (camera on: it sends; its line receiving: we receive), held like the audio. A line is added to
the IMS session only for a browser that sends, never just to watch, and once there it stays (RFC 3264
§8), removed by port zero when the browser drops its video. A bridge without a video policy (no plugin
added video to calls) has no video: every method here is then a no-op.

Keyframes are asked of the phone over RTCP always (video_path.py), and also by SIP INFO (RFC 5168) when
``keyframe_request_info`` says so: "always", "never", or "auto", the default, which starts once the phone has
asked us that way itself (:meth:`BridgeVideo.phone_asked_by_info`): a phone that sends ``picture_fast_update``
surely reads it, while to one that never does an INFO would only cost a SIP transaction and an error answer.
The call layer sends the INFO on :class:`~webims.media.events.KeyframeNeeded`.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

import webims.log
from webims.sip.offer_answer import hold_direction
from webims.sip.sdp import Codec, Direction, MediaDescription

from .browser_leg import BrowserLeg
from .events import KeyframeNeeded, MediaEvent, VideoChanged
from .ims_leg import ImsLeg
from .ims_video import video_offer_fit
from .video_codecs import VideoPolicy, video_display_name
from .video_path import VideoPath

__all__ = ["BridgeVideo", "VideoStats"]

log = webims.log.get("media")


@attrs.frozen
class VideoStats:
    """The video path's counters: packets relayed each way, dropped (a format the other leg lacks),
    resent on NACK, keyframe requests sent to each side (and folded into one already outstanding)."""

    codec: str
    to_ims: int
    to_browser: int
    dropped: int
    retransmitted: int
    keyframe_requests_to_browser: int
    keyframe_requests_to_ims: int
    keyframe_requests_coalesced: int


class BridgeVideo:
    """One call's video decisions; the bridge calls in with its browser leg and whether it holds the phone."""

    def __init__(self, call_id: str, policy: VideoPolicy | None, ims: ImsLeg,
                 emit: Callable[[MediaEvent], None], keyframe_request_info: str = "auto") -> None:
        self.call_id = call_id
        self.policy = policy
        self.ims = ims
        self._emit = emit
        self.path: VideoPath | None = None
        self.state = VideoChanged(None)
        self._wired: tuple | None = None
        self.keyframe_request_info = keyframe_request_info
        self.phone_takes_info = keyframe_request_info == "always"

    # --- the phone's video line ----------------------------------------------------------------

    def wanted(self, browser: BrowserLeg | None, line_exists: bool, held: bool) -> Direction:
        """The direction we want on the phone's video line (INACTIVE: none, or removed)."""
        video = browser.video if browser is not None else None
        if video is None or video.negotiated is None or not (line_exists or video.direction.sends):
            return Direction.INACTIVE
        return hold_direction(video.direction) if held else video.direction

    async def prepare(self, browser: BrowserLeg | None, line_exists: bool, held: bool) -> None:
        """Before IMS SDP: bind the video port pair if the session will have a video line, and set the
        direction we state there."""
        if self.policy is None:
            return
        direction = self.wanted(browser, line_exists, held)
        if self.ims.video is None and not line_exists and direction is Direction.INACTIVE:
            return
        line = await self.ims.open_video(self.policy)
        line.local_direction = direction

    def negotiation_needed(self, browser: BrowserLeg | None, held: bool) -> bool:
        """After the browser's side changed: whether the phone's video line must change too (a re-INVITE)."""
        if self.policy is None or self.ims.negotiated is None:
            return False
        line = self.ims.video if self.ims.video is not None and self.ims.has_video_line else None
        current = line.local_direction if line is not None else Direction.INACTIVE
        return self.wanted(browser, self.ims.has_video_line, held) != current

    def read_offer(self, media: MediaDescription | None) -> Codec | None:
        """A ringing phone's video line: the format to offer the browser first, reported at once."""
        if self.policy is None or media is None:
            return None
        first, refusal = video_offer_fit(self.policy, media)
        self._set_state(VideoChanged(video_display_name(first) if first else None, reason=refusal))
        return first

    # --- formats and bitrate -------------------------------------------------------------------

    @staticmethod
    def browser_codec(browser: BrowserLeg | None) -> Codec | None:
        video = browser.video if browser is not None else None
        return video.negotiated.send[0] if video is not None and video.negotiated else None

    def phone_codec(self) -> Codec | None:
        line = self.ims.video
        return line.negotiated.send[0] if line is not None and line.negotiated else None

    def browser_bitrate(self) -> int | None:
        """The most the browser may send: our limit, and the phone's if it said one."""
        if self.policy is None:
            return None
        line = self.ims.video
        phone = line.negotiated.max_bitrate if line is not None and line.negotiated else None
        return min(self.policy.max_bitrate, phone or self.policy.max_bitrate)

    # --- the path between the legs -------------------------------------------------------------

    def wire(self, browser: BrowserLeg) -> None:
        """A video path while both legs have video; rebuilt when either renegotiates."""
        video, line = browser.video, self.ims.video
        ready = video is not None and video.negotiated is not None and line is not None and line.negotiated
        wiring = (video, video.negotiated, line.negotiated) if ready else None
        if wiring == self._wired:
            return
        if self.path is not None:
            self.path.detach()
        self.path = VideoPath(video, line, self.browser_bitrate(), self._asked_phone) if ready else None
        self._wired = wiring
        if ready:
            log.info("media.bridge.video", call=self.call_id, codec=video_display_name(line.negotiated.send[0]),
                     routes=self.path.to_ims.routes)

    # --- keyframes by SIP INFO (RFC 5168) --------------------------------------------------------

    def phone_asked_by_info(self) -> None:
        """The phone sent ``picture_fast_update``: ask the browser's camera (coalesced with the phone's PLIs),
        and, in "auto" mode, ask this phone by INFO too from now on."""
        if self.policy is None:
            return
        if self.keyframe_request_info == "auto" and not self.phone_takes_info:
            self.phone_takes_info = True
            log.info("media.bridge.keyframe_info", call=self.call_id)
        if self.path is not None:
            self.path.ask_browser()

    def _asked_phone(self) -> None:
        """The path has just sent the phone a PLI or FIR (so it is coalesced already)."""
        if self.phone_takes_info:
            self._emit(KeyframeNeeded())

    def apply_gates(self, held: bool, ringing: bool) -> None:
        """Each direction flows while both ends want it and we do not hold the phone; then report."""
        path = self.path
        if path is not None:
            path.to_ims.enabled = not held and self.ims.video.sends_to_peer and path.browser.receives_from_browser
            path.to_browser.enabled = not held and self.ims.video.receives_from_peer and path.browser.sends_to_browser
            state = VideoChanged(video_display_name(self.ims.video.negotiated.send[0]), path.to_browser.enabled,
                                 path.to_ims.enabled, reoffer=path.browser_sends_unrelayable)
        elif ringing:
            return  # a ringing call keeps what read_offer said
        else:
            state = VideoChanged(None, reason=self.ims.video.refusal if self.ims.video is not None else "")
        self._set_state(state)

    def _set_state(self, state: VideoChanged) -> None:
        if state != self.state:
            self.state = state
            self._emit(state)

    def send_reports(self, now: float) -> None:
        if self.path is not None:
            self.path.send_reports(now)

    def stats(self) -> VideoStats | None:
        path = self.path
        if path is None:
            return None
        return VideoStats(
            codec=video_display_name(self.ims.video.negotiated.send[0]),
            to_ims=path.to_ims.forwarded, to_browser=path.to_browser.forwarded,
            dropped=path.to_ims.dropped + path.to_browser.dropped,
            retransmitted=path.to_ims.retransmitted + path.to_browser.retransmitted,
            keyframe_requests_to_browser=path.browser_requests.sent,
            keyframe_requests_to_ims=path.phone_requests.sent,
            keyframe_requests_coalesced=path.browser_requests.coalesced + path.phone_requests.coalesced,
        )
