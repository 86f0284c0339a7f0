"""The IMS leg: plain RTP/AVP to a native IMS phone, one SDP session with an audio m-line and, when
the call has video, a video m-line (:mod:`.ims_video`), each on its own RTP/RTCP port pair
(:mod:`.rtp_endpoint`: ports, symmetric RTP and latching, RTCP).

- SDP: built and read with :mod:`webims.sip.sdp` and :mod:`webims.sip.offer_answer`. Every offer
  keeps the m-lines of the session so far in their order (RFC 3264 §8): a stream is removed by
  port zero, never by leaving its line out; lines we cannot carry stay declined.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from webims.sip.errors import RemoteProtocolError
from webims.sip.offer_answer import (SdpSession, answer_media, common_codecs, explain_failure, is_hold_offer,
                                     reject_media)
from webims.sip.sdp import Attribute, Codec, Direction, MediaDescription, SessionDescription

from .codecs import Negotiated, display_name, ims_payload_type, is_telephone_event, telephone_event
from .config import MediaConfig
from .errors import MediaError
from .ims_video import ImsVideo
from .rtp_endpoint import RtpEndpoint
from .video_codecs import VIDEO_CLOCK, VideoPolicy

__all__ = ["ImsLeg"]


class ImsLeg:
    """One call's SDP session towards the IMS and the port pairs it names."""

    def __init__(self, config: MediaConfig, audio: RtpEndpoint) -> None:
        self.config = config
        self.audio = audio
        self.video: ImsVideo | None = None
        self.sdp = SdpSession(config.ims_sdp_address)
        self.negotiated: Negotiated | None = None
        self.remote_direction = Direction.SENDRECV
        self.local_direction = Direction.SENDRECV
        self.remote_held = False
        self.ptime = config.ptime
        self._offered: tuple[Codec, ...] = ()
        # The session's m-lines in order: "audio", "video", or a line we declined (kept as it is).
        self._lines: tuple[str | MediaDescription, ...] = ()

    # --- lifetime ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, config: MediaConfig) -> ImsLeg:
        return cls(config, await RtpEndpoint.open(config, 8000))

    async def open_video(self, policy: VideoPolicy) -> ImsVideo:
        """The video m-line's state, binding its port pair the first time."""
        if self.video is None:
            endpoint = await RtpEndpoint.open(self.config, VIDEO_CLOCK)
            # One source to the phone: one CNAME and, for its SRs, one wallclock (RFC 3550 §6.5.1, sync.py).
            endpoint.rtcp.cname = self.audio.rtcp.cname
            endpoint.inbound.peer_clock = self.audio.inbound.peer_clock
            self.video = ImsVideo(endpoint, policy)
        return self.video

    def close(self) -> None:
        self.audio.close()
        if self.video is not None:
            self.video.close()

    # --- SDP --------------------------------------------------------------------------------

    def make_offer(self, codecs: Sequence[Codec], video_first: Codec | None = None) -> str:
        """Our offer (or re-offer): ``codecs`` in preference order, telephone-event for each rate, and
        the video line when the call has or wants video (``video_first``: the browser's format)."""
        rates = dict.fromkeys(c.clock_rate for c in codecs)
        offered = [attrs.evolve(c, payload_type=ims_payload_type(c)) for c in codecs]
        offered += [telephone_event(rate, ims_payload_type(telephone_event(rate))) for rate in rates]
        self._offered = tuple(offered)
        attributes = [Attribute("rtpmap", c.rtpmap_value()) for c in offered]
        attributes += [Attribute("fmtp", f"{c.payload_type} {c.fmtp}") for c in offered if c.fmtp]
        attributes += [Attribute("ptime", str(self.config.ptime)), Attribute(str(self.local_direction))]
        audio = MediaDescription("audio", self.audio.port, "RTP/AVP", tuple(str(c.payload_type) for c in offered),
                                 attributes=tuple(attributes))
        video = None
        if self.video is not None and (self.has_video_line or self.video.local_direction is not Direction.INACTIVE):
            video = self.video.offer(video_first)
        lines = list(self._lines or ("audio",))
        if video is not None and "video" not in lines:
            lines.append("video")
        self._lines = tuple(lines)
        return str(self.sdp.describe([audio if line == "audio" else video if line == "video" else line
                                      for line in lines]))

    def accept_answer(self, text: str | bytes) -> Negotiated:
        """Apply the phone's answer to our last offer (RFC 3264 §6)."""
        answer = _parse(text)
        media = _first(answer, "audio")
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
        if self.video is not None and "video" in self._lines:
            self.video.read_answer(answer, _first(answer, "video"))
        return negotiated

    def accept_offer(self, text: str | bytes, preference: Sequence[Codec],
                     video_first: Codec | None = None) -> tuple[str, Negotiated]:
        """Answer the phone's offer (a new call or a re-INVITE): our SDP and what was chosen. Its video
        line is answered by :attr:`video` (which the caller opened), else declined."""
        offer = _parse(text)
        media = _first(offer, "audio")
        supported = [*preference, telephone_event(8000), telephone_event(48000)]
        if media is None or not common_codecs(media.codecs, supported):
            reason = explain_failure(offer, {"audio": preference}) if media else ""
            raise MediaError((reason or "The other phone's offer has no audio stream") + ".")
        offered_direction = offer.media_direction(media)
        answer = answer_media(media, supported, direction_wanted=self.local_direction, port=self.audio.port,
                              offered_direction=offered_direction)
        answer = attrs.evolve(answer, attributes=(*answer.attributes, Attribute("ptime", str(self.config.ptime))))
        negotiated = Negotiated.choose(answer.codecs, answer.codecs)
        self._apply(offer, media, negotiated)
        video = _first(offer, "video")
        sections, lines = [], []
        for line in offer.media:
            if line is media:
                sections.append(answer)
                lines.append("audio")
            elif line is video and self.video is not None:
                sections.append(self.video.answer(offer, line, video_first))
                lines.append("video")
            else:
                sections.append(reject_media(line))
                lines.append(sections[-1])
        self._lines = tuple(lines)
        if video is None and self.video is not None:
            self.video.decline()  # a re-offer that left the line out (RFC 3264 §8 forbids it): no video
        return str(self.sdp.describe(sections)), negotiated

    def _apply(self, sdp: SessionDescription, media: MediaDescription, negotiated: Negotiated) -> None:
        self.negotiated = negotiated
        self.remote_direction = sdp.media_direction(media)
        self.remote_held = is_hold_offer(sdp, media)
        self.ptime = media.ptime or self.config.ptime
        self.audio.outbound.clock_rate = self.audio.inbound.clock_rate = negotiated.audio.clock_rate
        connection = sdp.media_connection(media)
        held = connection is None or connection.is_hold_address
        self.audio.describe_peer(None if held else connection.address, media, negotiated.receive)

    @property
    def has_video_line(self) -> bool:
        """Whether the session has a video m-line (in use or removed): our offers must keep it."""
        return "video" in self._lines

    @property
    def sends_to_peer(self) -> bool:
        return self.local_direction.sends and self.remote_direction.receives and not self.remote_held

    @property
    def last_received(self) -> float | None:
        return self.audio.last_received


def _parse(text: str | bytes) -> SessionDescription:
    try:
        return SessionDescription.parse(text)
    except RemoteProtocolError as exc:
        raise MediaError(f"The other phone sent an unreadable SDP: {exc.reason}.") from None


def _first(sdp: SessionDescription, kind: str) -> MediaDescription | None:
    return next((m for m in sdp.media if m.media == kind and m.is_rtp), None)


def _names(codecs) -> str:
    names = list(dict.fromkeys(display_name(c) for c in codecs))
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
