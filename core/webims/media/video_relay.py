"""One direction of a call's video: packets from one leg relayed to the other, payload untouched.

As for audio (relay.py) the gateway is an RTP translator that changes SSRCs (RFC 3550 §7): each leg
sees one continuous stream from us. Per packet only the 12-byte header is rewritten: our SSRC, the
source's sequence number and timestamp shifted by fixed offsets (so its gaps stay visible as loss
and its frame timing stays exact), and the payload type remapped to the receiver's number for the
same format. Unlike audio, the marker bit is passed as it is: in video it ends a frame (RFC 7741
§4.1, RFC 6184 §5.1), and a new source is announced by its keyframe, which the bridge asks for.

Every packet sent is kept in a small ring (:data:`HISTORY` packets, about 2 s at 720p30) so the
receiver's NACKs are answered from here (feedback.py).
"""

from __future__ import annotations

from collections.abc import Callable

from .relay import Direction
from .rtp import InboundStats, OutboundStream
from .video_codecs import VIDEO_CLOCK, VideoNegotiated, is_keyframe, relays

__all__ = ["VideoForwarder", "video_routes", "HISTORY"]

HISTORY = 512  # a power of two: the ring is indexed by sequence number
_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32


def video_routes(source: VideoNegotiated, target: VideoNegotiated) -> dict[int, int]:
    """Payload type the source may send → the target's payload type for the same format."""
    routes = {}
    for payload_type, codec in source.receive.items():
        match = next((t for t in target.send if relays(codec, t)), None)
        if match is not None:
            routes[payload_type] = match.payload_type
    return routes


class VideoForwarder(Direction):
    """Packets from one leg's video to the other's; ``forward`` is the source leg's RTP callback."""

    def __init__(self, *, source: VideoNegotiated, target: VideoNegotiated, out: OutboundStream,
                 send: Callable[[bytes], None], on_new_source: Callable[[], None],
                 on_keyframe: Callable[[], None], source_stats: InboundStats | None = None) -> None:
        super().__init__(out, send, VIDEO_CLOCK, source_stats)
        self.routes = video_routes(source, target)
        self._encodings = {pt: codec.encoding_name.lower() for pt, codec in source.receive.items()}
        self.on_new_source = on_new_source
        self.on_keyframe = on_keyframe
        self.waiting_for_keyframe = False
        self._history: list[bytes | None] = [None] * HISTORY
        self.forwarded = self.dropped = self.retransmitted = 0

    def forward(self, payload_type: int, marker: int, seq: int, timestamp: int, ssrc: int,
                payload: bytes) -> None:
        out_type = self.routes.get(payload_type)
        if out_type is None:
            self.dropped += 1  # a format the other leg did not agree to (the browser must renegotiate)
            return
        if not self._enabled:
            return
        if ssrc != self.source_ssrc:
            self._rebase(ssrc, seq, timestamp)
        if self.waiting_for_keyframe and is_keyframe(self._encodings[payload_type], payload):
            self.waiting_for_keyframe = False
            self.on_keyframe()
        out_seq = (seq + self._seq_offset) % _SEQ_MOD
        packet = self.out.relayed(out_type, marker, out_seq, (timestamp + self._ts_offset) % _TS_MOD, payload)
        self._history[out_seq % HISTORY] = packet
        self.send(packet)
        self.forwarded += 1

    def retransmit(self, sequence_numbers: list[int]) -> None:
        """Resend what we still have of ``sequence_numbers`` (RFC 4585 §6.2.1), as it was sent."""
        for seq in sequence_numbers:
            packet = self._history[seq % HISTORY]
            if packet is not None and int.from_bytes(packet[2:4], "big") == seq:
                self.send(packet)
                self.retransmitted += 1

    def _rebase(self, ssrc: int, seq: int, timestamp: int) -> None:
        super()._rebase(ssrc, seq, timestamp)  # (after a pause too: the gate re-bases when it opens again)
        self.waiting_for_keyframe = True
        self.on_new_source()  # the receiver cannot decode a new source before its keyframe
