"""Media bench: CPU the gateway's media engine spends per relayed PCMU call. Numbers, never pass/fail.

    .venv/bin/python bench/media.py --calls 20 --seconds 10                 # aiortc in a thread (default)
    .venv/bin/python bench/media.py --calls 20 --host workers --workers 2   # worker processes
    .venv/bin/python bench/media.py --calls 20 --host trio-asyncio --extra-path DIR  # trio-asyncio in DIR
    .venv/bin/python bench/media.py --codec-cost                            # transcoding, per packet

The gateway (this process: trio + the media engine) is measured alone, from /proc/<pid>/stat of
itself and of its worker processes. The load runs in a child process: N aiortc peers as
browsers, sending pre-encoded PCMU and counting (not decoding) what they receive, so the load
generator stays light (NOTES: a full aiortc peer costs 2.5-3.7 % of a core), and N plain RTP
phones in one asyncio loop.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import platform
import struct
import sys
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str = "self") -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


# --- the load: browsers and phones ---------------------------------------------------------------

async def generator() -> None:
    import aioice.ice
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamTrack
    from av.packet import Packet

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    silence_pcmu = bytes([0xFF]) * 160
    received = {"browser": 0, "phone": 0}

    class PcmuPackets(MediaStreamTrack):
        """Pre-encoded 20 ms PCMU packets in real time: aiortc packs them without encoding."""
        kind = "audio"

        def __init__(self):
            super().__init__()
            self.pts, self.start = 0, None

        async def recv(self):
            self.start = self.start or time.monotonic()
            await asyncio.sleep(max(0, self.start + self.pts / 8000 - time.monotonic()))
            packet = Packet(silence_pcmu)
            packet.pts, packet.time_base = self.pts, fractions.Fraction(1, 8000)
            self.pts += 160
            return packet

    class Phone(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            received["phone"] += 1

    loop = asyncio.get_running_loop()
    browsers, phones = {}, {}

    async def offer(i):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        transceiver = pc.addTransceiver(PcmuPackets(), direction="sendrecv")
        transceiver.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("audio").codecs if c.name == "PCMU"])

        async def count(packet, arrival_time_ms):  # count, do not decode: we measure the gateway
            received["browser"] += 1

        transceiver.receiver._handle_rtp_packet = count
        browsers[i] = pc
        await pc.setLocalDescription(await pc.createOffer())
        return {"sdp": pc.localDescription.sdp}

    async def answer(i, sdp):
        await browsers[i].setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        return {}

    async def phone(i, sdp):
        lines = sdp.splitlines()
        address = next(l.split()[2] for l in lines if l.startswith("c="))
        port = int(next(l.split()[1] for l in lines if l.startswith("m=audio")))
        transport, _ = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
        phones[i] = (transport, (address, port), 0x10000 + i)
        mine = transport.get_extra_info("sockname")[1]
        return {"sdp": "\r\n".join(["v=0", "o=phone 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
                                    f"m=audio {mine} RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000",
                                    "a=rtpmap:101 telephone-event/8000", "a=ptime:20", "a=sendrecv", ""])}

    async def phones_send():  # every phone in one 20 ms loop
        seq, start = 0, time.monotonic()
        while True:
            for transport, remote, ssrc in list(phones.values()):
                transport.sendto(struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, ssrc) + silence_pcmu, remote)
            seq += 1
            await asyncio.sleep(max(0, start + seq * 0.02 - time.monotonic()))

    sender = asyncio.ensure_future(phones_send())
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    handlers = {"offer": offer, "answer": answer, "phone": phone}
    while line := await reader.readline():
        request = json.loads(line)
        op = request.pop("op")
        reply = dict(received) if op == "stats" else await handlers[op](**request)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    sender.cancel()
    for pc in browsers.values():
        await pc.close()


# --- the gateway ---------------------------------------------------------------------------------

async def gateway(args) -> None:
    import trio

    from webims.media import MediaConfig
    from webims.media.engine import MediaEngine

    config = MediaConfig(browser_addresses=("127.0.0.1",), ims_port_range=(43000, 44999),
                         workers=args.workers if args.host == "workers" else 0, browser_codecs=("PCMU",))
    load = await trio.lowlevel.open_process([sys.executable, __file__, "--generator"], stdin=-1, stdout=-1)
    lines = _LineReader(load.stdout)

    async def ask(**request):
        await load.stdin.send_all((json.dumps(request) + "\n").encode())
        return json.loads(await lines.next())

    async with trio.open_nursery() as nursery:
        engine = MediaEngine(config)
        if args.host == "trio-asyncio":
            engine._hosts = [TrioAsyncioHost(config, engine._deliver)]
            for host in engine._hosts:
                await host.start(nursery)
        else:
            await engine._start(nursery)
        bridges = []
        started = time.monotonic()
        for i in range(args.calls):
            bridge = await engine.new_bridge(f"bench-{i}")
            offer = (await ask(op="offer", i=i))["sdp"]
            await ask(op="answer", i=i, sdp=await bridge.accept_browser_offer(offer))
            phone = (await ask(op="phone", i=i, sdp=await bridge.ims_offer()))["sdp"]
            await bridge.accept_ims_answer(phone)
            bridges.append(bridge)
        setup = time.monotonic() - started
        await trio.sleep(args.warmup)

        pids = ["self"] + [h.pid for h in engine._hosts if getattr(h, "pid", None)]
        relayed_before = sum(s.to_ims + s.to_browser for s in [await b.stats() for b in bridges])
        load_before = await ask(op="stats")
        cpu_before, wall_before = sum(map(cpu_seconds, pids)), time.monotonic()
        load_cpu_before = cpu_seconds(load.pid)
        lateness = await trio_lateness(args.seconds)
        cpu = sum(map(cpu_seconds, pids)) - cpu_before
        load_cpu = cpu_seconds(load.pid) - load_cpu_before
        wall = time.monotonic() - wall_before
        relayed = sum(s.to_ims + s.to_browser for s in [await b.stats() for b in bridges]) - relayed_before
        load_after = await ask(op="stats")
        modes = {str((await b.stats()).mode) for b in bridges}

        report = {
            "interpreter": f"{os.path.realpath(sys.executable)} (Python {platform.python_version()})",
            "host": args.host + (f" x{args.workers}" if args.host == "workers" else ""),
            "calls": args.calls, "modes": sorted(modes), "setup_s": round(setup, 2), "window_s": round(wall, 1),
            "gateway_cpu_pct_of_one_core": round(100 * cpu / wall, 1),
            "per_call_pct": round(100 * cpu / wall / args.calls, 2),
            "relayed_pkt_per_s": round(relayed / wall),
            "us_per_relayed_packet": round(1e6 * cpu / max(relayed, 1), 1),
            "phones_rx_pkt_per_s": round((load_after["phone"] - load_before["phone"]) / wall),
            "browsers_rx_pkt_per_s": round((load_after["browser"] - load_before["browser"]) / wall),
            "load_generator_cpu_pct": round(100 * load_cpu / wall, 1),
            "trio_wakeup_late_ms_p50_p99_max": [round(1000 * lateness[int(q * (len(lateness) - 1))], 2)
                                                for q in (0.5, 0.99, 1.0)],
        }
        print(json.dumps(report, indent=1))
        for bridge in bridges:
            await bridge.close()
        await engine._stop() if args.host != "trio-asyncio" else await engine._hosts[0].stop()
        await load.stdin.aclose()
        await load.wait()
        nursery.cancel_scope.cancel()


async def trio_lateness(seconds: float) -> list[float]:
    """How late trio wakes from 5 ms sleeps meanwhile: what the call layer (SIP, WebSocket) feels."""
    import trio

    late = []
    end = trio.current_time() + seconds
    while trio.current_time() < end:
        target = trio.current_time() + 0.005
        await trio.sleep_until(target)
        late.append(trio.current_time() - target)
    return sorted(late)


def codec_cost(seconds: int = 20) -> None:
    """CPU per 20 ms packet of the transcoding fallback, each direction, on a 440 Hz tone."""
    import attrs
    import numpy as np
    from av import AudioFrame, CodecContext

    from webims.media.codecs import OPUS, PCMU
    from webims.media.transcode import Transcoder

    pcmu, opus = attrs.evolve(PCMU, payload_type=0), attrs.evolve(OPUS, payload_type=111)
    encoder = CodecContext.create("pcm_mulaw", "w")
    encoder.format, encoder.layout, encoder.sample_rate = "s16", "mono", 8000
    tone = (np.sin(2 * np.pi * 440 * np.arange(8000 * seconds) / 8000) * 8000).astype(np.int16)
    g711 = []
    for i in range(0, len(tone), 160):
        frame = AudioFrame.from_ndarray(tone[i:i + 160].reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 8000
        g711 += [bytes(p) for p in encoder.encode(frame)]
    results = {}
    for name, source, target, packets, step in (
            ("PCMU->Opus", pcmu, opus, g711, 960), ("Opus->PCMU", opus, pcmu, None, 160)):
        if packets is None:
            warm = Transcoder(pcmu, opus)
            packets = [p for i, g in enumerate(g711) for p, _ in warm.convert(g, i * 960)]
        transcoder = Transcoder(source, target)
        started = time.process_time()
        for i, payload in enumerate(packets):
            transcoder.convert(payload, i * step)
        results[name] = round(1e6 * (time.process_time() - started) / len(packets), 1)
    per_call = sum(results.values()) * 50 / 1e4  # 50 packets/s each way, as % of one core
    print(json.dumps({"interpreter": f"{os.path.realpath(sys.executable)} (Python {platform.python_version()})",
                      "us_per_packet": results, "transcoding_pct_of_one_core_per_call": round(per_call, 2)}))


class _LineReader:
    def __init__(self, stream):
        self.stream, self.buffer = stream, b""

    async def next(self) -> str:
        while b"\n" not in self.buffer:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise EOFError("the load generator ended")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


class TrioAsyncioHost:
    """For comparison only: the media worker on trio-asyncio's loop, inside trio's own thread."""

    def __init__(self, config, deliver):
        from webims.media.worker import MediaWorker

        self.worker, self.load, self._loop = MediaWorker(config, deliver), 0, None

    async def start(self, nursery):
        import trio_asyncio

        self._context = trio_asyncio.open_loop()
        self._loop = await self._context.__aenter__()

    async def call(self, bridge_id, operation, *args):
        import trio_asyncio

        return await trio_asyncio.aio_as_trio(self.worker.handle)(bridge_id, operation, args)

    async def stop(self):
        await self._context.__aexit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--host", choices=("thread", "workers", "trio-asyncio"), default="thread")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--extra-path", help="a directory with trio-asyncio (pip install --target DIR)")
    parser.add_argument("--codec-cost", action="store_true", help="measure transcoding per packet, then exit")
    parser.add_argument("--generator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.codec_cost:
        codec_cost()
        return
    if args.generator:
        asyncio.run(generator())
        return
    if args.extra_path:
        sys.path.insert(0, args.extra_path)
    import trio

    trio.run(gateway, args)


if __name__ == "__main__":
    main()
