"""The far end's audio for the fake voice service: one aiortc peer per call, on loopback only.

The fake voice service has no IMS side, so each call's "other phone" is this peer: it answers (or makes) the
page's WebRTC offer, plays a sine tone (silent while the call is not connected or is held) and keeps the last
second of what it hears, so a test can ask which tone the browser's microphone sent and whether mute worked.

aiortc is asyncio and the gateway trio: the peers live on a ``webims.media.loop_thread.LoopThread`` (the media
engine's own arrangement, docs/media.md) and trio reaches them through ``FakeMedia``'s async methods.
Only 127.0.0.1 is used: aioice's host-address listing is replaced while the fake runs (it leaves loopback out,
NOTES), and the page's non-loopback candidates are dropped, so no media packet uses another interface.
"""

from __future__ import annotations

import asyncio
import collections

import aioice.ice
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from webims.media.loop_thread import LoopThread
from webims.testing.webrtc import ToneTrack

RATE = 48000
FRAME = 960  # 20 ms
HEARD_SECONDS = 1.0


class FakePeer:
    """One call's far end. Its coroutines run on the media loop thread."""

    def __init__(self, tone_hz: float) -> None:
        self.tone_hz = tone_hz
        self.track = ToneTrack(None)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.heard: collections.deque[np.ndarray] = collections.deque(maxlen=int(HEARD_SECONDS * RATE / FRAME))
        self.candidates_added = 0
        self.end_of_candidates = False
        self._recorder: asyncio.Task | None = None
        self.pc.on("track", self._record)

    def _record(self, track) -> None:
        async def record() -> None:
            try:
                while True:
                    frame = await track.recv()
                    samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
                    self.heard.append(samples.astype(np.float64))
            except MediaStreamError:
                pass

        self._recorder = asyncio.ensure_future(record())

    async def answer(self, offer: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "audio":
                transceiver.sender.replaceTrack(self.track)
                transceiver.direction = "sendrecv"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def offer(self) -> str:
        self.pc.addTransceiver(self.track, direction="sendrecv")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept_answer(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def add_candidate(self, candidate: str | None, sdp_mid: str | None, sdp_mline_index: int | None) -> bool:
        """Add one trickled candidate of the page; False if it was left out (not loopback UDP)."""
        if not candidate:
            self.end_of_candidates = True
            await self.pc.addIceCandidate(None)
            return True
        parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
        if parsed.ip != "127.0.0.1" or parsed.protocol.lower() != "udp":
            return False
        parsed.sdpMid, parsed.sdpMLineIndex = sdp_mid, sdp_mline_index
        if sdp_mid is None and sdp_mline_index is None:
            parsed.sdpMLineIndex = 0
        await self.pc.addIceCandidate(parsed)
        self.candidates_added += 1
        return True

    def play(self, on: bool) -> None:
        self.track.frequency = self.tone_hz if on else None

    async def heard_tone(self) -> tuple[float, float]:
        """(dominant frequency in Hz, RMS level) of the last second heard; (0, 0) before anything came."""
        if not self.heard:
            return 0.0, 0.0
        samples = np.concatenate(list(self.heard))
        level = float(np.sqrt(np.mean(samples ** 2)))
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
        spectrum[:3] = 0  # DC is not a tone
        return float(np.argmax(spectrum) * RATE / samples.size), level

    async def ice_state(self) -> str:
        return self.pc.iceConnectionState

    async def close(self) -> None:
        self.track.stop()
        await self.pc.close()
        if self._recorder is not None:
            self._recorder.cancel()


class FakeMedia:
    """The media loop of the fake voice service, used from trio."""

    def __init__(self) -> None:
        self.loop = LoopThread("fake-voice-media")
        self._saved_host_addresses = None

    def start(self) -> None:
        self._saved_host_addresses = aioice.ice.get_host_addresses
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()
        if self._saved_host_addresses is not None:
            aioice.ice.get_host_addresses = self._saved_host_addresses

    async def new_peer(self, tone_hz: float) -> FakePeer:
        async def make() -> FakePeer:  # aiortc objects must be made on their own loop
            return FakePeer(tone_hz)
        return await self.loop.run(make)

    async def run(self, async_fn, *args):
        return await self.loop.run(async_fn, *args)
