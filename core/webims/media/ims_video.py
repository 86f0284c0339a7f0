"""The IMS leg's video: a second ``m=video`` line on its own RTP/RTCP port pair, RTP/AVP or RTP/AVPF.

What the gateway states there:

- formats from the :class:`~webims.media.video_codecs.VideoPolicy`, the browser's format first, with our
  receive limits (H.264 level, VP8 ``max-fs``/``max-fr``, RFC 7741 §6.1);
- ``b=AS`` and ``b=TIAS`` (RFC 8866 §5.8, RFC 3890): the most we receive;
- ``a=rtcp-fb`` ``nack``, ``nack pli`` and ``ccm fir`` (RFC 4585 §4.2, RFC 5104 §7.1). They are defined
  for RTP/AVPF, but phones act on them over RTP/AVP too (baresip does), and an AVP peer that does not
  simply ignores them (RFC 8866 §5.13); we answer in the profile the phone offered.

What the phone states is read into a :class:`~webims.media.video_codecs.VideoNegotiated`. A phone with
no format in common keeps its call, without video: the stream is declined (port zero, RFC 3264 §6)
and :attr:`ImsVideo.refusal` says why in words.
"""

from __future__ import annotations

import attrs

from webims.sip.offer_answer import IMS_RTP_PROFILES, answer_direction
from webims.sip.sdp import Attribute, Codec, Direction, MediaDescription, SessionDescription

from .rtp_endpoint import RtpEndpoint
from .video_codecs import VideoNegotiated, VideoPolicy, bandwidths, relays, video_display_name

__all__ = ["ImsVideo", "video_offer_fit"]

_FEEDBACK = ("nack", "nack pli", "ccm fir")


class ImsVideo:
    """The video m-line of one call's IMS leg and the port pair it names."""

    def __init__(self, endpoint: RtpEndpoint, policy: VideoPolicy) -> None:
        self.endpoint = endpoint
        self.policy = policy
        self.negotiated: VideoNegotiated | None = None
        self.local_direction = Direction.SENDRECV
        self.remote_direction = Direction.INACTIVE
        self.refusal = ""
        self._offered: tuple[Codec, ...] = ()
        self._profile = "RTP/AVP"

    @property
    def sends_to_peer(self) -> bool:
        return self.negotiated is not None and self.local_direction.sends and self.remote_direction.receives

    @property
    def receives_from_peer(self) -> bool:
        return self.negotiated is not None and self.local_direction.receives and self.remote_direction.sends

    def close(self) -> None:
        self.endpoint.close()

    # --- our offer and the phone's answer ------------------------------------------------------

    def offer(self, first: Codec | None) -> MediaDescription:
        """Our ``m=video`` for an offer; with nothing to send or receive it is removed: port zero, the
        line kept (RFC 3264 §8.2)."""
        offered = self.policy.ims_offer_codecs(first)
        self._offered = tuple(offered)
        if self.local_direction is Direction.INACTIVE:
            return MediaDescription("video", 0, self._profile, tuple(str(c.payload_type) for c in offered))
        return self._section(self.endpoint.port, self._profile, offered, self.local_direction)

    def read_answer(self, sdp: SessionDescription, media: MediaDescription | None) -> None:
        if self.local_direction is Direction.INACTIVE or media is None or media.is_rejected:
            removed_by_us = self.local_direction is Direction.INACTIVE
            self.decline("" if removed_by_us else "The other phone declined video.")
            return
        send = [c for c in media.codecs if any(relays(c, offered) for offered in self._offered)]
        if not send:
            self.decline(f"The other phone answered with {_names(media.codecs)} video, which this gateway "
                          "did not offer; it relays VP8 and H.264.")
            return
        receive = {c.payload_type: c for c in (*self._offered, *send)}
        self._apply(sdp, media, tuple(send), receive)

    # --- the phone's offer and our answer ----------------------------------------------------

    def answer(self, sdp: SessionDescription, media: MediaDescription, first: Codec | None) -> MediaDescription:
        """Our answer to the phone's ``m=video``: declined, with :attr:`refusal` set, if nothing fits."""
        fits = [c for c in media.codecs if self.policy.supports(c)]
        if first is not None:  # the browser's format first: then both directions relay
            fits.sort(key=lambda c: not relays(c, first))
        _, refusal = video_offer_fit(self.policy, media)
        if media.is_rejected or refusal:
            self.decline(refusal)
            return MediaDescription("video", 0, media.proto, media.formats)
        offered_direction = sdp.media_direction(media)
        self._profile = media.proto
        answered = [attrs.evolve(self.policy.ours(c), payload_type=c.payload_type) for c in fits]
        self._apply(sdp, media, tuple(answered), {c.payload_type: c for c in answered})
        return self._section(self.endpoint.port, media.proto, answered,
                             answer_direction(offered_direction, self.local_direction))

    # --- shared --------------------------------------------------------------------------------

    def _apply(self, sdp: SessionDescription, media: MediaDescription, send: tuple[Codec, ...],
               receive: dict) -> None:
        self.refusal = ""
        self.negotiated = VideoNegotiated(send, receive, _feedback(media, send[0]), _bitrate(sdp, media))
        self.remote_direction = sdp.media_direction(media)
        connection = sdp.media_connection(media)
        held = connection is None or connection.is_hold_address
        self.endpoint.describe_peer(None if held else connection.address, media, receive)

    def decline(self, reason: str = "") -> None:
        self.negotiated = None
        self.remote_direction = Direction.INACTIVE
        self.refusal = reason

    def _section(self, port: int, profile: str, codecs: list[Codec], direction: Direction) -> MediaDescription:
        attributes = [Attribute("rtpmap", c.rtpmap_value()) for c in codecs]
        attributes += [Attribute("fmtp", f"{c.payload_type} {c.fmtp}") for c in codecs if c.fmtp]
        attributes += [Attribute("rtcp-fb", f"* {kind}") for kind in _FEEDBACK]
        attributes.append(Attribute(str(direction)))
        return MediaDescription("video", port, profile, tuple(str(c.payload_type) for c in codecs),
                                bandwidths=bandwidths(self.policy.max_bitrate), attributes=tuple(attributes))


def _feedback(media: MediaDescription, codec: Codec) -> frozenset[str]:
    """RFC 4585 §4.2: ``a=rtcp-fb:<pt or *> <type> [<parameter>]`` lines that apply to ``codec``."""
    kinds = set()
    for value in media.attribute_values("rtcp-fb"):
        target, _, kind = value.partition(" ")
        if target in ("*", str(codec.payload_type)):
            kinds.add(" ".join(kind.split()).lower())
    return frozenset(kinds)


def _bitrate(sdp: SessionDescription, media: MediaDescription) -> int | None:
    """The most the phone receives, bit/s: TIAS (RFC 3890) first, then AS (kbit/s), media level first."""
    for level in (media.bandwidths, sdp.bandwidths):
        found = {b.type.upper(): b.value for b in level}
        if "TIAS" in found:
            return found["TIAS"]
        if "AS" in found:
            return found["AS"] * 1000
    return None


def _names(codecs) -> str:
    names = list(dict.fromkeys(video_display_name(c) for c in codecs)) or ["no"]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def video_offer_fit(policy: VideoPolicy, media: MediaDescription) -> tuple[Codec | None, str]:
    """The phone's first offered format we relay, or None and why not (for a person)."""
    if media.proto not in IMS_RTP_PROFILES:
        return None, f"The other phone wants video over {media.proto}, which this gateway does not offer."
    first = next((c for c in media.codecs if policy.supports(c)), None)
    if first is None:
        return None, f"The other phone offers only {_names(media.codecs)} video; this gateway relays VP8 and H.264."
    return first, ""
