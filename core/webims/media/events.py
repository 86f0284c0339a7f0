"""What a bridge reports to the call layer, one small immutable class per fact.

They cross from the media loop (a thread or a worker process) to trio, so they are plain
picklable values. ``Leg`` names the side a fact is about.
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["Leg", "MediaMode", "DtmfReceived", "IceStateChanged", "MediaTimeout", "CodecChosen",
           "VideoChanged", "NegotiationNeeded", "KeyframeNeeded", "MediaEvent"]


class Leg(enum.StrEnum):
    BROWSER = "browser"
    IMS = "ims"

    @property
    def other(self) -> Leg:
        return Leg.IMS if self is Leg.BROWSER else Leg.BROWSER


class MediaMode(enum.StrEnum):
    RELAY = "relay"          # both legs share a codec: RTP payloads cross untouched
    TRANSCODE = "transcode"  # decode one leg's codec, encode the other's


@attrs.frozen
class DtmfReceived:
    """An RFC 4733 event ended on ``leg`` (reported once, on its first end packet)."""

    digit: str
    leg: Leg
    duration_ms: int


@attrs.frozen
class IceStateChanged:
    """The browser leg's ICE state: new, checking, completed, failed or closed (aiortc's names)."""

    state: str


@attrs.frozen
class MediaTimeout:
    """Nothing (RTP or RTCP) came from ``leg`` for ``seconds``; reported once until media returns."""

    leg: Leg
    seconds: float


@attrs.frozen
class CodecChosen:
    """Both legs are negotiated: what each carries and whether the bridge relays or transcodes."""

    mode: MediaMode
    browser_codec: str
    ims_codec: str


@attrs.frozen
class VideoChanged:
    """What the call's video does now (sent whenever it changes).

    ``codec`` is the format relayed, or offered by a ringing phone ("VP8", "H.264"); None when the
    call has no video. ``to_browser``/``to_ims`` say which ways it flows. ``reason`` says, for a
    person, why video is off or one-way when that is not simply what someone chose. ``reoffer`` asks
    the browser for a new offer: it sends a format the phone cannot take, and our answer will put the
    phone's first (video is relayed, never transcoded).
    """

    codec: str | None
    to_browser: bool = False
    to_ims: bool = False
    reason: str = ""
    reoffer: bool = False


@attrs.frozen
class NegotiationNeeded:
    """The IMS side needs a new offer from us (the browser turned its camera on or off, or added or
    removed video): send :meth:`~webims.media.engine.Bridge.ims_offer` in a re-INVITE."""


@attrs.frozen
class KeyframeNeeded:
    """The bridge has just asked the phone for a keyframe over RTCP (a PLI or FIR from the browser, a new or
    resumed stream towards her), and this phone takes such requests as SIP INFO as well: send it an in-dialog
    INFO with RFC 5168 ``picture_fast_update`` (:mod:`webims.sip.media_control`).

    Raised only when the call's ``keyframe_request_info`` says so ("always", or "auto" once the phone has
    asked us that way, :meth:`~webims.media.engine.Bridge.accept_ims_keyframe_request`), and coalesced like
    the RTCP request it goes with: at most one until the keyframe passes or 300 ms have gone."""


MediaEvent = (DtmfReceived | IceStateChanged | MediaTimeout | CodecChosen | VideoChanged | NegotiationNeeded
              | KeyframeNeeded)
