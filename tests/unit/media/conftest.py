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
import struct
import time
from concurrent.futures import ThreadPoolExecutor

import aioice.ice
import numpy as np
import pytest
import trio

from webims.media import MediaConfig, open_media_engine
from webims.media.loop_thread import LoopThread
from webims.testing.webrtc import BrowserHandle, FakeBrowser, peak_frequency  # noqa: F401 (tests import it from here)
from webims.sip.sdp import SessionDescription

@pytest.fixture
def asyncio_run():
    """``asyncio_run(coroutine)``: asyncio.run on a thread of its own. Playwright's sync API leaves an asyncio
    loop running in the main thread when the e2e tests ran first in the same session, and asyncio.run
    refuses to start inside it."""
    def run(coroutine):
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, coroutine).result()
    return run


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


def drain(bridge) -> list:
    """The bridge's events waiting now, without waiting for more."""
    events = []
    while True:
        try:
            events.append(bridge.events().receive_nowait())
        except trio.WouldBlock:
            return events
