"""The video codecs the gateway relays, and what one leg negotiated for video.

Video is relayed, never transcoded: decoding and re-encoding 720p30 VP8 measured a third of a core per
call, about 30 times the relay (docs/video.md). Two legs relay when they carry the same format:

- VP8 (RFC 7741) with VP8;
- H.264 (RFC 6184) with H.264 of the same ``packetization-mode`` (§6: mode 0 sends only single NAL
  unit packets, mode 1 adds STAP-A and FU-A, which a mode-0 receiver cannot read) and both
  Constrained Baseline, the profile every WebRTC browser and MTSI phone (3GPP TS 26.114 §5.2.2)
  has. Levels may differ (each side states the level it receives in ``profile-level-id``): ours
  follows the picture limits the operator set.

Codecs are :class:`webims.sip.sdp.Codec` values, as for audio; :func:`relays` is the one test.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from aiortc.sdp import H264Profile, parse_h264_profile_level_id

from webims.service import CallMedia
from webims.sip.sdp import Bandwidth, Codec

from .errors import MediaError

__all__ = ["VIDEO_CLOCK", "VIDEO_CODECS", "VideoNegotiated", "VideoPolicy", "relays", "h264_level",
           "bandwidths", "is_keyframe", "video_display_name"]

VIDEO_CLOCK = 90000  # RFC 7741 §6.1, RFC 6184 §8.1: always 90 kHz
VIDEO_CODECS = ("VP8", "H264")
# Payload types in our IMS offers (dynamic; one m-line's numbering is independent of the audio's).
_IMS_PAYLOAD_TYPES = {("vp8", None): 96, ("h264", 1): 97, ("h264", 0): 98}
# H.264 Table A-1: (level_idc, max macroblocks per second, max frame size in macroblocks).
_H264_LEVELS = ((10, 1485, 99), (11, 3000, 396), (12, 6000, 396), (13, 11880, 396), (20, 11880, 396),
                (21, 19800, 792), (22, 20250, 1620), (30, 40500, 1620), (31, 108000, 3600),
                (32, 216000, 5120), (40, 245760, 8192), (42, 522240, 8704), (50, 589824, 22080),
                (51, 983040, 36864))
_CONSTRAINED_BASELINE = "42e0"  # profile_idc 66 with constraint_set1 (RFC 6184 §8.1, table 5)
_RTP_OVERHEAD = 1.05  # b=AS counts IP/UDP/RTP headers too (RFC 3890 §6.2): ~5 % at video packet sizes


def _fmtp_params(codec: Codec) -> dict[str, str]:
    """``a=fmtp`` parameters as a dict (RFC 6184 §8.1: ``key=value`` separated by ``;``)."""
    params = {}
    for item in (codec.fmtp or "").split(";"):
        key, _, value = item.strip().partition("=")
        if key:
            params[key.lower()] = value.strip()
    return params


def packetization_mode(codec: Codec) -> int:
    mode = _fmtp_params(codec).get("packetization-mode", "0")  # RFC 6184 §8.1: absent means 0
    return int(mode) if mode.isdigit() else -1


def _is_constrained_baseline(codec: Codec) -> bool:
    # Absent profile-level-id is read as Constrained Baseline 3.1, as WebRTC does for compatibility
    # (RFC 6184 §8.1 would say Baseline 1.0, which no current phone means).
    try:
        profile, _ = parse_h264_profile_level_id(_fmtp_params(codec).get("profile-level-id", "42e01f"))
    except ValueError:
        return False
    return profile is H264Profile.PROFILE_CONSTRAINED_BASELINE


def relays(a: Codec, b: Codec) -> bool:
    """Whether packets of ``a`` can be relayed untouched to a receiver of ``b``."""
    if not a.same_encoding(b):
        return False
    if a.encoding_name.lower() != "h264":
        return True
    return (packetization_mode(a) == packetization_mode(b) in (0, 1)
            and _is_constrained_baseline(a) and _is_constrained_baseline(b))


def h264_level(width: int, height: int, framerate: int) -> int:
    """The lowest H.264 level (``level_idc``) that decodes ``width``×``height`` at ``framerate``."""
    frame = -(-width // 16) * -(-height // 16)
    for level, per_second, per_frame in _H264_LEVELS:
        if frame <= per_frame and frame * framerate <= per_second:
            return level
    return _H264_LEVELS[-1][0]


def bandwidths(max_bitrate: int) -> tuple[Bandwidth, Bandwidth]:
    """``b=AS`` (kbit/s, with headers) and ``b=TIAS`` (RFC 3890, bit/s, without) for a stream of
    ``max_bitrate`` bit/s: AS for older peers, TIAS for those that read it."""
    return Bandwidth("AS", int(max_bitrate * _RTP_OVERHEAD) // 1000), Bandwidth("TIAS", max_bitrate)


_DISPLAY_NAMES = {"h261": "H.261", "h263": "H.263", "h263-1998": "H.263", "h263-2000": "H.263", "h264": "H.264",
                  "h265": "H.265"}


def video_display_name(codec: Codec) -> str:
    return _DISPLAY_NAMES.get(codec.encoding_name.lower(), codec.encoding_name.upper())


@attrs.frozen
class VideoPolicy:
    """What the gateway offers and accepts for video, from the :class:`~webims.service.CallMedia` a plugin
    contributed: codecs in preference order with our receive limits in their fmtp, and a bitrate cap."""

    codecs: tuple[Codec, ...]
    max_bitrate: int  # bit/s

    @classmethod
    def from_call_media(cls, media: CallMedia) -> VideoPolicy:
        unknown = [name for name in media.codecs if name.upper() not in VIDEO_CODECS]
        if unknown:
            raise MediaError(f"This gateway relays VP8 and H.264 video; it cannot carry {', '.join(unknown)}.")
        level = h264_level(media.max_width, media.max_height, media.max_framerate)
        frame_size = -(-media.max_width // 16) * -(-media.max_height // 16)
        codecs: list[Codec] = []
        for name in dict.fromkeys(n.upper() for n in media.codecs):
            if name == "VP8":  # RFC 7741 §6.1: max-fr in frames/s, max-fs in macroblocks
                codecs.append(Codec("VP8", VIDEO_CLOCK, fmtp=f"max-fr={media.max_framerate};max-fs={frame_size}"))
            else:  # mode 1 first: Chrome sends mode 1 unless a phone can only take mode 0
                codecs += [Codec("H264", VIDEO_CLOCK, fmtp=_h264_fmtp(level, mode)) for mode in (1, 0)]
        return cls(tuple(codecs), media.max_bitrate * 1000)

    def supports(self, codec: Codec) -> bool:
        return any(relays(codec, ours) for ours in self.codecs)

    def ours(self, codec: Codec) -> Codec:
        """Our entry for ``codec``'s format, with our receive limits in its fmtp."""
        return next(c for c in self.codecs if relays(codec, c))

    def ims_offer_codecs(self, first: Codec | None) -> list[Codec]:
        """Codecs for an IMS offer: ``first`` (the browser's) ahead of ours, with our payload types."""
        ordered = [self.ours(first)] if first is not None and self.supports(first) else []
        ordered += [c for c in self.codecs if c not in ordered]
        return [attrs.evolve(c, payload_type=ims_payload_type(c)) for c in ordered]


def _h264_fmtp(level: int, mode: int) -> str:
    return f"profile-level-id={_CONSTRAINED_BASELINE}{level:02x};packetization-mode={mode}"


def ims_payload_type(codec: Codec) -> int:
    mode = packetization_mode(codec) if codec.encoding_name.lower() == "h264" else None
    return _IMS_PAYLOAD_TYPES[(codec.encoding_name.lower(), mode)]


@attrs.frozen
class VideoNegotiated:
    """What one leg carries for video after offer/answer.

    ``send`` lists the formats the peer receives, with the payload types it expects (RFC 3264 §6.1),
    the one it sends itself first; ``receive`` maps every payload type the peer may send us to its
    format; ``feedback`` holds the RTCP feedback the peer understands (``nack``, ``nack pli``,
    ``ccm fir``, ``goog-remb``; RFC 4585 §4.2, RFC 5104 §7.1); ``max_bitrate`` is what the peer said
    it receives at most (``b=TIAS``/``b=AS``, bit/s), or None.
    """

    send: tuple[Codec, ...]
    receive: Mapping[int, Codec]
    feedback: frozenset[str] = frozenset()
    max_bitrate: int | None = None

    @property
    def keyframe_request(self) -> str:
        """How to ask this peer for a keyframe: FIR when it said ``ccm fir``, else PLI (RFC 5104 §4.3.1.2
        prefers FIR for a decoder refresh; PLI is what RTP/AVP phones and browsers act on)."""
        return "fir" if "ccm fir" in self.feedback and "nack pli" not in self.feedback else "pli"


def is_keyframe(encoding: str, payload: bytes) -> bool:
    """Whether this packet starts a keyframe: RFC 7741 §4.3 (VP8 P bit in the first partition's first
    packet) or RFC 6184 §5 (an SPS or IDR NAL unit, alone, first in a STAP-A, or starting an FU-A)."""
    if not payload:
        return False
    if encoding == "vp8":
        return _vp8_keyframe(payload)
    nal_type = payload[0] & 0x1F
    if nal_type == 24 and len(payload) > 3:    # STAP-A: 16-bit size, then the first NAL header
        nal_type = payload[3] & 0x1F
    elif nal_type == 28 and len(payload) > 1:  # FU-A: the FU header's start bit and type
        nal_type = payload[1] & 0x1F if payload[1] & 0x80 else 0
    return nal_type in (5, 7)


def _vp8_keyframe(payload: bytes) -> bool:
    first = payload[0]
    if not first & 0x10 or first & 0x0F:  # S bit and partition index 0 (RFC 7741 §4.2)
        return False
    offset = 1
    if first & 0x80:  # X: extension bits I L T K, then their fields
        extension = payload[offset] if len(payload) > offset else 0
        offset += 1
        if extension & 0x80:
            offset += 2 if len(payload) > offset and payload[offset] & 0x80 else 1
        offset += bool(extension & 0x40) + bool(extension & 0x30)
    return len(payload) > offset and not payload[offset] & 0x01
