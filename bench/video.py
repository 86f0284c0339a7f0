"""Video bench: N concurrent relayed 720p30 VP8 calls through the gateway and through rtpengine, side by side.

    .venv/bin/python bench/video.py                             # N = 5, 20, 50
    .venv/bin/python bench/video.py --calls 5 --seconds 5       # a quick look
    .venv/bin/python bench/video.py --engines gateway --json out.json

For each N it prints one JSON row (numbers, never pass/fail) with, for each relay: its CPU (% of one core,
per call, µs per relayed packet), packets sent/received/lost each way, one-way latency p50/p99/max and what
the relay adds over the same load with no relay (``baseline``), the keyframe-request round trip (a PLI sent
by one end until the first keyframe packet from the other end arrives back, through the relay both ways),
the generator's own CPU and send lateness (so a reader sees which side saturated), kernel UDP drops, and
the interpreter it ran on.

The load is bench/media.py's, made for video: a child process (the generator) makes each call's browser an
aiortc peer (audio + video, VP8) for the real handshake (ICE + DTLS-SRTP) against the relay, once; then one
thread takes over every call's DTLS-SRTP keys and socket and plays, for all browsers and all phones, a clip
of 720p VP8 encoded once at start (``--bitrate``, 30 frames/s, libvpx realtime through aiortc's encoder and
packetizer): each frame's packets back to back, frames spread evenly over each 33 ms. A 16-byte stamp (send
time, stream, counter) is appended to every payload (relays never look past the VP8 header), arrivals are
stamped by the kernel. Each end sends a PLI every ``--pli-interval`` seconds (staggered) and answers any
PLI/FIR it receives with the clip's keyframe as its next frame. Audio is negotiated but silent.

- ``gateway``: this process runs trio and the media engine (thread host), as a call with a ``video``
  CallMedia; its CPU is read from /proc/self/stat (the bench's own trio work is a few %).
- ``rtpengine``: Debian's daemon, userspace (``--table=-1``), over its ng protocol (bench/rtpengine.py),
  terminating ICE and DTLS-SRTP on the browser side like the gateway. If it cannot be driven, the row says
  why (``setup_failures``) instead of numbers.
- ``baseline``: each call's two ends wired straight to each other (SRTP both ways), same load.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import gc
import heapq
import os
import socket
import struct
import sys
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from media import Gateway as AudioGateway  # noqa: E402
from media import (SO_TIMESTAMPNS, STAMP, TO_BROWSER, TO_IMS, Baseline, GcPauses, LoadGenerator,  # noqa: E402
                   RtpEngineRelay, added_latency_and_loss, arrival_ns, browser_connected, browser_peer,
                   direction_counts, machine_busy_seconds, new_row, percentiles_ms, raise_open_files_limit,
                   report_row, serve, set_up_calls, srtp_session, take_over, thread_cpu_seconds, trio_lateness,
                   udp_drops, udp_socket, wait_for_quiet)
from packet_loop import PacketLoop  # noqa: E402
from rtpengine import RtpEngine, cpu_seconds  # noqa: E402

FPS = 30
WIDTH, HEIGHT = 1280, 720
CLIP_FRAMES = 60
RTP_HEADER = struct.Struct("!BBHII")
PLI_FMT, FIR_FMT, PSFB = 1, 4, 206
_FRAME, _PLI = 0, 1


# --- the clip ------------------------------------------------------------------------------------

def encode_clip(bitrate: int) -> tuple[list[bytes], list[list[bytes]]]:
    """(the keyframe's payloads, each later frame's payloads): 720p VP8, packetized as aiortc does."""
    import av
    import numpy as np
    from aiortc.codecs.vpx import Vp8Encoder

    encoder = Vp8Encoder()
    encoder.target_bitrate = bitrate
    # Texture (blocky noise) makes keyframes about as costly as a camera's; moving bars make frames differ.
    coarse = np.random.default_rng(7).integers(0, 256, (HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8)
    texture = coarse.repeat(8, axis=0).repeat(8, axis=1)
    frames = []
    for index in range(CLIP_FRAMES + 1):
        image = texture.copy()
        x = (index * 24) % WIDTH
        image[:, x:x + 64] = (250, 250, 40)
        image[(index * 8) % HEIGHT:(index * 8) % HEIGHT + 32, :] = (200, 40, 40)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=index == 0)
        frames.append(payloads)
    return frames[0], frames[1:]


# --- the generator (child process): the media loop ----------------------------------------------------

class VideoPort:
    """One end's video: sends the clip (stamped) and receives the other end's, with its keyframe requests."""

    __slots__ = ("sock", "rtcp_sock", "remote", "rtcp_remote", "stream", "ssrc", "seq", "frame", "payload_type",
                 "tx", "rx", "handoff", "keyframe_next", "asked_at", "peer_ssrc", "counter")

    def __init__(self, sock, remote, stream, payload_type, *, rtcp_sock=None, rtcp_remote=None, tx=None, rx=None,
                 ssrc=None, handoff=None):
        for s in (sock, rtcp_sock):
            if s is not None:
                s.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock, self.rtcp_sock, self.remote = sock, rtcp_sock, remote
        self.rtcp_remote = rtcp_remote or remote   # rtcp-mux on the browser leg
        self.stream, self.payload_type = stream, payload_type
        self.ssrc = ssrc if ssrc is not None else 0x20000 + stream
        self.seq, self.frame, self.counter = stream * 7 & 0xFFFF, 0, 0
        self.tx, self.rx, self.handoff = tx, rx, handoff
        self.keyframe_next = False
        self.asked_at: int | None = None   # ns when our PLI went out, until a keyframe comes back
        self.peer_ssrc = 0


class VideoLoop(PacketLoop):
    """Every call's video, both ends, from one thread: frames when due, PLIs when due, drain, epoll."""

    thread_name = "bench-video"

    def __init__(self, ports: list[VideoPort], keyframe: list[bytes], clip: list[list[bytes]],
                 pli_interval: float) -> None:
        self.ports, self.keyframe, self.clip, self.pli_interval = ports, keyframe, clip, pli_interval
        self.by_fd = {}
        for port in ports:
            self.by_fd[port.sock.fileno()] = (port, False)
            if port.rtcp_sock is not None:
                self.by_fd[port.rtcp_sock.fileno()] = (port, True)
        self.window = (0, -1)
        self.reset()

    def reset(self) -> None:
        self.sent, self.received = [0, 0], [0, 0]
        self.latency = (array("q"), array("q"))
        self.keyframe_rtt = array("q")
        self.lateness = array("d")
        self.plis_sent = self.plis_received = self.keyframes_sent = 0
        self.srtp_errors = self.handed_off = self.send_errors = 0

    def fds(self):
        return self.by_fd

    def serve(self, poller) -> None:
        ports, count, now = self.ports, len(self.ports), time.monotonic()
        # (due, port index, what): frames and PLIs spread evenly, as independent calls would be
        due = [(now + 0.05 + k / count / FPS, k, _FRAME) for k in range(count)]
        due += [(now + 1.0 + k * self.pli_interval / count, k, _PLI) for k in range(count)]
        heapq.heapify(due)
        while self._running:
            now = time.monotonic()
            while due[0][0] <= now:
                when, k, what = heapq.heappop(due)
                if what == _FRAME:
                    self._frame(ports[k], now - when)
                    heapq.heappush(due, (when + 1 / FPS, k, what))
                else:
                    self._pli(ports[k])
                    heapq.heappush(due, (when + self.pli_interval, k, what))
            for fd, _ in poller.poll(max(0.0, due[0][0] - time.monotonic())):
                port, rtcp = self.by_fd[fd]
                self._drain(port, rtcp)

    def _frame(self, port: VideoPort, late: float) -> None:
        w0, w1 = self.window
        if w0 <= time.time_ns() < w1:
            self.lateness.append(late)
        if port.keyframe_next:
            payloads, port.keyframe_next = self.keyframe, False
            self.keyframes_sent += 1
        else:
            payloads = self.clip[port.frame % len(self.clip)]
        timestamp = (port.frame * 3000) & 0xFFFFFFFF
        for i, payload in enumerate(payloads):
            marker = 0x80 if i == len(payloads) - 1 else 0
            sent_ns = time.time_ns()
            packet = (RTP_HEADER.pack(0x80, marker | port.payload_type, port.seq, timestamp, port.ssrc) + payload
                      + STAMP.pack(sent_ns, port.stream, port.counter))
            if port.tx is not None:
                packet = port.tx.protect(packet)
            try:
                port.sock.sendto(packet, port.remote)
            except OSError:
                self.send_errors += 1
            port.seq, port.counter = (port.seq + 1) & 0xFFFF, port.counter + 1
            if w0 <= sent_ns < w1:  # counted by its stamp, as the receiver counts it
                self.sent[port.stream & 1] += 1
        port.frame += 1

    def _pli(self, port: VideoPort) -> None:
        if not port.peer_ssrc:
            return
        packet = struct.pack("!BBHII", 0x80 | PLI_FMT, PSFB, 2, port.ssrc, port.peer_ssrc)
        rr = struct.pack("!BBHI", 0x80, 201, 1, port.ssrc)  # RFC 4585 §3.1: feedback rides in a compound packet
        data = rr + packet
        if port.tx is not None:
            data = port.tx.protect_rtcp(data)
        port.asked_at = time.time_ns()
        self.plis_sent += 1
        (port.rtcp_sock or port.sock).sendto(data, port.rtcp_remote)

    def _drain(self, port: VideoPort, rtcp_socket: bool) -> None:
        from pylibsrtp import Error as SrtpError

        sock = port.rtcp_sock if rtcp_socket else port.sock
        while True:
            try:
                data, ancillary, _flags, addr = sock.recvmsg(4096, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            if not 127 < data[0] < 192:    # STUN, DTLS: aiortc's (RFC 7983)
                if port.handoff is not None:
                    self.handed_off += 1
                    port.handoff(data, addr)
                continue
            try:
                if 191 < data[1] < 224:      # RTCP (RFC 5761 §4)
                    self._feedback(port, port.rx.unprotect_rtcp(data) if port.rx is not None else data)
                else:
                    self._media(port, port.rx.unprotect(data) if port.rx is not None else data, ancillary)
            except SrtpError:
                self.srtp_errors += 1

    def _feedback(self, port: VideoPort, data: bytes) -> None:
        offset = 0
        while offset + 4 <= len(data):
            first, packet_type, length = struct.unpack_from("!BBH", data, offset)
            if packet_type == PSFB and first & 0x1F in (PLI_FMT, FIR_FMT):
                self.plis_received += 1
                port.keyframe_next = True
            offset += 4 * (length + 1)

    def _media(self, port: VideoPort, data: bytes, ancillary) -> None:
        from webims.media.video_codecs import is_keyframe

        first = data[0]
        offset = 12 + 4 * (first & 0x0F)
        if first & 0x10:
            offset += 4 + 4 * int.from_bytes(data[offset + 2:offset + 4], "big")
        port.peer_ssrc = int.from_bytes(data[8:12], "big")
        sent_ns, stream, _counter = STAMP.unpack_from(data, len(data) - STAMP.size)
        arrived_ns = arrival_ns(ancillary)
        w0, w1 = self.window
        if w0 <= sent_ns < w1:
            self.received[stream & 1] += 1
            self.latency[stream & 1].append(arrived_ns - sent_ns)
        if port.asked_at is not None and sent_ns > port.asked_at and is_keyframe("vp8", data[offset:]):
            if w0 <= port.asked_at < w1:
                self.keyframe_rtt.append(arrived_ns - port.asked_at)
            port.asked_at = None


# --- the generator (child process): calls, on asyncio -------------------------------------------------

def payload_type(sdp: str, encoding: str = "VP8") -> int:
    return next(int(line.split(":")[1].split()[0]) for line in sdp.splitlines()
                if line.startswith("a=rtpmap:") and line.split()[1].upper().startswith(encoding + "/"))


def media_address(sdp: str, kind: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """(RTP address, RTCP address) of the ``kind`` m-line: RFC 3605 a=rtcp, else the next port."""
    lines = sdp.splitlines()
    address = next(line.split()[2] for line in lines if line.startswith("c="))
    start = next(i for i, line in enumerate(lines) if line.startswith(f"m={kind} "))
    port = int(lines[start].split()[1])
    section = lines[start + 1:]
    section = section[:next((i for i, line in enumerate(section) if line.startswith("m=")), len(section))]
    rtcp = next((int(line.split(":")[1].split()[0]) for line in section if line.startswith("a=rtcp:")), port + 1)
    return (address, port), (address, rtcp)


def phone_answer(audio_port: int, video_port: int, vp8: int) -> str:
    return "\r\n".join(["v=0", "o=phone 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
                        f"m=audio {audio_port} RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=sendrecv",
                        f"m=video {video_port} RTP/AVP {vp8}", f"a=rtpmap:{vp8} VP8/90000",
                        "a=rtcp-fb:* nack pli", "a=sendrecv", ""])


def socket_pair() -> tuple[socket.socket, socket.socket]:
    """An even RTP port and the RTCP port above it (RFC 3550 §11)."""
    while True:
        rtp = udp_socket()
        port = rtp.getsockname()[1]
        if port % 2:
            rtp.close()
            continue
        try:
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtcp.bind(("127.0.0.1", port + 1))
            return rtp, rtcp
        except OSError:
            rtp.close()
            rtcp.close()


class VideoLoad:
    """The calls of one generator: browsers (aiortc for the handshake), phones, pairs, then one media loop."""

    def __init__(self, bitrate: int, pli_interval: float) -> None:
        self.keyframe, self.clip = encode_clip(bitrate)
        self.pli_interval = pli_interval
        self.browsers: dict[int, tuple] = {}     # call → (pc, video transceiver)
        self.browser_pt: dict[int, int] = {}
        self.phones: dict[int, VideoPort] = {}
        self.phone_audio: dict[int, socket.socket] = {}
        self.pairs: dict[int, tuple[VideoPort, VideoPort]] = {}
        self.media: VideoLoop | None = None

    async def describe_clip(self) -> dict:
        sizes = [sum(map(len, f)) for f in self.clip]
        return {"keyframe_bytes": sum(map(len, self.keyframe)),
                "kbit_per_s": round(8 * sum(sizes) / len(sizes) * FPS / 1000),
                "packets_per_frame": round(sum(map(len, self.clip)) / len(self.clip), 2)}

    async def browser_offer(self, i: int) -> dict:
        # the video transceiver is the one kept (last): with BUNDLE, audio shares its socket and keys
        pc, _ = self.browsers[i] = browser_peer(("audio", "PCMU"), ("video", "VP8"))
        await pc.setLocalDescription(await pc.createOffer())
        return {"sdp": pc.localDescription.sdp}

    async def browser_answer(self, i: int, sdp: str, timeout: float = 30.0) -> dict:
        self.browser_pt[i] = payload_type(sdp)
        await browser_connected(self.browsers[i][0], sdp, timeout)
        return {}

    async def phone(self, i: int, sdp: str) -> dict:
        rtp_remote, rtcp_remote = media_address(sdp, "video")
        audio = udp_socket()
        rtp, rtcp = socket_pair()
        vp8 = payload_type(sdp)
        self.phone_audio[i] = audio
        self.phones[i] = VideoPort(rtp, rtp_remote, 2 * i + TO_BROWSER, vp8, rtcp_sock=rtcp, rtcp_remote=rtcp_remote)
        return {"sdp": phone_answer(audio.getsockname()[1], rtp.getsockname()[1], vp8)}

    async def pair(self, i: int) -> dict:
        """No relay: the browser end (SRTP) and the phone end send straight to each other."""
        from pylibsrtp import Policy

        gcm = Policy.SRTP_PROFILE_AEAD_AES_256_GCM
        a, b = os.urandom(44), os.urandom(44)
        browser, phone = udp_socket(), udp_socket()
        out, into = Policy.SSRC_ANY_OUTBOUND, Policy.SSRC_ANY_INBOUND
        self.pairs[i] = (
            VideoPort(browser, phone.getsockname(), 2 * i + TO_IMS, 96,
                      tx=srtp_session(a, gcm, out), rx=srtp_session(b, gcm, into)),
            VideoPort(phone, browser.getsockname(), 2 * i + TO_BROWSER, 96,
                      tx=srtp_session(b, gcm, out), rx=srtp_session(a, gcm, into)))
        return {}

    def _take_over(self, i: int) -> VideoPort:
        _, transceiver = self.browsers[i]  # the video transceiver (BUNDLE: audio shares its socket)
        return VideoPort(**take_over(transceiver), stream=2 * i + TO_IMS, payload_type=self.browser_pt[i])

    async def start(self) -> dict:
        ports = []
        for i in sorted(set(self.browsers) | set(self.pairs)):
            if i in self.pairs:
                ports += self.pairs[i]
            elif i in self.phones and i in self.browser_pt:
                ports += [self._take_over(i), self.phones[i]]
        gc.collect()
        gc.freeze()
        self.media = VideoLoop(ports, self.keyframe, self.clip, self.pli_interval)
        self.media.start()
        local = [p.sock.getsockname()[1] for p in ports] + [p.rtcp_sock.getsockname()[1] for p in ports if p.rtcp_sock]
        return {"ports": local, "calls": len(ports) // 2}

    async def measure(self, seconds: float, grace: float) -> dict:
        media = self.media
        media.reset()
        cpu0, media_cpu0, wall0 = cpu_seconds("self"), thread_cpu_seconds(media.tid), time.monotonic()
        now = time.time_ns()
        media.window = (now, now + int(seconds * 1e9))
        await asyncio.sleep(seconds)
        cpu, media_cpu = cpu_seconds("self") - cpu0, thread_cpu_seconds(media.tid) - media_cpu0
        wall = time.monotonic() - wall0
        await asyncio.sleep(grace)
        media.window = (0, -1)
        directions = direction_counts(media)
        lateness = sorted(media.lateness)
        return {
            "directions": directions, "latency_ms": percentiles_ms(media.latency[0] + media.latency[1]),
            "keyframe_request_rtt_ms": {**percentiles_ms(media.keyframe_rtt), "samples": len(media.keyframe_rtt),
                                        "plis_sent": media.plis_sent, "plis_received": media.plis_received,
                                        "keyframes_sent": media.keyframes_sent},
            "srtp_errors": media.srtp_errors, "send_errors": media.send_errors,
            "generator": {"cpu_pct_of_one_core": round(100 * cpu / wall, 1),
                          "media_thread_pct": round(100 * media_cpu / wall, 1),
                          "sent_pkt_per_s": round(sum(media.sent) / seconds),
                          "frame_late_ms_p50_p99_max": [round(1000 * lateness[int(q * (len(lateness) - 1))], 2)
                                                        for q in (0.5, 0.99, 1.0)] if lateness else None},
        }

    async def stop(self) -> dict:
        media, self.media = self.media, None
        if media is not None:
            media.stop()
            for port in media.ports:
                port.sock.close()
        browsers, self.browsers = self.browsers, {}
        await asyncio.gather(*(pc.close() for pc, _ in browsers.values()), return_exceptions=True)
        for port in [*self.phones.values(), *(p for pair in self.pairs.values() for p in pair)]:
            port.sock.close()
            if port.rtcp_sock is not None:
                port.rtcp_sock.close()
        for sock in self.phone_audio.values():
            sock.close()
        return {}


async def generator(bitrate: int, pli_interval: float) -> None:
    await serve(lambda: VideoLoad(bitrate, pli_interval))


# --- the bench (trio): relays ------------------------------------------------------------------------

class Gateway(AudioGateway):
    """bench/media.py's, with video in each call, in a thread or ``--workers`` processes (no other hosts here)."""

    def describe(self) -> dict:
        host = f"{self.args.workers} worker processes" if self.args.workers else "thread host"
        return {"relay": f"webims media engine ({host})"}

    def media_config(self) -> dict:
        return {"media_timeout": 3600, "workers": self.args.workers}

    def call_media(self) -> list:
        from webims.service import CallMedia

        return [CallMedia("video", ("VP8",), max_bitrate=4 * self.args.bitrate // 1000)]

    async def details(self) -> dict:
        """After the window (each stats() is a round trip to the media loop)."""
        stats = [await b.stats() for b in self.bridges]
        videos = [s.video for s in stats if s.video is not None]
        return {"video_relayed": len(videos), "decoded_frames": sum(s.decoded_frames for s in stats),
                "retransmitted": sum(v.retransmitted for v in videos),
                "keyframe_requests_coalesced": sum(v.keyframe_requests_coalesced for v in videos)}


async def measure(args, n: int, relay) -> dict:
    """N calls through one relay: set up, warm up, one measured window; everything started is stopped."""
    import trio

    command = [sys.executable, __file__, "--generator", "--bitrate", str(args.bitrate),
               "--pli-interval", str(args.pli_interval)]
    process = await trio.lowlevel.open_process(command, stdin=-1, stdout=-1)
    load = LoadGenerator(process)
    report: dict = {**relay.describe()}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(load.read_replies)
        try:
            report["clip"] = await load.ask("describe_clip")
            await relay.start(nursery)
            if not await set_up_calls(args, n, relay, load, report, timeout=30 + 0.5 * n):
                return report
            ports = await load.ask("start")
            report["calls_set_up"] = ports["calls"]
            await trio.sleep(args.warmup)
            report["machine"] = await wait_for_quiet([*relay.pids, load.pid], args.quiet_wait)
            await measure_window(args, relay, load, set(ports["ports"]), report)
            if relay.name == "gateway":
                report["gateway"] = await relay.details()
            await load.ask("stop")
            return report
        finally:
            with trio.CancelScope(shield=True):
                await load.close()
                await relay.stop()
            nursery.cancel_scope.cancel()


async def measure_window(args, relay, load: LoadGenerator, generator_ports: set, report: dict) -> None:
    import trio

    window: dict = {}

    async def generator_window() -> None:
        window.update(await load.ask("measure", seconds=args.seconds, grace=args.grace))

    drops_before = udp_drops()
    cpu_before, generator_before = sum(map(cpu_seconds, relay.pids)), cpu_seconds(load.pid)
    machine_before, wall_before = machine_busy_seconds(), time.monotonic()
    lateness = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(generator_window)
        with GcPauses() as gc_pauses:
            if relay.name == "gateway":
                lateness = await trio_lateness(args.seconds, args.trio_probe_ms)
            else:
                await trio.sleep(args.seconds)
        wall = time.monotonic() - wall_before
        cpu = sum(map(cpu_seconds, relay.pids)) - cpu_before
        others = machine_busy_seconds() - machine_before - cpu - (cpu_seconds(load.pid) - generator_before)
    drops = udp_drops()
    delivered = sum(d["received"] for d in window["directions"].values())
    if relay.name != "baseline":
        report.update({"cpu_pct_of_one_core": round(100 * cpu / wall, 1),
                       "cpu_per_call_pct": round(100 * cpu / wall / report["calls_set_up"], 2),
                       "us_per_relayed_packet": round(1e6 * cpu / max(delivered, 1), 1)})
    report.update(window_s=round(wall, 1), **window)
    report["machine"]["others_cpu_pct_during"] = round(100 * max(0.0, others) / wall, 1)
    report["kernel_udp_drops"] = {
        "generator_sockets": sum(v - drops_before.get(k, 0) for k, v in drops.items() if k in generator_ports),
        "other_sockets": sum(v - drops_before.get(k, 0) for k, v in drops.items() if k not in generator_ports)}
    if lateness is not None:
        report["trio_wakeup_late_ms_p50_p99_max"] = [round(1000 * lateness[int(q * (len(lateness) - 1))], 2)
                                                     for q in (0.5, 0.99, 1.0)]
        if not relay.args.workers:
            report["gc_in_gateway_process"] = gc_pauses.summary()


def compare(row: dict) -> None:
    """Latency added over the baseline, and the gateway against rtpengine, into the row."""
    added_latency_and_loss(row)
    gateway, anchor = row.get("gateway", {}), row.get("rtpengine", {})
    if "cpu_per_call_pct" in gateway and anchor.get("cpu_per_call_pct"):
        row["gateway_cpu_per_call_vs_rtpengine"] = round(gateway["cpu_per_call_pct"] / anchor["cpu_per_call_pct"], 2)


async def sweep(args) -> None:
    import trio

    raise_open_files_limit()
    engines = args.engines.split(",")
    daemon = RtpEngine(port_range=(46000, 49999)).start() if "rtpengine" in engines else None
    rows = []
    try:
        for run, n in enumerate(args.calls):
            row = new_row(args, n, video=f"VP8 {WIDTH}x{HEIGHT} {FPS} fps, {args.bitrate // 1000} kbit/s target")
            relays = ([Baseline()] if not args.no_baseline else []) + \
                     ([Gateway(args)] if "gateway" in engines else []) + \
                     ([RtpEngineRelay(daemon, "webrtc", run)] if daemon else [])
            for relay in relays:
                print(f"# N={n}: {relay.name} ...", file=sys.stderr, flush=True)
                with trio.fail_after(30 + 0.5 * n + args.warmup + args.quiet_wait + args.seconds + 90):
                    row[relay.name] = await measure(args, n, relay)
            compare(row)
            report_row(args, rows, row)
    finally:
        if daemon is not None:
            daemon.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=lambda s: [int(n) for n in s.split(",")], default=[5, 20, 50],
                        help="concurrent calls, a comma-separated sweep (default 5,20,50)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per relay and N")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--trio-probe-ms", type=float, default=100.0,
                        help="how often the gateway's trio loop is probed for lateness (each probe costs it CPU)")
    parser.add_argument("--grace", type=float, default=0.5, help="wait for late packets after the window")
    parser.add_argument("--bitrate", type=int, default=1_500_000, help="the clip's VP8 target, bit/s")
    parser.add_argument("--pli-interval", type=float, default=2.0, help="seconds between each end's PLIs")
    parser.add_argument("--engines", default="gateway,rtpengine", help="gateway, rtpengine or both")
    parser.add_argument("--workers", type=int, default=0, help="the gateway's media worker processes (0: a thread)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the no-relay run (no 'added' latency)")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="wait up to this long for other processes to go quiet before each window")
    parser.add_argument("--setup-concurrency", type=int, default=8)
    parser.add_argument("--json", help="also write all rows to this file")
    parser.add_argument("--generator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generator:
        asyncio.run(generator(args.bitrate, args.pli_interval))
        return
    import trio

    trio.run(sweep, args)


if __name__ == "__main__":
    main()
