"""The offer/answer model (RFC 3264) over :mod:`webims.sip.sdp`, shared by voice, video and IM.

Pure functions and one small owner, :class:`SdpSession`, that remembers our ``o=`` line across
a dialog. Nothing here knows about ports being open or codecs being loaded: the caller says
what it supports and gets back SDP, or words explaining why there is no common ground (the
user-visible reason of a 488).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence

import attrs

from .sdp import Attribute, Codec, Connection, Direction, MediaDescription, Origin
from .sdp import SessionDescription

__all__ = [
    "IMS_RTP_PROFILES",
    "SdpSession",
    "answer_direction",
    "answer_media",
    "common_codecs",
    "explain_failure",
    "explain_media_failure",
    "hold_direction",
    "is_hold_offer",
    "reject_media",
    "resume_direction",
    "sdp_unchanged",
]

# Plain RTP on the IMS access side (3GPP TS 24.229 uses RTP/AVP, RTP/AVPF with AVPF feedback).
IMS_RTP_PROFILES = frozenset({"RTP/AVP", "RTP/AVPF"})

# Formats that only make sense next to a real codec at the same clock rate (RFC 4733 §2.1
# for telephone-event, RFC 3389 §5 for comfort noise).
_COMPANION_ENCODINGS = frozenset({"telephone-event", "cn"})

# How codec names read in sentences shown to people.
_DISPLAY_NAMES = {"opus": "Opus", "telephone-event": "DTMF events (telephone-event)"}


def answer_direction(offered: Direction, wanted: Direction) -> Direction:
    """RFC 3264 §6.1: we may send only what they receive, and receive only what they send."""
    return Direction.from_flags(
        send=wanted.sends and offered.receives, recv=wanted.receives and offered.sends
    )


def hold_direction(current: Direction) -> Direction:
    """RFC 3264 §8.4: putting the peer on hold means we stop receiving (sendonly/inactive)."""
    return Direction.from_flags(send=current.sends, recv=False)


def resume_direction(current: Direction) -> Direction:
    """The inverse of :func:`hold_direction`: we receive again."""
    return Direction.from_flags(send=current.sends, recv=True)


def is_hold_offer(offer: SessionDescription, media: MediaDescription) -> bool:
    """Whether the peer's offer puts ``media`` on hold: it will not receive (RFC 3264 §8.4),
    or it uses RFC 2543's ``c=0.0.0.0``, which RFC 3264 §8.4 tells answerers to understand."""
    connection = offer.media_connection(media)
    held_by_address = connection is not None and connection.is_hold_address
    return held_by_address or not offer.media_direction(media).receives


def reject_media(offer_media: MediaDescription) -> MediaDescription:
    """RFC 3264 §6: a declined stream keeps its media type and formats, with port zero."""
    return MediaDescription(offer_media.media, 0, offer_media.proto, offer_media.formats)


def common_codecs(offered: Sequence[Codec], supported: Sequence[Codec]) -> tuple[Codec, ...]:
    """The offered codecs we support, in our order of preference, with the offerer's payload
    types (RFC 3264 §6.1). Companions (telephone-event, CN) come last and are kept only next
    to a chosen codec of the same clock rate. Our ``fmtp`` wins when we give one, since an
    answer's fmtp describes what the answerer receives."""
    chosen: dict[int | None, Codec] = {}
    for wanted in supported:
        for codec in offered:
            if codec.same_encoding(wanted) and codec.payload_type not in chosen:
                chosen[codec.payload_type] = attrs.evolve(codec, fmtp=wanted.fmtp or codec.fmtp)
    primaries = [c for c in chosen.values() if not _is_companion(c)]
    rates = {c.clock_rate for c in primaries}
    companions = [c for c in chosen.values() if _is_companion(c) and c.clock_rate in rates]
    return (*primaries, *companions) if primaries else ()


def answer_media(
    offer_media: MediaDescription,
    supported_codecs: Sequence[Codec],
    *,
    direction_wanted: Direction = Direction.SENDRECV,
    port: int,
    offered_direction: Direction | None = None,
    profiles: Collection[str] = IMS_RTP_PROFILES,
) -> MediaDescription:
    """Answer one offered RTP stream, or decline it (port zero) when there is no common codec
    or transport profile. ``offered_direction`` defaults to the stream's own attribute; pass
    ``offer.media_direction(media)`` when the offer sets direction at session level."""
    codecs = common_codecs(offer_media.codecs, supported_codecs)
    if offer_media.is_rejected or offer_media.proto not in profiles or not codecs:
        return reject_media(offer_media)
    offered = offered_direction or offer_media.direction or Direction.SENDRECV
    attributes = [Attribute("rtpmap", codec.rtpmap_value()) for codec in codecs]
    attributes += [Attribute("fmtp", f"{c.payload_type} {c.fmtp}") for c in codecs if c.fmtp]
    attributes.append(Attribute(str(answer_direction(offered, direction_wanted))))
    formats = tuple(str(codec.payload_type) for codec in codecs)
    return MediaDescription(
        offer_media.media, port, offer_media.proto, formats, attributes=tuple(attributes)
    )


def explain_failure(
    offer: SessionDescription,
    supported: Mapping[str, Sequence[Codec]],
    *,
    profiles: Collection[str] = IMS_RTP_PROFILES,
) -> str:
    """Why offered streams would be declined, in words for the user (the 488's reason);
    empty when every stream is acceptable.

    ``supported`` maps a media type ("audio", "video") to the codecs this gateway has for it.
    """
    offered = [m for m in offer.media if not m.is_rejected]
    if not offered:
        return "The other side's offer has no media streams to accept"
    reasons = []
    for media in offered:
        codecs = supported.get(media.media)
        if codecs is None:
            reasons.append(f"The other side offered {media.media}, which this gateway cannot carry")
        else:
            reasons.append(explain_media_failure(media, codecs, profiles=profiles))
    return "; ".join(dict.fromkeys(r for r in reasons if r))


def explain_media_failure(
    offer_media: MediaDescription,
    supported_codecs: Sequence[Codec],
    *,
    profiles: Collection[str] = IMS_RTP_PROFILES,
) -> str | None:
    """Why :func:`answer_media` would decline this stream, or None if it would accept it."""
    if offer_media.proto not in profiles:
        return _explain_profile(offer_media)
    if common_codecs(offer_media.codecs, supported_codecs):
        return None
    theirs = _codec_names(offer_media.codecs) or "no codec this gateway recognises"
    ours = _codec_names(supported_codecs)
    return f"The other side offered only {theirs}; this gateway supports {ours}"


def _explain_profile(offer_media: MediaDescription) -> str:
    proto = offer_media.proto
    if proto.endswith(("/SAVP", "/SAVPF")) and offer_media.crypto:
        need = "SRTP (SDES)"
    elif proto.startswith("UDP/TLS/RTP/"):
        need = "DTLS-SRTP"
    elif proto.endswith(("/SAVP", "/SAVPF")):
        need = "SRTP"
    else:
        need = f"the {proto} transport"
    return f"The other side requires {need}, which this gateway does not offer on the IMS side"


def _is_companion(codec: Codec) -> bool:
    return codec.encoding_name.lower() in _COMPANION_ENCODINGS


def _codec_names(codecs: Sequence[Codec]) -> str:
    primaries = [c for c in codecs if not _is_companion(c)] or list(codecs)
    names = (_DISPLAY_NAMES.get(c.encoding_name.lower(), c.encoding_name) for c in primaries)
    return _join_words(list(dict.fromkeys(names)))


def _join_words(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def sdp_unchanged(previous: SessionDescription, current: SessionDescription) -> bool:
    """RFC 3264 §8: an SDP whose ``o=`` line is identical to the previous one changes nothing
    (e.g. a session-timer refresh), so media need not be touched."""
    return previous.origin == current.origin


@attrs.define
class SdpSession:
    """Our side of one SDP session: the ``o=`` identity kept across every offer and answer
    in a dialog, with the version incremented only when the description changes (RFC 3264 §8).
    """

    address: str
    addrtype: str = "IP4"
    username: str = "-"
    session_id: str = attrs.field(factory=lambda: str(secrets.randbelow(10**12) + 1))
    version: int = 1
    _last_sent: SessionDescription | None = None

    def describe(
        self, media: Sequence[MediaDescription], *, attributes: Sequence[Attribute] = ()
    ) -> SessionDescription:
        """The SDP to send now; repeated calls with the same content keep the same version."""
        origin = Origin(
            self.username, self.session_id, self.version, self.address, "IN", self.addrtype
        )
        draft = SessionDescription(
            origin=origin,
            connection=Connection(self.address, "IN", self.addrtype),
            attributes=tuple(attributes),
            media=tuple(media),
        )
        if self._last_sent is not None and draft != self._last_sent:
            self.version += 1
            origin = attrs.evolve(origin, session_version=self.version)
            draft = attrs.evolve(draft, origin=origin)
        self._last_sent = draft
        return draft
