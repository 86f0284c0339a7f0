"""The fallback when the legs share no codec: decode one leg's audio and encode the other's.

Decoders are aiortc's (the same ones its receiver would use); encoders are PyAV codec contexts
built here rather than aiortc's, because aiortc's encoders fix the packet time at 20 ms and send
Opus as 96 kbit/s stereo, where a phone call wants the leg's ``ptime`` and mono voice.
Costs (NOTES): about 3-4 % of a core per call against 0.6-0.8 % for a relay.
"""

from __future__ import annotations

import fractions

from aiortc.codecs import get_decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av import AudioResampler, CodecContext

from webims.sip.sdp import Codec

__all__ = ["Transcoder"]

_ENCODERS = {"pcmu": "pcm_mulaw", "pcma": "pcm_alaw", "opus": "libopus"}
_OPUS_BITRATE = 32000  # wideband mono voice (RFC 7587 §3.1.1 recommends 28-40 kbit/s)
_TS_MOD = 1 << 32


class Transcoder:
    """One direction: ``convert(payload, timestamp)`` → ``[(payload, timestamp), ...]``.

    Timestamps are in the *target* clock; the caller maps the source timestamp there first.
    Output packets are numbered by samples, and re-anchored to the input when it jumps (a
    pause, DTX), so the receiver's jitter buffer sees the same gaps the source had.
    """

    def __init__(self, source: Codec, target: Codec, ptime_ms: int = 20) -> None:
        self.source = source
        self.target = target
        self._decoder = get_decoder(RTCRtpCodecParameters(
            mimeType=f"audio/{source.encoding_name}", clockRate=source.clock_rate,
            channels=source.channels, payloadType=source.payload_type))
        self._frame_samples = target.clock_rate * ptime_ms // 1000
        self._encoder = _encoder(target, self._frame_samples)
        self._resampler = AudioResampler(format="s16", layout="mono", rate=target.clock_rate,
                                          frame_size=self._frame_samples)
        self._next_ts: int | None = None
        self._expected_ts: int | None = None
        self.decoded_frames = 0
        self.encoded_packets = 0

    def convert(self, payload: bytes, timestamp: int) -> list[tuple[bytes, int]]:
        self._follow_input(timestamp)
        out = []
        for frame in self._decoder.decode(JitterFrame(payload, timestamp)):
            self.decoded_frames += 1
            self._expected_ts = (timestamp + frame.samples * self.target.clock_rate // frame.sample_rate) % _TS_MOD
            frame.pts = None  # our own timeline (below); PyAV must not reorder by pts
            for resampled in self._resampler.resample(frame):
                for packet in self._encoder.encode(resampled):
                    out.append((bytes(packet), self._next_ts))
                    self._next_ts = (self._next_ts + self._frame_samples) % _TS_MOD
        self.encoded_packets += len(out)
        return out

    def _follow_input(self, timestamp: int) -> None:
        if self._next_ts is None:
            self._next_ts = timestamp
        elif self._expected_ts is not None:
            gap = (timestamp - self._expected_ts) % _TS_MOD
            if self._frame_samples * 2 < gap < _TS_MOD // 2:
                self._next_ts = (self._next_ts + gap) % _TS_MOD


def _encoder(codec: Codec, frame_samples: int) -> CodecContext:
    context = CodecContext.create(_ENCODERS[codec.encoding_name.lower()], "w")
    context.format = "s16"
    context.layout = "mono"
    context.sample_rate = codec.clock_rate
    context.time_base = fractions.Fraction(1, codec.clock_rate)
    if codec.encoding_name.lower() == "opus":
        context.bit_rate = _OPUS_BITRATE
        context.options = {"application": "voip", "frame_duration": str(frame_samples * 1000 // 48000)}
    return context
