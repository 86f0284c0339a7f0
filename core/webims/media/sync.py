"""Lip sync across the bridge: the senders' own clocks, as their RTCP sender reports state them.

A sender's SR says which RTP timestamp of a stream belongs to which instant of its wallclock (RFC 3550
§6.4.1), and its audio and video share that wallclock: that is how a receiver plays them in sync. The
gateway rewrites each stream's timestamps and SSRC, so on the other leg it must say the same thing in its
own SRs (§7.2: a translator that changes timing sends its own reports). It carries each source SR across:
the source's mapping, moved onto our wallclock, shifted by the forwarder's timestamp offset. One offset
between a leg's peer's wallclock and ours (:class:`PeerClock`) serves all the streams from that peer, so
whatever its error, audio and video keep the relation the source gave them.

Until a stream's first SR has come (and for transcoded audio, whose timeline is ours), our SRs map our
timestamps to when the packets reached us (:meth:`~webims.media.rtp.OutboundStream.timestamp_now`).
"""

from __future__ import annotations

import attrs
from aiortc import clock

__all__ = ["PeerClock", "SenderReport", "mapped_timestamp", "ntp_now"]

_NTP_UNIT = float(1 << 32)
_TS_MOD = 1 << 32


def ntp_now() -> float:
    """Our wallclock now, in seconds since the NTP epoch (as our SRs state it)."""
    return clock.current_ntp_time() / _NTP_UNIT


class PeerClock:
    """One leg's peer's wallclock against ours: fixed by its first SR, then the same for all its streams."""

    def __init__(self) -> None:
        self._offset: float | None = None

    def ours(self, ntp_timestamp: int, now: float) -> float:
        """The instant of an SR's 64-bit NTP timestamp on our wallclock (``now``: ours as it arrived)."""
        theirs = ntp_timestamp / _NTP_UNIT
        if self._offset is None:
            self._offset = now - theirs
        return theirs + self._offset


@attrs.frozen
class SenderReport:
    """A source's last SR, on our wallclock: RTP timestamp ``rtp`` of stream ``ssrc`` was instant ``at``."""

    ssrc: int
    at: float
    rtp: int


def mapped_timestamp(report: SenderReport | None, source_ssrc: int | None, now: float, clock_rate: int,
                     offset: int) -> int | None:
    """Our timestamp for the instant ``now`` by ``report`` of the stream we relay (``source_ssrc``), shifted
    by the forwarder's ``offset``; None when there is no report from that source."""
    if report is None or report.ssrc != source_ssrc:
        return None
    return (report.rtp + round((now - report.at) * clock_rate) + offset) % _TS_MOD
