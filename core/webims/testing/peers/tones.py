"""Test tones: write a sine WAV for a peer to send, find which tone a recording holds.

Peers send 16-bit mono PCM at 8 kHz (what baresip's aufile source needs, NOTES);
a recording is checked either for its dominant frequency (FFT over the whole file)
or for the energy share of one expected frequency (Goertzel), which is robust to
the leading silence and codec noise of a short call.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 8000


def write_sine_wav(
    path: Path, frequency: float, seconds: float, *, rate: int = SAMPLE_RATE, level: float = 0.3
) -> Path:
    """A 16-bit mono WAV of a sine at `frequency` Hz and `level` of full scale."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * frequency * t) * level * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples (first channel, as floats in [-1, 1]) and sample rate of a 16-bit WAV."""
    with wave.open(str(path), "rb") as source:
        if source.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM is supported")
        frames = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
        channels, rate = source.getnchannels(), source.getframerate()
    return frames[::channels].astype(np.float64) / 32768, rate


def dominant_frequency(path: Path) -> float:
    """The frequency (Hz) with the most energy in the recording."""
    samples, rate = read_wav(path)
    if not samples.size:
        raise ValueError(f"{path} holds no audio")
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    spectrum[0] = 0  # a DC offset is not a tone
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()])


def goertzel_power(samples: np.ndarray, rate: int, frequency: float) -> float:
    """Power of `samples` at one frequency (the Goertzel algorithm), per sample."""
    coefficient = 2 * np.cos(2 * np.pi * frequency / rate)
    s_prev = s_prev2 = 0.0
    for sample in samples:
        s_prev, s_prev2 = sample + coefficient * s_prev - s_prev2, s_prev
    power = s_prev2**2 + s_prev**2 - coefficient * s_prev * s_prev2
    return float(power) / max(samples.size, 1) ** 2


def tone_share(path: Path, frequency: float, *, block_seconds: float = 0.1) -> float:
    """The share (0..1) of the recording's energy that is a tone at `frequency`.

    Measured per block, so that a phase jump (a lost packet, a gap) costs one block
    rather than the coherence of the whole file. A sine of amplitude A has Goertzel
    power A²/4 per sample², i.e. energy 2 × power × N in a block of N samples.
    """
    samples, rate = read_wav(path)
    total = float(np.sum(samples**2))
    if total == 0:
        return 0.0
    size = max(int(block_seconds * rate), 1)
    blocks = (samples[i : i + size] for i in range(0, samples.size - size + 1, size))
    tone = sum(2 * goertzel_power(block, rate, frequency) * block.size for block in blocks)
    return tone / total


def contains_tone(path: Path, frequency: float, *, min_share: float = 0.5) -> bool:
    """Whether a tone at `frequency` carries at least `min_share` of the recording's energy."""
    return tone_share(path, frequency) >= min_share
