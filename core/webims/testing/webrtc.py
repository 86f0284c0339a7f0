"""A browser at the WebRTC level for tests: an aiortc peer that sends a tone and records what it hears.

It runs on its own asyncio loop in a thread (``webims.media.loop_thread.LoopThread``); trio tests use it
through :class:`BrowserHandle`, whose coroutine methods run on that loop. Set ``loopback_ice`` (the pytest
fixture) so aioice offers 127.0.0.1, which it otherwise leaves out of its host candidates (NOTES).
"""

from __future__ import annotations

import asyncio
import fractions
import struct
import time

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from webims.media.loop_thread import LoopThread

TONE_BROWSER = 440


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    samples = samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


# --- G.711 mu-law (ITU-T G.711), for the phone -------------------------------------------------

class ToneTrack(MediaStreamTrack):
    """A sine at ``frequency`` Hz in 20 ms frames, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float | None, rate: int = 48000) -> None:
        super().__init__()
        self.frequency, self.rate = frequency, rate
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / self.rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        n = np.arange(self._pts, self._pts + 960)
        if self.frequency:
            samples = (np.sin(2 * np.pi * self.frequency * n / self.rate) * 8000).astype(np.int16)
        else:  # a frequency of None (set at any time) is silence: a held or not yet connected far end
            samples = np.zeros(960, dtype=np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = self.rate, self._pts, fractions.Fraction(1, self.rate)
        self._pts += 960
        return frame


class FakeBrowser:
    """An aiortc peer playing the browser. Its methods run on the ``browser_loop`` thread."""

    def __init__(self, codecs=("opus",), tone: int = TONE_BROWSER) -> None:
        self.codecs = codecs
        self.tone = tone
        self.pc: RTCPeerConnection | None = None
        self.frames: list[tuple[float, int, np.ndarray]] = []  # (time, rate, mono samples)
        self.events: list[tuple[int, bool]] = []
        self._recorder: asyncio.Task | None = None

    async def _setup(self, with_transceiver: bool = True) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.on("track", lambda track: self._record(track))
        if with_transceiver:
            self._transceiver(self.pc.addTransceiver(ToneTrack(self.tone), direction="sendrecv"))

    def _transceiver(self, transceiver) -> None:
        wanted = [*self.codecs, "telephone-event"]
        caps = [c for name in wanted for c in RTCRtpSender.getCapabilities("audio").codecs
                if c.name.lower() == name.lower()]
        transceiver.setCodecPreferences(caps)
        original = transceiver.receiver._handle_rtp_packet

        async def tap(packet, arrival_time_ms):
            if len(packet.payload) == 4 and packet.payload_type in (110, 126):
                self.events.append((packet.payload[0], bool(packet.payload[1] & 0x80)))
                return
            await original(packet, arrival_time_ms)

        transceiver.receiver._handle_rtp_packet = tap

    def _record(self, track) -> None:
        async def record():
            try:
                while True:
                    frame = await track.recv()
                    samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
                    self.frames.append((time.monotonic(), frame.sample_rate, samples))
            except MediaStreamError:
                pass

        self._recorder = asyncio.ensure_future(record())

    async def offer(self) -> str:
        await self._setup()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def answer(self, offer: str) -> str:
        await self._setup(with_transceiver=False)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        transceiver = self.pc.getTransceivers()[0]
        transceiver.sender.replaceTrack(ToneTrack(self.tone))
        transceiver.direction = "sendrecv"
        self._transceiver(transceiver)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def send_digit(self, digit: int) -> None:
        """RFC 4733 events on a second SSRC: aiortc's own sender owns the audio's sequence
        numbers, and SRTP replay protection would drop events reusing them."""
        transport = self.pc.getTransceivers()[0].sender.transport
        payload_type = 110 if "opus" in self.codecs else 126
        for i in range(6):
            end = i >= 3
            payload = struct.pack("!BBH", digit, (0x80 if end else 0) | 10, 960 * (min(i, 3) + 1))
            header = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | payload_type, 100 + i, 777777, 0xBEEF)
            await transport._send_rtp(header + payload)
            await asyncio.sleep(0.02)

    def audio(self, since: float = 0.0) -> tuple[int, np.ndarray]:
        chosen = [(rate, s) for t, rate, s in self.frames if t >= since]
        if not chosen:
            return 48000, np.zeros(0, dtype=np.int16)
        return chosen[0][0], np.concatenate([s for _, s in chosen])

    def frames_between(self, since: float, until: float) -> int:
        return sum(1 for t, _, s in self.frames if since <= t < until and np.abs(s).max() > 0)

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        if self._recorder is not None:
            self._recorder.cancel()


class BrowserHandle:
    """Trio-side handle: each coroutine method of the FakeBrowser runs on its loop thread."""

    def __init__(self, loop: LoopThread, browser: FakeBrowser) -> None:
        self.loop, self.browser = loop, browser

    def __getattr__(self, name):
        attribute = getattr(self.browser, name)
        if asyncio.iscoroutinefunction(attribute):
            return lambda *args: self.loop.run(attribute, *args)
        return attribute


