"""Peers for the media tests, all on loopback and in this process:

- ``FakeBrowser``: an aiortc RTCPeerConnection acting as the browser (a 440 Hz tone, records
  what it hears and the RFC 4733 events it gets), on its own asyncio loop in a thread;
- ``FakePhone``: a plain RTP endpoint on a trio socket acting as the IMS phone (880 Hz PCMU).

aioice leaves 127.0.0.1 out of its host candidates and has no option for it (NOTES), so the
``loopback_ice`` fixture replaces its address listing for every media test; ``iceServers=[]``
keeps aiortc away from its default public STUN server.
"""

from __future__ import annotations

import asyncio
import fractions
import struct
import time

import aioice.ice
import numpy as np
import pytest
import trio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from webims.media import MediaConfig, open_media_engine
from webims.media.loop_thread import LoopThread
from webims.sip.sdp import SessionDescription

TONE_BROWSER = 440
TONE_PHONE = 880


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture
async def engine():
    config = MediaConfig(ims_address="127.0.0.1", ims_port_range=(41000, 41999), media_timeout=30)
    async with open_media_engine(config) as engine:
        yield engine


@pytest.fixture
async def browser_loop():
    loop = LoopThread("fake-browsers")
    loop.start()
    yield loop
    await loop.stop()


@pytest.fixture
async def phone():
    async with trio.open_nursery() as nursery:
        phone = FakePhone()
        await phone.bind()
        nursery.start_soon(phone.run)
        yield phone
        nursery.cancel_scope.cancel()


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    samples = samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


# --- G.711 mu-law (ITU-T G.711), for the phone -------------------------------------------------

def ulaw_encode(samples: np.ndarray) -> bytes:
    x = samples.astype(np.int32)
    sign = (x < 0).astype(np.int32)
    x = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(x)).astype(np.int32) - 7
    mantissa = (x >> (exponent + 3)) & 0x0F
    return (~((sign << 7) | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def ulaw_decode(data: bytes) -> np.ndarray:
    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    exponent, mantissa = (u >> 4) & 7, u & 0x0F
    x = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -x, x).astype(np.int16)


# --- the IMS phone -----------------------------------------------------------------------------

class FakePhone:
    """Sends 880 Hz PCMU every 20 ms once it knows where to; records every packet it receives."""

    def __init__(self) -> None:
        self.sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        self.remote: tuple[str, int] | None = None
        self.received: list[tuple[float, int, int, int, int, bytes]] = []  # (time, pt, seq, ts, ssrc, payload)
        self.sending = True
        self.ssrc = 0x1234ABCD
        self.seq = 1000
        self.timestamp = 5000
        t = np.arange(8000) / 8000
        self._tone = ulaw_encode(np.sin(2 * np.pi * TONE_PHONE * t) * 8000)
        self._events: list[tuple[int, bytes, int]] = []

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    async def bind(self) -> None:
        await self.sock.bind(("127.0.0.1", 0))

    def sdp(self, formats=("0", "101"), direction="sendrecv", version=1, codecs=None) -> str:
        rtpmaps = codecs or {"0": "PCMU/8000", "8": "PCMA/8000", "101": "telephone-event/8000"}
        lines = ["v=0", f"o=phone 42 {version} IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
                 f"m=audio {self.port} RTP/AVP {' '.join(formats)}"]
        lines += [f"a=rtpmap:{pt} {rtpmaps[pt]}" for pt in formats]
        lines += ["a=fmtp:101 0-15"] if "101" in formats else []
        lines += ["a=ptime:20", f"a={direction}"]
        return "\r\n".join(lines) + "\r\n"

    def learn(self, gateway_sdp: str) -> SessionDescription:
        sdp = SessionDescription.parse(gateway_sdp)
        self.remote = (sdp.connection.address, sdp.media[0].port)
        return sdp

    def send_digit(self, digit: int, payload_type: int = 101) -> None:
        """An RFC 4733 event: three updates and three end packets, as a phone sends them."""
        start = self.timestamp
        for i in range(1, 4):
            self._events.append((payload_type, struct.pack("!BBH", digit, 10, 160 * i), start))
        for _ in range(3):
            self._events.append((payload_type, struct.pack("!BBH", digit, 0x80 | 10, 480), start))

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._receive)
            next_time = trio.current_time()
            offset = 0
            while True:
                if self.remote is not None and self.sending:
                    if self._events:
                        pt, payload, ts = self._events.pop(0)
                        await self._send(pt, ts, payload)
                    else:
                        payload = self._tone[offset:offset + 160]
                        offset = (offset + 160) % (8000 - 160)
                        await self._send(0, self.timestamp, payload)
                self.timestamp += 160
                next_time += 0.02
                await trio.sleep_until(next_time)

    async def _send(self, pt: int, ts: int, payload: bytes) -> None:
        header = struct.pack("!BBHII", 0x80, pt, self.seq & 0xFFFF, ts & 0xFFFFFFFF, self.ssrc)
        self.seq += 1
        await self.sock.sendto(header + payload, self.remote)

    async def _receive(self) -> None:
        while True:
            data, _ = await self.sock.recvfrom(2048)
            if len(data) >= 12 and data[0] >> 6 == 2 and not 192 <= data[1] <= 223:
                _, second, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
                self.received.append((time.monotonic(), second & 0x7F, seq, ts, ssrc, data[12:]))

    def audio(self, since: float = 0.0) -> np.ndarray:
        payloads = [p[5] for p in self.received if p[1] == 0 and p[0] >= since]
        return ulaw_decode(b"".join(payloads))

    def events(self) -> list[tuple[int, bool]]:
        """(event, end) per received telephone-event packet."""
        return [(p[5][0], bool(p[5][1] & 0x80)) for p in self.received if p[1] == 101]

    def count(self, since: float, until: float | None = None) -> int:
        return sum(1 for p in self.received if p[0] >= since and (until is None or p[0] < until))


# --- the browser -------------------------------------------------------------------------------

class ToneTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, frequency: int, rate: int = 48000) -> None:
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
        samples = (np.sin(2 * np.pi * self.frequency * n / self.rate) * 8000).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = self.rate, self._pts, fractions.Fraction(1, self.rate)
        self._pts += 960
        return frame


class FakeBrowser:
    """An aiortc peer playing the browser. Its methods run on the ``browser_loop`` thread."""

    def __init__(self, codecs=("opus",)) -> None:
        self.codecs = codecs
        self.pc: RTCPeerConnection | None = None
        self.frames: list[tuple[float, int, np.ndarray]] = []  # (time, rate, mono samples)
        self.events: list[tuple[int, bool]] = []
        self._recorder: asyncio.Task | None = None

    async def _setup(self, with_transceiver: bool = True) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.on("track", lambda track: self._record(track))
        if with_transceiver:
            self._transceiver(self.pc.addTransceiver(ToneTrack(TONE_BROWSER), direction="sendrecv"))

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
        transceiver.sender.replaceTrack(ToneTrack(TONE_BROWSER))
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
    """Trio-side handle: each call runs the FakeBrowser method on its loop thread."""

    def __init__(self, loop: LoopThread, browser: FakeBrowser) -> None:
        self.loop, self.browser = loop, browser

    def __getattr__(self, name):
        attribute = getattr(self.browser, name)
        if asyncio.iscoroutinefunction(attribute):
            return lambda *args: self.loop.run(attribute, *args)
        return attribute


@pytest.fixture
async def make_browser(browser_loop):
    made: list[BrowserHandle] = []

    def make(codecs=("opus",)) -> BrowserHandle:
        handle = BrowserHandle(browser_loop, FakeBrowser(codecs))
        made.append(handle)
        return handle

    yield make
    for handle in made:
        await handle.close()


async def connect_outgoing_call(engine, make_browser, phone, *, browser_codecs, phone_formats=("0", "101")):
    """Browser calls out: browser offer → our answer; our IMS offer → the phone's answer."""
    browser = make_browser(browser_codecs)
    bridge = await engine.new_bridge("call-1")
    answer = await bridge.accept_browser_offer(await browser.offer())
    await browser.accept_answer(answer)
    ims_offer = await bridge.ims_offer()
    phone.learn(ims_offer)
    await bridge.accept_ims_answer(phone.sdp(formats=phone_formats))
    return browser, bridge, ims_offer


async def wait_for(predicate, timeout: float = 5.0, step: float = 0.05) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(step)
