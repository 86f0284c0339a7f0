"""Media bench: N concurrent relayed PCMU calls through the gateway and through rtpengine, side by side.

    .venv/bin/python bench/media.py                                   # N = 10,50,100,200,500; thread host
    .venv/bin/python bench/media.py --calls 20 --engines gateway      # one N, the gateway only
    .venv/bin/python bench/media.py --calls 100 --host workers --workers 2   # worker processes
    .venv/bin/python bench/media.py --calls 20 --host trio-asyncio --extra-path DIR  # trio-asyncio in DIR
    .venv/bin/python bench/media.py --codec-cost                      # transcoding, per packet
    .venv/bin/python bench/media.py --calls 10,50 --json out.json     # also write every row to a file

For each N it prints one JSON row (numbers, never pass/fail; ``gateway_vs_targets`` compares with the
issue's targets) with, for each relay: its CPU (% of one core, per call, µs per packet sent into it),
packets sent/received/lost each way, one-way latency p50/p99/max each way and what it adds over the
same load with no relay (``baseline``); the load generator's own CPU, send lateness and skipped
packets, kernel UDP receive-buffer drops on the generator's and on the relay's sockets, what other
processes used meanwhile (this machine is shared: each window first waits, bounded, for quiet), a
``bottleneck_hint``, and the interpreter and webims package it ran on.

- ``gateway``: this process runs trio and the media engine (``MediaConfig.workers`` and ``--host`` as
  in docs/media.md); its CPU is read from /proc/<pid>/stat of itself and its worker processes.
- ``rtpengine``: Debian's daemon, userspace (``--table=-1``), started and stopped here by PID
  (bench/rtpengine.py), driven over its ng protocol: the browser's WebRTC offer goes in, RTP/AVP comes
  out towards the phone, so rtpengine terminates ICE and DTLS-SRTP itself, as the gateway does.
- ``baseline``: each call's browser end and phone end wired straight to each other (SRTP both ways),
  the same generator and rate: what the measurement itself costs in latency.

The load runs in a child process (the generator): per call, an aiortc peer as the browser does the
real handshake (ICE + DTLS-SRTP) against the relay, once. Then one thread takes over every call's ICE
socket and SRTP keys, and sends stamped 20 ms PCMU packets for all browsers and all phones (plain RTP
sockets) from one loop, spread evenly over each 20 ms, and receives and unprotects in the same loop
(STUN consent checks and DTLS records are handed back to aiortc). Each payload starts with its send
time (CLOCK_REALTIME, ns), stream and counter; arrivals are stamped by the kernel (SO_TIMESTAMPNS),
so latency = arrival at the far endpoint's socket − send time, independent of how busy the
generator is when it reads. A packet sent in the window and not received within ``--grace`` after it
counts as lost.

That loop is C by default (bench/rtpload.c, built with the system's C compiler on first use, driven through
ctypes by bench/native_media_loop.py; ``--generator-loop python`` runs MediaLoop below, the same packets).
In Python it took ~80 % of a core at 500 calls, on the same 2 cores as the relay it measures; in C ~55 %.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import resource
import socket
import struct
import sys
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from packet_loop import PacketLoop  # noqa: E402
from rtpengine import RTP_TO_RTP, RTP_TO_WEBRTC, WEBRTC_TO_RTP, NgError, RtpEngine, cpu_seconds  # noqa: E402

import pylibsrtp  # noqa: E402
from pylibsrtp._binding import lib as SRTP_LIB  # noqa: E402

from webims.media.srtp_shortcut import srtp_operation  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PERIOD = 0.020                   # 20 ms PCMU packets: 50 per second each way per call
STAMP = struct.Struct("!qII")    # send time (ns, CLOCK_REALTIME like SO_TIMESTAMPNS), stream id, counter
RTP_HEADER = struct.Struct("!BBHII")
TIMESPEC = struct.Struct("@qq")
SO_TIMESTAMPNS = 35              # Linux; the socket module does not name it
PCMU_FILL = bytes([0xFF]) * (160 - STAMP.size)
TO_IMS, TO_BROWSER = 0, 1        # stream id = 2 * call + direction
SRTP_TRAILER = pylibsrtp.SRTP_MAX_TRAILER_LEN
MAX_BEHIND = 0.1                 # s: a generator further behind its schedule skips packets (and says so)
PHONE_PORTS = (50000, 59998)     # the phones' even RTP ports (RTCP on the next), away from the relays'
DISTURBED_PCT = 25.0             # other processes above this much of a core: the window is measured again
DIRECTIONS = ("to_ims", "to_browser")


def interpreter() -> str:
    return f"{os.path.realpath(sys.executable)} (Python {platform.python_version()})"


def thread_cpu_seconds(tid: int) -> float:
    fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def arrival_ns(ancillary) -> int:
    """When the kernel says a datagram arrived (SO_TIMESTAMPNS, CLOCK_REALTIME ns), or now if it did not say."""
    if ancillary:
        seconds, nanoseconds = TIMESPEC.unpack(ancillary[0][2])
        return seconds * 1_000_000_000 + nanoseconds
    return time.time_ns()


def direction_counts(media) -> dict:
    """Packets sent, received and lost, and latency, each way, from a media loop's window."""
    directions = {}
    for d, name in enumerate(DIRECTIONS):
        sent, received = media.sent[d], media.received[d]
        directions[name] = {"sent": sent, "received": received, "lost": sent - received,
                            "lost_pct": round(100 * (sent - received) / max(sent, 1), 3),
                            "latency_ms": percentiles_ms(media.latency[d])}
    return directions


def percentiles_ms(values, qs=(0.5, 0.99)) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    result = {f"p{round(q * 100)}": round(ordered[int(q * (len(ordered) - 1))] / 1e6, 3) for q in qs}
    result["max"] = round(ordered[-1] / 1e6, 3)
    return result


def raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the load generator (child process): the media loop -------------------------------------------

class Port:
    """One socket of the load: sends one stamped PCMU stream and receives the opposite one."""

    __slots__ = ("sock", "remote", "stream", "ssrc", "seq", "ts", "counter", "tx", "rx", "protect", "unprotect",
                 "handoff")

    def __init__(self, sock, remote, stream, *, tx=None, rx=None, ssrc=None, handoff=None):
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock, self.remote, self.stream = sock, remote, stream
        self.ssrc = ssrc if ssrc is not None else 0x10000 + stream
        self.seq, self.ts, self.counter = stream * 7 & 0xFFFF, 0, 0
        self.tx, self.rx = tx, rx            # pylibsrtp Sessions on the browser leg, None on the phone's
        # The same sessions called as the gateway's shortcut calls them: the generator's CPU is not what we measure.
        self.protect = srtp_operation(tx, SRTP_LIB.srtp_protect, SRTP_TRAILER) if tx is not None else None
        self.unprotect = srtp_operation(rx, SRTP_LIB.srtp_unprotect) if rx is not None else None
        self.handoff = handoff               # STUN and DTLS go back to aiortc (ICE consent, alerts)


class _Sink:
    """A socket whose datagrams are only counted: a phone's RTCP port."""

    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def drain(self) -> int:
        count = 0
        while True:
            try:
                self.sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return count
            except OSError:
                continue
            count += 1


class MediaLoop(PacketLoop):
    """Every call's packets, both legs, from one thread: send what is due, drain what arrived, epoll."""

    def __init__(self, ports: list[Port], sinks: list[socket.socket] = ()) -> None:
        self.ports = ports
        self.by_fd = {p.sock.fileno(): p for p in ports}
        self.sinks = {sock.fileno(): sock for sock in sinks}  # phones' RTCP sockets: read, counted, dropped
        self.window = (0, -1)               # ns, CLOCK_REALTIME: packets sent in it are counted
        self.reset()
        self.sending = True                 # paused: no packets out, arrivals and ICE consent still served

    def reset(self) -> None:
        self.sent, self.received = [0, 0], [0, 0]
        self.latency = (array("q"), array("q"))
        self.lateness = array("d")          # how late each send batch started against its schedule, s
        self.send_path = array("q")         # ns from the stamp to sendto's return (SRTP, GIL waits)
        self.read_lag = array("q")          # ns from the kernel's arrival stamp to our reading it
        self.reordered = self.srtp_errors = self.rtcp = self.handed_off = self.send_errors = self.skipped = 0
        self.last_counter: dict[int, int] = {}
        self.gaps, self.gap_samples = 0, []
        self.sent_span: dict[int, list] = {}      # stream → first and last counter sent in the window
        self.received_span: dict[int, list] = {}  # stream → lowest and highest counter received of those

    def fds(self):
        return (*self.by_fd, *self.sinks)

    def serve(self, poller) -> None:
        ports, monotonic = self.ports, time.monotonic
        by_fd = {**self.by_fd, **{fd: _Sink(sock) for fd, sock in self.sinks.items()}}
        step = PERIOD / len(ports)          # spread evenly, as independent calls would be
        start, k = monotonic() + 0.01, 0
        while self._running:
            if not self.sending:
                for fd, _ in poller.poll(0.01):
                    self._drain(by_fd[fd])
                start, k = monotonic() + 0.01, 0  # resume on a fresh schedule, not with a burst
                continue
            now = monotonic()
            due = start + k * step
            if due <= now:
                in_window = self.window[0] <= time.time_ns() < self.window[1]
                if now - due > MAX_BEHIND:  # starved of CPU: skip, as phones would, rather than burst
                    missed = int((now - due) / step)
                    k += missed
                    due = start + k * step
                    self.skipped += missed if in_window else 0
                if in_window:
                    self.lateness.append(now - due)
                batch = 0
                while due <= now:
                    self._send(ports[k % len(ports)])
                    k += 1
                    due = start + k * step
                    batch += 1
                    if batch % 64 == 0:  # a long batch must not leave arrivals unread
                        for fd, _ in poller.poll(0):
                            self._drain(by_fd[fd])
            for fd, _ in poller.poll(max(0.0, due - monotonic())):
                self._drain(by_fd[fd])

    def _send(self, port: Port) -> None:
        sent_ns = time.time_ns()
        packet = (RTP_HEADER.pack(0x80, 0, port.seq, port.ts, port.ssrc)
                  + STAMP.pack(sent_ns, port.stream, port.counter) + PCMU_FILL)
        if port.protect is not None:
            packet = port.protect(packet)
        try:
            port.sock.sendto(packet, port.remote)
        except OSError:
            self.send_errors += 1
        port.seq, port.ts, port.counter = (port.seq + 1) & 0xFFFF, (port.ts + 160) & 0xFFFFFFFF, port.counter + 1
        w0, w1 = self.window
        if w0 <= sent_ns < w1:
            self.sent[port.stream & 1] += 1
            self.sent_span.setdefault(port.stream, [port.counter - 1, 0])[1] = port.counter - 1
            self.send_path.append(time.time_ns() - sent_ns)  # stamp to sendto returned: ours, not the relay's

    def _drain(self, port: Port) -> None:
        if type(port) is _Sink:
            self.rtcp += port.drain()
            return
        # One datagram per readiness: epoll is level-triggered and says again if more wait, and a loop to EAGAIN
        # would cost a failed syscall and an exception per packet at low rates.
        unprotect = port.unprotect
        try:
            data, ancillary, _flags, addr = port.sock.recvmsg(2048, 64)
        except OSError:
            return  # nothing after all, or an ICMP error queued on the socket
        first = data[0]
        if not 127 < first < 192:           # STUN (0-3), DTLS (20-63): aiortc's business (RFC 7983)
            if port.handoff is not None:
                self.handed_off += 1
                port.handoff(data, addr)
            return
        if 191 < data[1] < 224:             # RTCP (RFC 5761 §4): the relay's reports, not measured
            self.rtcp += 1
            return
        if unprotect is not None:
            try:
                data = unprotect(data)
            except pylibsrtp.Error:
                self.srtp_errors += 1
                return
        offset = 12 + 4 * (first & 0x0F)
        if first & 0x10:
            offset += 4 + 4 * int.from_bytes(data[offset + 2:offset + 4], "big")
        sent_ns, stream, counter = STAMP.unpack_from(data, offset)
        arrived_ns = arrival_ns(ancillary)
        w0, w1 = self.window
        if w0 <= sent_ns < w1:
            self.received[stream & 1] += 1
            span = self.received_span.setdefault(stream, [counter, counter])
            span[0], span[1] = min(span[0], counter), max(span[1], counter)
            self.latency[stream & 1].append(arrived_ns - sent_ns)
            self.read_lag.append(time.time_ns() - arrived_ns)  # the generator's lag, not the relay's
        last = self.last_counter.get(stream)
        if last is not None and counter <= last:
            self.reordered += 1
        else:
            if last is not None and counter > last + 1 and w0 <= sent_ns < w1:
                self.gaps += counter - last - 1  # the counter skipped: packets lost in between
                if len(self.gap_samples) < 20:
                    self.gap_samples.append((stream, last + 1, counter - last - 1, sent_ns))
            self.last_counter[stream] = counter


# --- the load generator (child process): calls, on asyncio -------------------------------------------

def stop_reading(transport) -> None:
    """Stop asyncio reading a datagram transport's socket (the media loop reads it from now on).
    Python 3.11.2 (Debian 12) has no ``pause_reading`` on datagram transports, later 3.11s do."""
    try:
        transport.pause_reading()
    except NotImplementedError:
        transport._loop._remove_reader(transport.get_extra_info("socket").fileno())


def record_srtp_keys() -> None:
    """Keep each DTLS-SRTP session's policy, so the media loop can run its own SRTP sessions."""
    import aiortc.rtcdtlstransport
    import pylibsrtp

    class KeyedSession(pylibsrtp.Session):
        def __init__(self, policy=None):
            super().__init__(policy)
            self.bench_policy = (bytes(policy.key), policy.srtp_profile, policy.ssrc_type)

    aiortc.rtcdtlstransport.Session = KeyedSession


def srtp_session(key: bytes, profile: int, ssrc_type: int):
    import pylibsrtp

    return pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=ssrc_type, srtp_profile=profile))


def srtp_profile_name(profile: int) -> str:
    from pylibsrtp import Policy

    names = {v: k.removeprefix("SRTP_PROFILE_") for k, v in vars(Policy).items() if k.startswith("SRTP_PROFILE_")}
    return names.get(profile, str(profile))


def phone_sdp(port: int) -> str:
    return "\r\n".join(["v=0", "o=phone 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
                        f"m=audio {port} RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000",
                        "a=rtpmap:101 telephone-event/8000", "a=ptime:20", "a=sendrecv", ""])


def sdp_audio_address(sdp: str) -> tuple[str, int]:
    lines = sdp.splitlines()
    address = next(line.split()[2] for line in lines if line.startswith("c="))
    port = int(next(line.split()[1] for line in lines if line.startswith("m=audio")))
    return address, port


def udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def rtp_rtcp_sockets(low: int = PHONE_PORTS[0], high: int = PHONE_PORTS[1]) -> tuple[socket.socket, socket.socket]:
    """An even RTP port and the RTCP port above it, both bound, as a phone has (RFC 3550 §11): the relay
    sends RTCP to port + 1, which must not be some other call's socket."""
    import random

    for _ in range(200):
        port = random.randrange(low, high, 2)
        rtp, rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rtp.bind(("127.0.0.1", port))
            rtcp.bind(("127.0.0.1", port + 1))
        except OSError:
            rtp.close()
            rtcp.close()
            continue
        rtcp.setblocking(False)
        return rtp, rtcp
    raise OSError(f"no free RTP/RTCP port pair in {low}-{high}")


class Load:
    """The calls of one generator: browsers (aiortc for the handshake, or plain RTP), phones, pairs."""

    def __init__(self) -> None:
        self.browsers: dict[int, tuple] = {}        # call → (pc, transceiver)
        self.plain_browsers: dict[int, Port] = {}   # call → Port (rtpengine fallback: RTP both sides)
        self.phones: dict[int, Port] = {}
        self.pairs: dict[int, tuple[Port, Port]] = {}
        self.phone_rtcp: list[socket.socket] = []
        self.media: MediaLoop | None = None

    # setup
    async def browser_offer(self, i: int) -> dict:
        pc, _ = self.browsers[i] = browser_peer(("audio", "PCMU"))
        await pc.setLocalDescription(await pc.createOffer())
        return {"sdp": pc.localDescription.sdp}

    async def browser_answer(self, i: int, sdp: str, timeout: float = 30.0) -> dict:
        await browser_connected(self.browsers[i][0], sdp, timeout)
        return {}

    async def plain_browser_offer(self, i: int) -> dict:
        sock, rtcp = rtp_rtcp_sockets()
        self.plain_browsers[i] = Port(sock, None, 2 * i + TO_IMS)
        self.phone_rtcp.append(rtcp)
        return {"sdp": phone_sdp(sock.getsockname()[1])}

    async def plain_browser_answer(self, i: int, sdp: str) -> dict:
        self.plain_browsers[i].remote = sdp_audio_address(sdp)
        return {}

    async def phone(self, i: int, sdp: str) -> dict:
        sock, rtcp = rtp_rtcp_sockets()
        self.phones[i] = Port(sock, sdp_audio_address(sdp), 2 * i + TO_BROWSER)
        self.phone_rtcp.append(rtcp)
        return {"sdp": phone_sdp(sock.getsockname()[1])}

    async def pair(self, i: int) -> dict:
        """No relay: the browser end and the phone end send to each other, SRTP both ways."""
        from pylibsrtp import Policy

        gcm = Policy.SRTP_PROFILE_AEAD_AES_256_GCM
        a, b = os.urandom(44), os.urandom(44)
        browser, phone = udp_socket(), udp_socket()
        self.pairs[i] = (
            Port(browser, phone.getsockname(), 2 * i + TO_IMS, tx=srtp_session(a, gcm, Policy.SSRC_ANY_OUTBOUND),
                 rx=srtp_session(b, gcm, Policy.SSRC_ANY_INBOUND)),
            Port(phone, browser.getsockname(), 2 * i + TO_BROWSER,
                 tx=srtp_session(b, gcm, Policy.SSRC_ANY_OUTBOUND), rx=srtp_session(a, gcm, Policy.SSRC_ANY_INBOUND)))
        return {}

    # media
    def _take_over(self, i: int) -> Port:
        _, transceiver = self.browsers[i]
        return Port(**take_over(transceiver), stream=2 * i + TO_IMS)

    async def start(self, media_loop: str = "native", tick_ms: float = 0.0) -> dict:
        ports = []
        for i in sorted(set(self.browsers) | set(self.plain_browsers) | set(self.pairs)):
            if i in self.pairs:
                ports += self.pairs[i]
            elif i in self.phones:
                ports += [self._take_over(i) if i in self.browsers else self.plain_browsers[i], self.phones[i]]
        gc.collect()
        gc.freeze()  # the aiortc peers are long-lived: keep full collections from walking them mid-window
        if media_loop == "native":
            from native_media_loop import NativeMediaLoop

            # room for every packet of a 10 s window and its grace, several times over
            self.media = NativeMediaLoop(ports, self.phone_rtcp, period=PERIOD, max_behind=MAX_BEHIND,
                                         capacity=int(len(ports) / PERIOD * 40), tick=tick_ms / 1000)
        else:
            self.media = MediaLoop(ports, self.phone_rtcp)
        self.media.start()
        profiles = sorted({srtp_profile_name(t.sender.transport._tx_srtp.bench_policy[1])
                           for _, t in self.browsers.values()})
        return {"ports": [p.sock.getsockname()[1] for p in ports], "calls": len(ports) // 2,
                "browser_leg_srtp": profiles or (["AEAD_AES_256_GCM"] if self.pairs else ["none"])}

    async def pause(self) -> dict:
        self.media.sending = False
        return {}

    async def resume(self) -> dict:
        self.media.sending = True
        return {}

    async def measure(self, seconds: float, grace: float) -> dict:
        media = self.media
        media.reset()
        cpu0, media_cpu0, wall0 = cpu_seconds(), thread_cpu_seconds(media.tid), time.monotonic()
        now = time.time_ns()
        media.window = (now, now + int(seconds * 1e9))
        await asyncio.sleep(seconds)
        cpu, media_cpu = cpu_seconds() - cpu0, thread_cpu_seconds(media.tid) - media_cpu0
        wall = time.monotonic() - wall0
        await asyncio.sleep(grace)
        media.window = (0, -1)
        calls = len(media.ports) // 2
        directions = direction_counts(media)
        both = percentiles_ms(media.latency[0] + media.latency[1])
        head, tail, silent = 0, 0, []  # where the lost packets were: the window's start, its end, or whole streams
        for stream, (first, last) in media.sent_span.items():
            got = media.received_span.get(stream)
            if got is None:
                silent.append(stream)
            else:
                head, tail = head + got[0] - first, tail + last - got[1]
        lateness = sorted(media.lateness)
        return {
            "directions": directions, "latency_ms": both,
            "lost_where": {"window_start": head, "between": media.gaps, "window_end": tail,
                           "streams_with_nothing": len(silent)},
            "silent_calls": sorted({stream // 2 for stream in silent})[:10], "gap_samples": media.gap_samples[:5],
            "reordered": media.reordered, "srtp_errors": media.srtp_errors, "send_errors": media.send_errors,
            "browser_peers_connected": sum(pc.connectionState == "connected" for pc, _ in self.browsers.values())
            + len(self.plain_browsers) + len(self.pairs),
            "generator": {
                "media_loop": "C (bench/rtpload.c)" if type(media) is not MediaLoop else "Python (MediaLoop)",
                **({"media_loop_failure": media.failure} if getattr(media, "failure", None) else {}),
                "cpu_pct_of_one_core": round(100 * cpu / wall, 1),
                "media_thread_pct": round(100 * media_cpu / wall, 1),
                "sent_pkt_per_s": round(sum(media.sent) / seconds),
                "scheduled_pkt_per_s": round(2 * calls / PERIOD),
                "skipped_pkts": media.skipped,
                "send_late_ms_p50_p99_max": [round(1000 * lateness[int(q * (len(lateness) - 1))], 2)
                                             for q in (0.5, 0.99, 1.0)] if lateness else None,
                "stamp_to_sent_ms": percentiles_ms(media.send_path),
                "arrival_to_read_ms": percentiles_ms(media.read_lag),
                "stun_dtls_handed_to_aiortc": media.handed_off, "rtcp_received": media.rtcp,
            },
        }

    async def stop(self) -> dict:
        media, self.media = self.media, None
        if media is not None:
            media.stop()
            for port in media.ports:
                port.sock.close()
        browsers, self.browsers = self.browsers, {}
        await asyncio.gather(*(pc.close() for pc, _ in browsers.values()), return_exceptions=True)
        pairs = (port for pair in self.pairs.values() for port in pair)
        for port in [*self.phones.values(), *self.plain_browsers.values(), *pairs]:
            port.sock.close()
        for sock in self.phone_rtcp:
            sock.close()
        return {}


def browser_peer(*codecs: tuple[str, str]) -> tuple:
    """An aiortc peer as a call's browser: a sendrecv transceiver per (kind, codec), whose sender never starts
    (the media loop sends with its SSRC). Returns the peer and its last transceiver."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    for kind, codec in codecs:
        transceiver = pc.addTransceiver(kind, direction="sendrecv")
        transceiver.setCodecPreferences([c for c in RTCRtpSender.getCapabilities(kind).codecs if c.name == codec])
        transceiver.sender.send = sender_stays_idle
    connected = asyncio.Event()
    pc.on("connectionstatechange", lambda: connected.set() if pc.connectionState == "connected" else None)
    pc.bench_connected = connected
    return pc, transceiver


async def browser_connected(pc, sdp: str, timeout: float) -> None:
    """Give the browser peer the relay's answer and wait until ICE and DTLS are done."""
    from aiortc import RTCSessionDescription

    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
    await asyncio.wait_for(pc.bench_connected.wait(), timeout)


def take_over(transceiver) -> dict:
    """A connected browser transceiver's ICE socket and SRTP keys, for the media loop (aiortc keeps ICE
    consent: STUN and DTLS go back to it through ``handoff``): a Port's keyword arguments."""
    dtls = transceiver.sender.transport
    pair = dtls.transport._connection._nominated[1]
    protocol = pair.protocol
    stop_reading(protocol.transport)
    loop = asyncio.get_running_loop()
    return {"sock": socket.socket(fileno=os.dup(protocol.transport.get_extra_info("socket").fileno())),
            "remote": pair.remote_addr, "ssrc": transceiver.sender._ssrc,
            "tx": srtp_session(*dtls._tx_srtp.bench_policy), "rx": srtp_session(*dtls._rx_srtp.bench_policy),
            "handoff": lambda data, addr: loop.call_soon_threadsafe(protocol.datagram_received, data, addr)}


async def sender_stays_idle(parameters) -> None:
    """Stands in for aiortc's ``RTCRtpSender.send``: the media loop is this browser's sender."""


async def generator() -> None:
    await serve(Load)


async def serve(make_load) -> None:
    """The generator's life: ``make_load()`` answers the bench's requests, JSON lines on stdin
    ({"id", "op", ...}), on stdout, concurrently; stdin's end stops it."""
    import aioice.ice

    raise_open_files_limit()
    sys.setswitchinterval(0.0005)  # the media thread gets the GIL back soon after SRTP (which releases it)
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]  # NOTES: aioice skips loopback
    record_srtp_keys()
    load = make_load()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()

    async def answer(request: dict) -> None:
        ident, op = request.pop("id"), request.pop("op")
        try:
            reply = await getattr(load, op)(**request)
        except Exception as exc:  # reported to the bench, which counts the call as not set up
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps({"id": ident, **reply}) + "\n")
        sys.stdout.flush()

    while line := await reader.readline():
        task = asyncio.ensure_future(answer(json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await load.stop()


# --- the bench (trio): relays ------------------------------------------------------------------------

class LoadGenerator:
    """The generator child process, seen from trio: ``await ask(op, **params)``, requests concurrent."""

    def __init__(self, process) -> None:
        import trio

        self.process = process
        self._write_lock = trio.Lock()
        self._waiting: dict[int, list] = {}
        self._ids = iter(range(1, 1 << 62))

    @property
    def pid(self) -> int:
        return self.process.pid

    async def read_replies(self) -> None:
        buffer = b""
        while chunk := await self.process.stdout.receive_some(1 << 16):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                reply = json.loads(line)
                slot = self._waiting.pop(reply.pop("id"))
                slot[1] = reply
                slot[0].set()
        for event, _ in self._waiting.values():
            event.set()  # the generator ended: every waiter wakes to an empty reply

    async def ask(self, op: str, **params) -> dict:
        import trio

        ident = next(self._ids)
        slot = self._waiting[ident] = [trio.Event(), None]
        async with self._write_lock:
            await self.process.stdin.send_all((json.dumps({"id": ident, "op": op, **params}) + "\n").encode())
        await slot[0].wait()
        if slot[1] is None:
            raise RuntimeError(f"the load generator ended during {op!r}")
        if "error" in slot[1]:
            raise RuntimeError(slot[1]["error"])
        return slot[1]

    async def close(self) -> None:
        import trio

        with trio.CancelScope(shield=True):
            await self.process.stdin.aclose()
            with trio.move_on_after(15):
                await self.process.wait()
            if self.process.returncode is None:
                os.kill(self.process.pid, 9)
                await self.process.wait()


class Baseline:
    name = "baseline"
    pids: list = []

    def describe(self) -> dict:
        return {"relay": "none: each call's two ends send straight to each other (SRTP both ways)"}

    async def start(self, nursery) -> None:
        pass

    async def setup_call(self, load: LoadGenerator, i: int) -> None:
        await load.ask("pair", i=i)

    async def stop(self) -> None:
        pass


class Gateway:
    """webims' media engine in this process (or its workers), with the calls' bridges. bench/video.py's is this
    one with video in each call (``call_media``) and its own options (``media_config``)."""

    name = "gateway"

    def __init__(self, args) -> None:
        self.args = args
        self.engine = None
        self.bridges = []
        self.freeze_gc = getattr(args, "gateway_gc_freeze", False) and args.host != "workers"

    def describe(self) -> dict:
        host = self.args.host + (f" x{self.args.workers}" if self.args.host == "workers" else "")
        return {"relay": "webims media engine", "host": host,
                "event_loop": "trio-asyncio" if self.args.host == "trio-asyncio" else self.args.event_loop}

    @property
    def pids(self) -> list:
        return ["self"] + [h.pid for h in self.engine._hosts if getattr(h, "pid", None)]

    def media_config(self) -> dict:
        """MediaConfig's settings beyond the bench's addresses, ports and PCMU."""
        args = self.args
        return {"workers": args.workers if args.host == "workers" else 0, "event_loop": args.event_loop}

    def call_media(self) -> list:
        """What each call carries besides audio (CallMedia), as a plugin would add it."""
        return []

    async def start(self, nursery) -> None:
        from webims.media import MediaConfig
        from webims.media.engine import MediaEngine

        config = MediaConfig(browser_addresses=("127.0.0.1",), ims_port_range=(43000, 44999), browser_codecs=("PCMU",),
                             **self.media_config())
        self.engine = MediaEngine(config)
        if getattr(self.args, "host", None) == "trio-asyncio":
            self.engine._hosts = [TrioAsyncioHost(config, self.engine._deliver)]
            for host in self.engine._hosts:
                await host.start(nursery)
        else:
            await self.engine._start(nursery)

    async def setup_call(self, load: LoadGenerator, i: int) -> None:
        bridge = await self.engine.new_bridge(f"bench-{i}", media=self.call_media())
        self.bridges.append(bridge)
        offer = (await load.ask("browser_offer", i=i))["sdp"]
        answer = await bridge.accept_browser_offer(offer)
        phone = (await load.ask("phone", i=i, sdp=await bridge.ims_offer()))["sdp"]
        await bridge.accept_ims_answer(phone)
        await load.ask("browser_answer", i=i, sdp=answer)

    async def bridge_stats(self, i: int) -> dict:
        """What the gateway itself counted for call ``i`` (when the generator heard nothing of it)."""
        bridge = next(b for b in self.bridges if b.call_id == f"bench-{i}")
        stats = await bridge.stats()
        return {"call": i, "to_ims": stats.to_ims, "to_browser": stats.to_browser, "dropped": stats.dropped,
                "ims_port": stats.ims_port, "mode": str(stats.mode)}

    async def modes(self) -> list[str]:
        """Relay or transcode: read after the window (each stats() is a round trip to the media loop)."""
        return sorted({str((await b.stats()).mode) for b in self.bridges})

    async def stop(self) -> None:
        for bridge in self.bridges:
            await bridge.close()
        if self.engine is None:
            return
        if getattr(self.args, "host", None) == "trio-asyncio":
            await self.engine._hosts[0].stop()
        else:
            await self.engine._stop()


class RtpEngineRelay:
    """Debian's rtpengine (userspace), one daemon for the whole run; calls created and deleted over ng."""

    name = "rtpengine"

    def __init__(self, daemon: RtpEngine, browser_leg: str, run: int) -> None:
        self.daemon = daemon
        self.browser_leg = browser_leg   # "webrtc" (rtpengine does ICE + DTLS-SRTP) or "rtp" (fallback)
        self.run = run
        self.call_ids: list[str] = []
        self.fallback_reason: str | None = None

    def describe(self) -> dict:
        leg = ("WebRTC: ICE + DTLS-SRTP terminated by rtpengine" if self.browser_leg == "webrtc"
               else "plain RTP/AVP on both sides (fallback)")
        info = {"relay": f"rtpengine userspace (--table=-1, {self.daemon.threads} threads)",
                "version": self.daemon.version, "browser_leg": leg}
        if self.fallback_reason:
            info["fallback_reason"] = self.fallback_reason
        return info

    @property
    def pids(self) -> list:
        return [self.daemon.pid]

    async def start(self, nursery) -> None:
        pass

    async def ng(self, command: str, **params) -> dict:
        import trio

        return await trio.to_thread.run_sync(lambda: self.daemon.ng.request(command, **params))

    async def setup_call(self, load: LoadGenerator, i: int) -> None:
        call_id = f"bench-{self.run}-{i}"
        self.call_ids.append(call_id)
        webrtc = self.browser_leg == "webrtc"
        offer = (await load.ask("browser_offer" if webrtc else "plain_browser_offer", i=i))["sdp"]
        out = await self.ng("offer", **{"call-id": call_id, "from-tag": "browser", "sdp": offer},
                            **(WEBRTC_TO_RTP if webrtc else RTP_TO_RTP))
        phone = (await load.ask("phone", i=i, sdp=out["sdp"]))["sdp"]
        back = await self.ng("answer", **{"call-id": call_id, "from-tag": "browser", "to-tag": "phone",
                                          "sdp": phone}, **(RTP_TO_WEBRTC if webrtc else RTP_TO_RTP))
        await load.ask("browser_answer" if webrtc else "plain_browser_answer", i=i, sdp=back["sdp"])

    async def relayed_packets(self) -> int:
        """rtpengine's own count of packets it relayed (RTP and RTCP), since it started."""
        answer = await self.ng("statistics")
        return int(answer["statistics"]["totalstatistics"]["relayedpackets"])

    async def stop(self) -> None:
        for call_id in self.call_ids:
            try:
                await self.ng("delete", **{"call-id": call_id})
            except NgError:
                pass  # a call whose setup failed before rtpengine knew it


async def measure(args, n: int, relay) -> dict:
    """N calls through one relay: set up, warm up, one measured window; everything started is stopped."""
    import trio

    process = await trio.lowlevel.open_process([sys.executable, __file__, "--generator"], stdin=-1, stdout=-1)
    load = LoadGenerator(process)
    report: dict = {**relay.describe()}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(load.read_replies)
        try:
            await relay.start(nursery)
            if not await set_up_calls(args, n, relay, load, report):
                return report
            if getattr(relay, "freeze_gc", False):
                gc.collect()
                gc.freeze()  # --gateway-gc-freeze: what the gateway would gain from it (thread host)
                report["gc_frozen_after_setup"] = True
            ports = await load.ask("start", media_loop=args.generator_loop, tick_ms=args.generator_tick_ms)
            await load.ask("pause")
            report.update(calls_set_up=ports["calls"], browser_leg_srtp=ports["browser_leg_srtp"])
            await measure_quiet_window(args, relay, load, report)
            if relay.name == "gateway":
                report["modes"] = await relay.modes()
                if report.get("silent_calls"):
                    report["silent_calls_bridges"] = [await relay.bridge_stats(i) for i in report["silent_calls"]]
            await load.ask("stop")
            return report
        finally:
            with trio.CancelScope(shield=True):
                await load.close()
                await relay.stop()
            if report.get("gc_frozen_after_setup"):
                gc.unfreeze()
            nursery.cancel_scope.cancel()


async def set_up_calls(args, n: int, relay, load: LoadGenerator, report: dict, *, timeout: float = 0) -> bool:
    """Every call's offer/answer and handshake, ``--setup-concurrency`` at a time, bounded by ``timeout``
    (default: ``--setup-timeout``'s)."""
    import trio

    started, failures = time.monotonic(), []
    limit = trio.Semaphore(args.setup_concurrency)

    async def one(i: int) -> None:
        async with limit:
            try:
                await relay.setup_call(load, i)
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")

    with trio.move_on_after(timeout or setup_timeout(args, n)) as scope:
        async with trio.open_nursery() as calls:
            for i in range(n):
                calls.start_soon(one, i)
    report.update(calls_set_up=0 if scope.cancelled_caught else n - len(failures),
                  setup_s=round(time.monotonic() - started, 1))
    if failures or scope.cancelled_caught:
        report["setup_failures"] = {"count": len(failures), "first": failures[:3], "timed_out": scope.cancelled_caught}
    return report["calls_set_up"] > 0


async def measure_quiet_window(args, relay, load: LoadGenerator, report: dict) -> None:
    """This machine is shared: wait (bounded) for quiet with the media paused, then resume, warm up and
    measure; a window that other processes disturbed is measured again, up to ``--attempts`` times.

    The media pauses while we wait because a relay kept overloaded for 30 s loses its calls to ICE
    consent (RFC 7675: aioice, like browsers, gives up when its checks go unanswered)."""
    import trio

    disturbed = []
    for attempt in range(args.attempts):
        machine = await wait_for_quiet([*relay.pids, load.pid], args.quiet_wait)
        await load.ask("resume")
        await trio.sleep(args.warmup)
        report["machine"] = machine
        await measure_window(args, relay, load, report)
        others = report["machine"]["others_cpu_pct_during"]
        if others <= DISTURBED_PCT or attempt == args.attempts - 1:
            break
        disturbed.append(others)
        await load.ask("pause")
    report["machine"]["disturbed_windows_before_this_one"] = disturbed


async def measure_window(args, relay, load: LoadGenerator, report: dict) -> None:
    """One window: the relay's CPU from /proc, the generator's packets, everyone else's CPU, drops."""
    import trio

    window: dict = {}

    async def generator_window() -> None:
        window.update(await load.ask("measure", seconds=args.seconds, grace=args.grace))

    counted = getattr(relay, "relayed_packets", None)
    relayed_before = await counted() if counted else None
    drops_before = udp_drops_by_inode()
    cpu_before, generator_before = sum(map(cpu_seconds, relay.pids)), cpu_seconds(load.pid)
    machine_before, wall_before = machine_busy_seconds(), time.monotonic()
    lateness = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(generator_window)
        with GcPauses() as gc_pauses:
            if relay.name == "gateway":
                lateness = await trio_lateness(args.seconds, args.trio_probe_ms)  # the call layer's view meanwhile
            else:
                await trio.sleep(args.seconds)
        wall = time.monotonic() - wall_before
        cpu = sum(map(cpu_seconds, relay.pids)) - cpu_before
        others = machine_busy_seconds() - machine_before - cpu - (cpu_seconds(load.pid) - generator_before)
        relayed = await counted() - relayed_before if counted else None
    drops = udp_drops_by_inode()
    dropped = {inode: count - drops_before.get(inode, 0) for inode, count in drops.items()}

    sent = sum(d["sent"] for d in window["directions"].values())
    if relay.name != "baseline":
        report.update({"cpu_pct_of_one_core": round(100 * cpu / wall, 1),
                       "cpu_per_call_pct": round(100 * cpu / wall / report["calls_set_up"], 3),
                       "us_per_packet": round(1e6 * cpu / max(sent, 1), 1)})  # per packet sent into it
    if relayed is not None:
        report["relayed_pkt_per_s_by_its_own_count"] = round(relayed / wall)
    report.update(window_s=round(wall, 1), **window)
    report["machine"]["others_cpu_pct_during"] = round(100 * max(0.0, others) / wall, 1)
    report["kernel_udp_drops"] = {
        "generator_sockets": sum(dropped.get(inode, 0) for inode in socket_inodes([load.pid])),
        "relay_sockets": sum(dropped.get(inode, 0) for inode in socket_inodes(relay.pids))}
    if lateness is not None:
        report["trio_wakeup_late_ms_p50_p99_max"] = [round(1000 * lateness[int(q * (len(lateness) - 1))], 2)
                                                     for q in (0.5, 0.99, 1.0)]
    if relay.name == "gateway" and relay.args.host != "workers":
        report["gc_in_gateway_process"] = gc_pauses.summary()
    report["bottleneck_hint"] = bottleneck(report, relay)


def bottleneck(report: dict, relay) -> list[str]:
    """Which side limited this window, from the numbers above (a hint for the reader, not a verdict)."""
    hints = []
    others = report["machine"]["others_cpu_pct_during"]
    if others > DISTURBED_PCT:
        hints.append(f"other processes used {others:.0f} % of a core meanwhile: numbers disturbed")
    generator = report["generator"]
    busy = report.get("cpu_pct_of_one_core", 0) + generator["cpu_pct_of_one_core"] + others
    if busy > 90 * (os.cpu_count() or 1):
        hints.append(f"all {os.cpu_count()} cores busy (relay + generator + others = {busy:.0f} % of one core)")
    if report["browser_peers_connected"] < report["calls_set_up"] and relay.name != "baseline":
        hints.append(f"{report['calls_set_up'] - report['browser_peers_connected']} browser peers lost ICE/DTLS")
    if generator["skipped_pkts"] or generator["sent_pkt_per_s"] < 0.98 * generator["scheduled_pkt_per_s"]:
        hints.append("generator behind its schedule (it skipped packets)")
    lost = sum(d["lost"] for d in report["directions"].values())
    p99 = report["latency_ms"].get("p99", math.inf)
    if relay.name != "baseline" and (lost or report["kernel_udp_drops"]["relay_sockets"] or p99 > 5):
        capacity = 100.0 * (relay.args.workers if relay.name == "gateway" and relay.args.host == "workers" else 1)
        relay_busy = report.get("cpu_pct_of_one_core", 0)
        hints.append(f"relay: {lost} lost, p99 {p99:g} ms, at {relay_busy:g} % of one core"
                     + (" (a single-threaded host's limit)" if relay.name == "gateway" and relay_busy > 0.9 * capacity
                        else ""))
    return hints or ["none"]


def setup_timeout(args, n: int) -> float:
    return args.setup_timeout or 30 + 0.2 * n


def phase_deadline(args, n: int) -> float:
    """The most one relay's measurement at one N may take: setup, every attempt, teardown."""
    return setup_timeout(args, n) + args.attempts * (args.quiet_wait + args.warmup + args.seconds + args.grace + 5) + 90


def machine_busy_seconds() -> float:
    """CPU seconds all processes spent (all cores), from /proc/stat: to see what else ran meanwhile."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


async def wait_for_quiet(ours: list, max_wait: float, threshold_pct: float = 15.0) -> dict:
    """Wait (bounded) until processes other than ours use under ``threshold_pct`` of one core for 2 s:
    this machine is shared (other engineers' test runs), and their load would be measured as ours."""
    import trio

    started, quiet_for = time.monotonic(), 0.0
    others = None
    while True:
        busy0, ours0 = machine_busy_seconds(), sum(map(cpu_seconds, ours))
        await trio.sleep(0.5)
        others = 100 * max(0.0, (machine_busy_seconds() - busy0) - (sum(map(cpu_seconds, ours)) - ours0)) / 0.5
        quiet_for = quiet_for + 0.5 if others < threshold_pct else 0.0
        waited = time.monotonic() - started
        if quiet_for >= 2.0 or waited >= max_wait:
            return {"waited_s": round(waited, 1), "quiet": quiet_for >= 2.0,
                    "others_cpu_pct_before": round(others, 1)}


class GcPauses:
    """Garbage-collector pauses in this process during the window (the gateway's, with the thread host)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def __enter__(self) -> GcPauses:
        import gc

        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info) -> None:
        import gc

        gc.callbacks.remove(self._callback)

    def summary(self) -> dict:
        return {"collections": len(self.pauses), "full": sum(1 for g, _ in self.pauses if g == 2),
                "max_ms": round(1000 * max((d for _, d in self.pauses), default=0.0), 1),
                "total_ms": round(1000 * sum(d for _, d in self.pauses), 1)}


def udp_drops_by_inode() -> dict[int, int]:
    """Datagrams the kernel dropped per UDP socket (full receive buffer), by inode, from /proc/net/udp."""
    drops = {}
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        drops[int(fields[9])] = int(fields[-1])
    return drops


def socket_inodes(pids) -> set[int]:
    """The inodes of the sockets these processes hold open (``socket:[inode]`` in /proc/<pid>/fd)."""
    inodes = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue  # closed meanwhile
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def udp_drops() -> dict[int, int]:
    """Datagrams the kernel dropped per local UDP port (full receive buffers), from /proc/net/udp."""
    drops: dict[int, int] = {}
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        port = int(fields[1].split(":")[1], 16)
        drops[port] = drops.get(port, 0) + int(fields[-1])
    return drops


async def trio_lateness(seconds: float, interval_ms: float) -> list[float]:
    """How late trio wakes from ``interval_ms`` sleeps meanwhile: what the call layer (SIP, WebSocket) feels.

    The probe is not free: every wake-up takes the GIL from the media thread. At a 5 ms interval it cost the
    gateway about 23 µs per relayed packet at 10 calls (49 instead of 26), more than the relay itself, so the
    default (``--trio-probe-ms``) is 100 ms: still 100 samples in a 10 s window, at a cost that no longer
    hides the relay's."""
    import trio

    late = []
    end = trio.current_time() + seconds
    while trio.current_time() < end:
        target = min(end, trio.current_time() + interval_ms / 1000)
        await trio.sleep_until(target)
        late.append(trio.current_time() - target)
    return sorted(late)


def added_latency_and_loss(row: dict) -> None:
    """Each relay's latency over the baseline's and its lost packets, into the row."""
    base = row.get("baseline", {}).get("latency_ms")
    for name in ("gateway", "rtpengine"):
        relay = row.get(name)
        if not relay or not relay.get("latency_ms"):
            continue
        if base:
            relay["added_latency_ms"] = {q: round(relay["latency_ms"][q] - base[q], 3) for q in ("p50", "p99")}
        relay["lost_total"] = sum(d["lost"] for d in relay["directions"].values())


def compare(row: dict) -> None:
    """Latency added over the baseline, and the gateway against rtpengine, into the row."""
    added_latency_and_loss(row)
    gateway, anchor = row.get("gateway", {}), row.get("rtpengine", {})
    if not gateway.get("latency_ms"):
        return
    keeps_up = gateway["lost_total"] == 0 and gateway.get("added_latency_ms", gateway["latency_ms"])["p99"] <= 5
    if "cpu_per_call_pct" in gateway and anchor.get("cpu_per_call_pct"):
        # a saturated gateway's CPU is capped by its cores, so its "per call" would flatter it
        row["gateway_cpu_per_call_vs_rtpengine"] = (
            round(gateway["cpu_per_call_pct"] / anchor["cpu_per_call_pct"], 2) if keeps_up else "saturated")
    ratio = row.get("gateway_cpu_per_call_vs_rtpengine")
    row["gateway_vs_targets"] = {
        "all_calls_set_up": gateway.get("calls_set_up") == row["calls"],
        "zero_loss": gateway["lost_total"] == 0,
        "p99_added_latency_le_5ms": gateway.get("added_latency_ms", gateway["latency_ms"])["p99"] <= 5,
        "cpu_per_call_within_3x_rtpengine": ratio <= 3 if isinstance(ratio, float) else None}


async def bench(args) -> None:
    raise_open_files_limit()
    if args.host == "trio-asyncio" and "gateway" in args.engines:
        import trio_asyncio

        async with trio_asyncio.open_loop():
            await sweep(args)
    else:
        await sweep(args)


async def sweep(args) -> None:
    import trio

    engines = args.engines.split(",")
    daemon = RtpEngine(port_range=(46000, 49999), threads=args.rtpengine_threads).start() \
        if "rtpengine" in engines else None
    browser_leg = args.rtpengine_leg
    rows = []
    try:
        for run, n in enumerate(args.calls):
            row = new_row(args, n)
            relays = ([Baseline()] if not args.no_baseline else []) + \
                     ([Gateway(args)] if "gateway" in engines else []) + \
                     ([RtpEngineRelay(daemon, browser_leg, run)] if daemon else [])
            for relay in relays:
                print(f"# N={n}: {relay.name} ...", file=sys.stderr, flush=True)
                with trio.fail_after(phase_deadline(args, n)):
                    result = await measure(args, n, relay)
                if relay.name == "rtpengine" and browser_leg == "webrtc" and not result.get("calls_set_up"):
                    browser_leg = "rtp"  # rtpengine could not do WebRTC here: plain RTP⇄RTP from now on
                    relay = RtpEngineRelay(daemon, browser_leg, run + 1000)
                    relay.fallback_reason = ("WebRTC setup through rtpengine failed: "
                                             f"{(result.get('setup_failures') or {}).get('first')}")
                    with trio.fail_after(phase_deadline(args, n)):
                        result = await measure(args, n, relay)
                row[relay.name] = result
            compare(row)
            report_row(args, rows, row)
    finally:
        if daemon is not None:
            daemon.close()


def new_row(args, n: int, **about) -> dict:
    """One N's row, before the relays' results: what ran it and on what."""
    return {"calls": n, **about, "interpreter": interpreter(), "webims": webims_location(), "cpus": os.cpu_count(),
            "cpu_model": cpu_model(), "window_s": args.seconds, "warmup_s": args.warmup}


def report_row(args, rows: list, row: dict) -> None:
    """Print a finished row, and write all rows so far to ``--json``."""
    rows.append(row)
    print(json.dumps(row, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


def webims_location() -> str:
    """Which media engine was measured (PYTHONPATH can point at a snapshot of another commit)."""
    import webims

    return str(Path(webims.__file__).parent)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


# --- transcoding cost ------------------------------------------------------------------------------

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
    print(json.dumps({"interpreter": interpreter(), "us_per_packet": results,
                      "transcoding_pct_of_one_core_per_call": round(per_call, 2)}))


class TrioAsyncioHost:
    """For comparison only: the media worker on trio-asyncio's loop, inside trio's own thread.

    The loop is opened once by the bench's main task (:func:`bench`), so every task the bench
    starts later, and every asyncio callback, finds it (trio-asyncio keeps it in a context variable).
    """

    def __init__(self, config, deliver):
        from webims.media.worker import MediaWorker

        self.worker, self.load = MediaWorker(config, deliver), 0

    async def start(self, nursery):
        pass

    async def call(self, bridge_id, operation, *args):
        import trio_asyncio

        return await trio_asyncio.aio_as_trio(self.worker.handle)(bridge_id, operation, args)

    async def stop(self):
        import trio_asyncio

        await trio_asyncio.aio_as_trio(self.worker.close_all)()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=lambda s: [int(n) for n in s.split(",")], default=[10, 50, 100, 200, 500],
                        help="concurrent calls, a comma-separated sweep (default 10,50,100,200,500)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per relay and N")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--trio-probe-ms", type=float, default=100.0,
                        help="how often the gateway's trio loop is probed for lateness (each probe costs it CPU)")
    parser.add_argument("--generator-loop", choices=("native", "python"), default="native",
                        help="the load generator's packet loop: rtpload.c (built with the system's C compiler on "
                             "first use; a fraction of the CPU) or Python's MediaLoop (the same packets)")
    parser.add_argument("--generator-tick-ms", type=float, default=0.0,
                        help="native loop only: wake on this clock and read what arrived meanwhile (the kernel "
                             "stamps arrivals), instead of waking for each arrival")
    parser.add_argument("--grace", type=float, default=2.0,
                        help="how long after the window a packet may still arrive (later = lost)")
    parser.add_argument("--engines", default="gateway,rtpengine", help="gateway, rtpengine or both")
    parser.add_argument("--no-baseline", action="store_true", help="skip the no-relay run (no 'added' latency)")
    parser.add_argument("--host", choices=("thread", "workers", "trio-asyncio"), default="thread")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--event-loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="the gateway's media loop (MediaConfig.event_loop)")
    parser.add_argument("--gateway-gc-freeze", action="store_true",
                        help="gc.freeze() in the gateway process after setup (not with --host workers)")
    parser.add_argument("--rtpengine-threads", type=int, default=None, help="default: one per CPU")
    parser.add_argument("--rtpengine-leg", choices=("webrtc", "rtp"), default="webrtc",
                        help="what rtpengine's browser side is (webrtc falls back to rtp if it fails)")
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="wait up to this long for other processes to go quiet before each window")
    parser.add_argument("--attempts", type=int, default=3,
                        help="measure a window again while other processes disturbed it, at most this often")
    parser.add_argument("--setup-concurrency", type=int, default=16)
    parser.add_argument("--setup-timeout", type=float, default=None, help="default 30 s + 0.2 s per call")
    parser.add_argument("--json", help="also write all rows to this file")
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
    if args.generator_loop == "native":
        from native_media_loop import CompilerMissing, library

        try:
            library()  # built here, once, rather than by the generator mid-run
        except CompilerMissing as missing:
            sys.exit(f"bench/media.py: {missing}")
    import trio

    trio.run(bench, args)


if __name__ == "__main__":
    main()
