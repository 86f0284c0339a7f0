"""One call's video between the legs: a forwarder each way, keyframe requests each way, and the ceiling
on what the browser sends.

Built by the bridge once both legs have negotiated video, rebuilt when either renegotiates. Per
packet it costs what the audio relay costs (video_relay.py); per RTCP packet it translates feedback
(feedback.py): a keyframe request from one leg becomes one, coalesced, to the source on the other,
and NACKs are answered where they came from. Each request the phone gets is also reported
(``on_ask_phone``), for a phone that takes them by SIP INFO too (bridge_video.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .browser_video import BrowserVideo
from .feedback import KeyframeRequests, is_keyframe_request, keyframe_request, nacked, remb
from .ims_video import ImsVideo
from .video_relay import VideoForwarder

__all__ = ["VideoPath"]


class VideoPath:
    """The two directions of a call's video; the legs' RTP and feedback callbacks point here."""

    def __init__(self, browser: BrowserVideo, ims: ImsVideo, max_bitrate: int,
                 on_ask_phone: Callable[[], None] = lambda: None) -> None:
        self.browser, self.ims = browser, ims
        self.on_ask_phone = on_ask_phone
        endpoint = ims.endpoint
        self.to_ims = VideoForwarder(source=browser.negotiated, target=ims.negotiated, out=endpoint.outbound,
                                     send=endpoint.send_rtp, on_new_source=lambda: self.ask_browser(),
                                     on_keyframe=lambda: self.browser_requests.keyframe_seen(),
                                     source_stats=browser.inbound)
        self.to_browser = VideoForwarder(source=ims.negotiated, target=browser.negotiated, out=browser.outbound,
                                         send=browser.send_rtp, on_new_source=lambda: self.ask_phone(),
                                         on_keyframe=lambda: self.phone_requests.keyframe_seen(),
                                         source_stats=endpoint.inbound)
        self.browser_requests = KeyframeRequests()  # towards the browser's camera
        self.phone_requests = KeyframeRequests()    # towards the phone's
        self.browser_bitrate = min(max_bitrate, ims.negotiated.max_bitrate or max_bitrate)
        browser.on_rtp, browser.on_feedback = self.to_ims.forward, self._from_browser
        endpoint.on_rtp, endpoint.rtcp.on_feedback = self.to_browser.forward, self._from_phone

    @property
    def browser_sends_unrelayable(self) -> bool:
        """The browser's chosen format has no way to the phone: it must renegotiate (our next answer
        puts the phone's format first)."""
        return self.browser.negotiated.send[0].payload_type not in self.to_ims.routes

    def detach(self) -> None:
        self.browser.on_rtp = self.ims.endpoint.on_rtp = _ignore
        self.browser.on_feedback = self.ims.endpoint.rtcp.on_feedback = _ignore

    # --- keyframe requests ---------------------------------------------------------------------

    def ask_phone(self) -> None:
        source = self.to_browser.source_ssrc
        if source is None or not self.phone_requests.should_send(time.monotonic()):
            return
        endpoint = self.ims.endpoint
        request = keyframe_request(self.ims.negotiated.keyframe_request, endpoint.outbound.ssrc, source,
                                   self.phone_requests.fir_sequence)
        self.to_browser.waiting_for_keyframe = True
        endpoint.send_rtcp(endpoint.rtcp.compound(request))
        self.on_ask_phone()

    def ask_browser(self) -> None:
        source = self.to_ims.source_ssrc
        if source is None or not self.browser_requests.should_send(time.monotonic()):
            return
        request = keyframe_request("pli", self.browser.outbound.ssrc, source, self.browser_requests.fir_sequence)
        self.to_ims.waiting_for_keyframe = True
        self.browser.send_rtp(self.browser.rtcp.compound(request))

    # --- feedback from each leg ----------------------------------------------------------------

    def _from_browser(self, packet) -> None:
        if is_keyframe_request(packet, self.browser.outbound.ssrc):
            self.ask_phone()
        elif lost := nacked(packet, self.browser.outbound.ssrc):
            self.to_browser.retransmit(lost)

    def _from_phone(self, packet) -> None:
        if is_keyframe_request(packet, self.ims.endpoint.outbound.ssrc):
            self.ask_browser()
        elif lost := nacked(packet, self.ims.endpoint.outbound.ssrc):
            self.to_ims.retransmit(lost)

    # --- reports -------------------------------------------------------------------------------

    def send_reports(self, now: float) -> None:
        """RTCP on both legs' video when due; REMB rides with every report to the browser, and once a
        second besides, so a browser that starts fast is capped at once."""
        source = self.to_ims.source_ssrc
        cap = remb(self.browser.outbound.ssrc, self.browser_bitrate, [source]) if source is not None else b""
        if self.browser.rtcp.due(now):
            self.browser.send_rtcp_report(cap)
        elif cap:
            self.browser.send_rtp(self.browser.rtcp.compound(cap))
        if self.ims.endpoint.rtcp.due(now):
            self.ims.endpoint.send_rtcp_report()


def _ignore(*args) -> None:
    pass
