"""The video service's hooks: video added to calls (``webims_call_media``), its settings, its page module, and the
browser's renegotiation of a call's video (docs/video.md).

The voice service owns calls: their SIP dialogs and media bridges. This plugin only says what video calls may
carry; the voice service asks every plugin at startup and passes the answer to each call's bridge. When the
browser turns its camera on or off it renegotiates here (``video.renegotiate``), on the call's own bridge; the
bridge then asks the voice service for a re-INVITE (``NegotiationNeeded``).
"""

from __future__ import annotations

from pathlib import Path

import webims_video
from webims import log
from webims.config import Setting, in_range, one_of
from webims.errors import ServiceError
from webims.hookspecs import hookimpl
from webims.media import MediaError
from webims.service import KEYFRAME_REQUEST_INFO, CallMedia, Capabilities, FeatureTag, PortalAssets, Service
from webims.sip.feature_tags import MMTEL

STATIC = Path(__file__).parent / "static"
MESSAGES = {"video.settings", "video.renegotiate"}
CODECS = ("VP8", "H264")
_log = log.get("video")


def _known_codecs(value) -> str | None:
    if not value or any(not isinstance(name, str) or name.upper() not in CODECS for name in value):
        return "must list VP8 and/or H264 (the formats this gateway relays without transcoding)"
    return None


class VideoPlugin:
    def __init__(self) -> None:
        self.media: CallMedia | None = None

    @hookimpl
    def webims_service(self):
        return Service(name="video", version=webims_video.__version__, summary="Video in calls with IMS phones",
                       messages=MESSAGES)

    @hookimpl
    def webims_settings_schema(self):
        return {
            "codecs": Setting(list, list(CODECS), "video formats in order of preference", _known_codecs),
            "max_width": Setting(int, 1280, "widest picture asked of cameras and offered, pixels", in_range(160, 1920)),
            "max_height": Setting(int, 720, "tallest picture, pixels", in_range(120, 1080)),
            "max_framerate": Setting(int, 30, "frames per second at most", in_range(5, 60)),
            "max_bitrate": Setting(int, 2500, "kbit/s each way at most (b=AS/b=TIAS, REMB)", in_range(64, 20000)),
            "keyframe_request_info": Setting(str, "auto", "ask phones for keyframes by SIP INFO (RFC 5168) as well as "
                                             "RTCP: auto (once the phone has), always, never",
                                             one_of(*KEYFRAME_REQUEST_INFO)),
        }

    @hookimpl
    def webims_call_media(self, settings):
        self.media = CallMedia("video", tuple(name.upper() for name in settings["codecs"]),
                               max_bitrate=settings["max_bitrate"], max_width=settings["max_width"],
                               max_height=settings["max_height"], max_framerate=settings["max_framerate"],
                               keyframe_request_info=settings["keyframe_request_info"])
        return self.media

    @hookimpl
    def webims_capabilities(self):
        # GSMA IR.94 / RFC 3840: a video-capable MMTel client says "video" beside the MMTel ICSI.
        return Capabilities([FeatureTag("+g.3gpp.icsi-ref", MMTEL), FeatureTag("video")])

    @hookimpl
    def webims_portal_assets(self):
        return PortalAssets(STATIC, modules=["video.js"], styles=["video.css"])

    @hookimpl
    async def webims_handle_message(self, request, session):
        if request.type == "video.settings":
            return self._limits()
        return await self._renegotiate(session, request.body)

    def _limits(self) -> dict:
        if self.media is None:  # no service carrying calls asked for video: the page keeps its camera off
            return {"enabled": False}
        media = self.media
        return {"enabled": True, "codecs": list(media.codecs), "max_width": media.max_width,
                "max_height": media.max_height, "max_framerate": media.max_framerate,
                "max_bitrate": media.max_bitrate}

    async def _renegotiate(self, session, body: dict) -> dict:
        """The browser's new offer for a call's video (camera on or off, a format the phone takes): our answer."""
        call = session.context.sessions.get(body.get("call")) if isinstance(body.get("call"), str) else None
        if getattr(call, "kind", None) != "call":
            raise ServiceError("no_such_call", "That call has already ended.")
        if call.state != "active":
            raise ServiceError("wrong_state", "Video can be changed once the call is answered.")
        sdp = body.get("sdp")
        if not isinstance(sdp, str) or not sdp.startswith("v=") or len(sdp) > 32768:
            raise ServiceError("bad_request", "The page sent no valid session description.")
        try:
            answer = await call.bridge.accept_browser_reoffer(sdp)
        except MediaError as error:
            raise ServiceError("media_failed", error.reason) from None
        _log.info("video.renegotiated", call=call.id, video=call.bridge.video.codec)
        return {"sdp": answer}
