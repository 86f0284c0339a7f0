"""The media engine's settings, validated at construction."""

from __future__ import annotations

import ipaddress

import attrs

__all__ = ["MediaConfig"]

_KNOWN_CODECS = ("opus", "PCMU", "PCMA")
EVENT_LOOPS = ("uvloop", "asyncio")


def _check_codecs(_instance, attribute, value) -> None:
    unknown = [name for name in value if name not in _KNOWN_CODECS]
    if unknown or not value:
        raise ValueError(f"{attribute.name} must list some of {', '.join(_KNOWN_CODECS)}, got {value!r}")


def _check_addresses(_instance, attribute, value) -> None:
    for address in value:
        ipaddress.ip_address(address)


def _check_port_range(_instance, _attribute, value) -> None:
    low, high = value
    if not (1024 <= low < high <= 65535) or high - low < 3:
        raise ValueError(f"ims_port_range must be two ports 1024..65535 at least 4 apart, got {value!r}")


@attrs.frozen
class MediaConfig:
    """How the gateway's media engine runs.

    IMS leg (plain RTP/AVP):
      ``ims_address`` is bound and written in our SDP ``c=`` line unless ``ims_advertised_address``
      is given (a NAT in front of the gateway); RTP/RTCP port pairs come from ``ims_port_range``.
    Browser leg (WebRTC):
      ``browser_addresses`` are the addresses offered as ICE host candidates; empty means every
      address aioice finds (which never includes 127.0.0.1, see docs/media.md).
      ``ice_servers`` are STUN/TURN URLs (none by default: a gateway has a reachable address, and
      aiortc's default public STUN server is not contacted). ``ice_gathering_timeout`` bounds the
      wait for our own candidates. mDNS (``.local``) candidates from browsers are dropped unless
      ``resolve_mdns`` is set, since a gateway is almost never on the browser's link.
    Codecs:
      ``browser_codecs`` is our preference when answering a browser (the browser then sends the
      first); ``ims_codecs`` orders the rest of an IMS offer after the browser leg's codec, so
      that a phone which supports it lets the bridge relay instead of transcoding.
    Scale-out:
      ``workers`` = 0 runs the media loop in a thread of the gateway process; N > 0 runs N worker
      processes, each with its own asyncio loop, and spreads calls over them. ``event_loop`` is that
      loop: ``uvloop`` (default; its C loop wakes for a packet at about two thirds of the cost, which
      is what a lightly loaded gateway spends most on, docs/media.md) or the standard ``asyncio`` one.
    """

    ims_address: str = attrs.field(default="127.0.0.1", validator=lambda i, a, v: ipaddress.ip_address(v))
    ims_advertised_address: str | None = None
    ims_port_range: tuple[int, int] = attrs.field(default=(30000, 39999), converter=tuple, validator=_check_port_range)
    browser_addresses: tuple[str, ...] = attrs.field(default=(), converter=tuple, validator=_check_addresses)
    ice_servers: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    ice_gathering_timeout: float = 5.0
    resolve_mdns: bool = False
    browser_codecs: tuple[str, ...] = attrs.field(default=("opus", "PCMU", "PCMA"), converter=tuple,
                                                  validator=_check_codecs)
    ims_codecs: tuple[str, ...] = attrs.field(default=("PCMU", "PCMA", "opus"), converter=tuple,
                                              validator=_check_codecs)
    ptime: int = attrs.field(default=20, validator=lambda i, a, v: v in (10, 20, 30, 40, 60) or _bad_ptime(v))
    media_timeout: float = 30.0
    workers: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    event_loop: str = attrs.field(default="uvloop", validator=attrs.validators.in_(EVENT_LOOPS))
    events_buffer: int = 256

    @property
    def ims_sdp_address(self) -> str:
        return self.ims_advertised_address or self.ims_address


def _bad_ptime(value: int) -> bool:
    raise ValueError(f"ptime must be 10, 20, 30, 40 or 60 ms, got {value!r}")
