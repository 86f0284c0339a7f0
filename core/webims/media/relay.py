"""One direction of a call's media: packets from one leg, rewritten for the other.

The gateway is an RTP translator in RFC 3550 §7's sense that also changes SSRCs: each leg sees
one continuous stream from the gateway (its own SSRC, sequence numbers and timeline, see
:class:`~webims.media.rtp.OutboundStream`) whatever happens on the other leg: a reloaded tab
with a new SSRC, a hold, digits we injected. When the source changes the mapping is re-based and
the marker bit set (RFC 3551 §4.1), so the receiver re-syncs its jitter buffer at once.

Per packet, a relay only rewrites the 12-byte header and remaps the payload type; the payload is
not touched. Only when the legs have no codec in common does a :class:`Transcoder` sit in the path.
RFC 4733 events always cross as events, their durations rescaled if the clocks differ.
"""

from __future__ import annotations

from collections.abc import Callable

from .codecs import Negotiated, is_telephone_event
from .dtmf import scale_duration
from .rtp import InboundStats, OutboundStream
from .sync import mapped_timestamp
from .transcode import Transcoder

__all__ = ["Forwarder", "Direction"]

_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32
_AUDIO, _EVENT = 0, 1


class Direction:
    """What a call's forwarders share (audio here, video in video_relay.py): the stream we send on the target
    leg (``out``, ``send``), the source we relay and the offsets from its numbering to ours, a gate that
    re-bases when it opens again, and our SRs' timing taken from the source's own (sync.py)."""

    def __init__(self, out: OutboundStream, send: Callable[[bytes], None], clock_rate: int,
                 source_stats: InboundStats | None) -> None:
        self.out = out
        self.send = send
        self.clock_rate = clock_rate  # the source's
        self.source_ssrc: int | None = None
        self._seq_offset = self._ts_offset = 0
        self._enabled = True
        self._source_stats = source_stats
        out.timestamp_at = self.timestamp_at

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if value and not self._enabled:
            self.resync()
        self._enabled = value

    def resync(self) -> None:
        """Re-base on the next packet: after a pause, a new source leg, or packets we sent ourselves."""
        self.source_ssrc = None

    def timestamp_at(self, now: float) -> int | None:
        """Our timestamp for instant ``now`` by the source's last SR (sync.py); None if it sent none."""
        if self._source_stats is None:
            return None
        return mapped_timestamp(self._source_stats.sender_report, self.source_ssrc, now, self.clock_rate,
                                self._ts_offset)

    def _rebase(self, ssrc: int, seq: int, timestamp: int) -> None:
        """A new source: our stream goes on where it is, numbered and timed from now."""
        self.source_ssrc = ssrc
        self._seq_offset = (self.out.next_seq - seq) % _SEQ_MOD
        self._ts_offset = (self.out.timestamp_now() - timestamp) % _TS_MOD


class Forwarder(Direction):
    """Packets from ``source`` to ``target``; ``forward`` is the leg's RTP callback."""

    def __init__(self, *, source: Negotiated, target: Negotiated, out: OutboundStream,
                 send: Callable[[bytes], None], on_event: Callable[[int, bytes], None],
                 transcoder: Transcoder | None = None, source_stats: InboundStats | None = None) -> None:
        super().__init__(out, send, source.audio.clock_rate, source_stats)
        self.on_event = on_event
        self.transcoder = transcoder
        self._num, self._den = target.audio.clock_rate, source.audio.clock_rate
        self._routes = _routes(source, target, transcoder)
        self._last_in_ts = self._mapped_ts = 0
        self.forwarded = 0
        self.dropped = 0

    def forward(self, payload_type: int, marker: int, seq: int, timestamp: int, ssrc: int,
                payload: bytes) -> None:
        route = self._routes.get(payload_type)
        if route is None:
            self.dropped += 1  # a format the other leg did not agree to (CN, RED...)
            return
        kind, out_type, scale = route
        if kind == _EVENT:
            self.on_event(timestamp, payload)
        if not self._enabled:
            return
        if ssrc != self.source_ssrc:
            self._rebase(ssrc, seq, timestamp)
            marker |= kind == _AUDIO
        if kind == _AUDIO and self.transcoder is None:  # the relay, most packets: one clock, one call
            self.send(self.out.relayed(out_type, marker, (seq + self._seq_offset) % _SEQ_MOD,
                                       (timestamp + self._ts_offset) % _TS_MOD, payload))
            self.forwarded += 1
            return
        out_ts = self._map_timestamp(timestamp)
        out_seq = None if self.transcoder else (seq + self._seq_offset) % _SEQ_MOD
        if kind == _EVENT:
            if out_type is not None:
                payload = scale_duration(payload, *scale)
                self.send(self.out.packet(out_type, marker, out_ts, payload, seq=out_seq, audio=False))
        else:
            for encoded, encoded_ts in self.transcoder.convert(payload, out_ts):
                self.send(self.out.packet(out_type, marker, encoded_ts, encoded))
                marker = 0
        self.forwarded += 1

    def timestamp_at(self, now: float) -> int | None:
        # Transcoded, the timeline is ours, not the source's.
        return None if self.transcoder is not None else super().timestamp_at(now)

    def _rebase(self, ssrc: int, seq: int, timestamp: int) -> None:
        super()._rebase(ssrc, seq, timestamp)
        self._last_in_ts = timestamp
        self._mapped_ts = (timestamp + self._ts_offset) % _TS_MOD

    def _map_timestamp(self, timestamp: int) -> int:
        if self._num == self._den:
            return (timestamp + self._ts_offset) % _TS_MOD
        # Different clocks (transcoding): follow signed deltas, so wrap-around stays exact.
        delta = (timestamp - self._last_in_ts + _TS_MOD // 2) % _TS_MOD - _TS_MOD // 2
        self._last_in_ts = timestamp
        self._mapped_ts = (self._mapped_ts + delta * self._num // self._den) % _TS_MOD
        return self._mapped_ts


def _routes(source: Negotiated, target: Negotiated, transcoder: Transcoder | None) -> dict:
    """Payload type in → (kind, payload type out, event duration scale)."""
    routes = {}
    for payload_type, codec in source.receive.items():
        if is_telephone_event(codec):
            dtmf = target.dtmf
            out = dtmf.payload_type if dtmf else None
            routes[payload_type] = (_EVENT, out, (dtmf.clock_rate if dtmf else 1, codec.clock_rate))
        elif codec.same_encoding(transcoder.source if transcoder else target.audio):
            routes[payload_type] = (_AUDIO, target.audio.payload_type, None)
    return routes
