"""bench/media.py's load generator media loop, run by rtpload.c: the same packets, schedule and bookkeeping as
``MediaLoop``, with the attributes ``Load.measure`` reads, at a fraction of the CPU (docs/media.md).

The C loop runs on a Python thread inside one ctypes call, which releases the GIL; the sockets stay Python's
(the loop gets their descriptors), SRTP uses the Ports' pylibsrtp sessions through libsrtp's own functions, and
the STUN and DTLS that aiortc must see come back through a ctypes callback. The shared library is built on first
use with the system's C compiler into bench/.build/, named by a hash of the source.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
from array import array
from pathlib import Path

from packet_loop import PacketLoop
from pylibsrtp._binding import ffi
from pylibsrtp._binding import lib as srtp_lib

SOURCE = Path(__file__).with_name("rtpload.c")
BUILD = Path(__file__).with_name(".build")
GAP_SAMPLES = 20

c_int64_p = ctypes.POINTER(ctypes.c_int64)
HANDOFF = ctypes.CFUNCTYPE(None, ctypes.c_int32, ctypes.POINTER(ctypes.c_uint8), ctypes.c_int32, ctypes.c_uint32,
                           ctypes.c_uint16)


class SockaddrIn(ctypes.Structure):
    _fields_ = [("family", ctypes.c_uint16), ("port", ctypes.c_uint16), ("address", ctypes.c_uint32),
                ("zero", ctypes.c_uint8 * 8)]


class CPort(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int32), ("stream", ctypes.c_int32), ("ssrc", ctypes.c_uint32),
                ("handoff", ctypes.c_uint32), ("remote", SockaddrIn), ("tx", ctypes.c_void_p),
                ("rx", ctypes.c_void_p), ("seq", ctypes.c_uint32), ("ts", ctypes.c_uint32),
                ("counter", ctypes.c_int64)]


class Results(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int64 * 2) for name in ("sent", "received", "latency_count")] + [
        (name, ctypes.c_int64) for name in ("send_path_count", "read_lag_count", "lateness_count", "reordered",
                                            "srtp_errors", "rtcp", "handed_off", "send_errors", "skipped", "gaps",
                                            "samples_dropped")] + [
        ("gap_samples", (ctypes.c_int64 * 4) * GAP_SAMPLES), ("gap_samples_count", ctypes.c_int64)]


class CLoop(ctypes.Structure):
    _fields_ = [("running", ctypes.c_int32), ("sending", ctypes.c_int32), ("reset_requested", ctypes.c_int32),
                ("window_changed", ctypes.c_int32), ("next_window_start", ctypes.c_int64),
                ("next_window_end", ctypes.c_int64), ("window_start", ctypes.c_int64), ("window_end", ctypes.c_int64),
                ("ports_count", ctypes.c_int32), ("sinks_count", ctypes.c_int32), ("streams_count", ctypes.c_int32),
                ("unused2", ctypes.c_int32), ("ports", ctypes.POINTER(CPort)),
                ("sinks", ctypes.POINTER(ctypes.c_int32)), ("protect", ctypes.c_void_p),
                ("unprotect", ctypes.c_void_p), ("handoff", HANDOFF), ("period", ctypes.c_double),
                ("max_behind", ctypes.c_double), ("tick", ctypes.c_double), ("capacity", ctypes.c_int64),
                ("latency", c_int64_p * 2), ("send_path", c_int64_p), ("read_lag", c_int64_p),
                ("lateness", ctypes.POINTER(ctypes.c_double))] + [
        (name, c_int64_p) for name in ("sent_first", "sent_last", "received_low", "received_high", "last_counter")
    ] + [("r", Results)]


class CompilerMissing(RuntimeError):
    pass


def library() -> ctypes.CDLL:
    """rtpload.c built (once per version of it) and loaded."""
    source = SOURCE.read_bytes()
    built = BUILD / f"rtpload-{hashlib.sha256(source).hexdigest()[:16]}.so"
    if not built.exists():
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            raise CompilerMissing("the native load generator needs a C compiler: sudo apt-get install gcc "
                                  "(or run with --generator python)")
        BUILD.mkdir(exist_ok=True)
        partial = built.with_suffix(f".{threading.get_native_id()}.tmp")
        subprocess.run([compiler, "-O2", "-Wall", "-shared", "-fPIC", "-o", str(partial), str(SOURCE), "-lm"],
                       check=True)
        partial.rename(built)
    loaded = ctypes.CDLL(str(built), use_errno=True)  # CDLL: the call releases the GIL while the loop runs
    loaded.rtpload_run.argtypes = [ctypes.POINTER(CLoop)]
    loaded.rtpload_run.restype = ctypes.c_int
    return loaded


def _function(name: str) -> int:
    return int(ffi.cast("uintptr_t", ffi.addressof(srtp_lib, name)))


def _session(session) -> int | None:
    return None if session is None else int(ffi.cast("uintptr_t", session._srtp[0]))


class NativeMediaLoop(PacketLoop):
    """``MediaLoop``'s interface (start, stop, reset, window, sending and the counts), run by rtpload.c."""

    thread_name = "bench-media-native"

    def __init__(self, ports, sinks=(), *, period: float, max_behind: float, capacity: int,
                 tick: float = 0.0) -> None:
        self.ports = ports
        self._sinks = list(sinks)
        self._lib = library()
        streams = max(p.stream for p in ports) + 1
        self._c_ports = (CPort * len(ports))()
        for c, port in zip(self._c_ports, ports):
            port.sock.setblocking(False)
            host, number = port.remote if port.remote is not None else ("0.0.0.0", 0)
            c.fd, c.stream, c.ssrc, c.handoff = port.sock.fileno(), port.stream, port.ssrc, port.handoff is not None
            c.remote.family, c.remote.port = socket.AF_INET, socket.htons(number)
            c.remote.address = int.from_bytes(socket.inet_aton(host), "little")  # already network order
            c.tx, c.rx = _session(port.tx), _session(port.rx)
            c.seq, c.ts, c.counter = port.seq, port.ts, port.counter
        self._c_sinks = (ctypes.c_int32 * max(len(self._sinks), 1))(*(s.fileno() for s in self._sinks))
        self._buffers = [(ctypes.c_int64 * capacity)() for _ in range(4)] + [(ctypes.c_double * capacity)()]
        self._spans = [(ctypes.c_int64 * streams)() for _ in range(5)]
        self._handoff = HANDOFF(self._hand_off)  # kept: C holds only its address
        latency = (c_int64_p * 2)(*(ctypes.cast(b, c_int64_p) for b in self._buffers[:2]))
        self._c = CLoop(
            running=1, sending=1, reset_requested=1, window_start=0, window_end=-1,
            ports_count=len(ports), sinks_count=len(self._sinks), streams_count=streams,
            ports=self._c_ports, sinks=self._c_sinks, protect=_function("srtp_protect"),
            unprotect=_function("srtp_unprotect"), handoff=self._handoff, period=period, max_behind=max_behind,
            tick=tick,
            capacity=capacity, latency=latency, send_path=ctypes.cast(self._buffers[2], c_int64_p),
            read_lag=ctypes.cast(self._buffers[3], c_int64_p),
            lateness=ctypes.cast(self._buffers[4], ctypes.POINTER(ctypes.c_double)),
            **{name: ctypes.cast(span, c_int64_p) for name, span in
               zip(("sent_first", "sent_last", "received_low", "received_high", "last_counter"), self._spans)})
        self.failure: str | None = None  # why the C loop could not run (reported with the window's figures)

    # --- the loop's life: PacketLoop's thread, the C loop in it -----------------------------------------------

    def _run(self, started: threading.Event) -> None:
        self.tid = threading.get_native_id()
        started.set()
        if self._lib.rtpload_run(ctypes.byref(self._c)) != 0:
            self.failure = f"rtpload.c could not set up its epoll: {os.strerror(ctypes.get_errno())}"
            print(f"bench/media.py generator: {self.failure}", file=sys.stderr)

    def stop(self) -> None:
        self._c.running = 0
        super().stop()

    def reset(self) -> None:
        """Clear the counts (done by the loop's own thread between two steps; this waits for it)."""
        self._c.reset_requested = 1
        self._wait_until_taken("reset_requested")

    def _wait_until_taken(self, flag: str) -> None:
        pause = threading.Event()
        while getattr(self._c, flag) and self._thread is not None and self._thread.is_alive():
            pause.wait(0.001)

    def _hand_off(self, index: int, data, length: int, address: int, port: int) -> None:
        handoff = self.ports[index].handoff
        if handoff is not None:
            handoff(ctypes.string_at(data, length), (socket.inet_ntoa(address.to_bytes(4, "big")), port))

    @property
    def window(self) -> tuple[int, int]:
        return self._c.window_start, self._c.window_end

    @window.setter
    def window(self, value: tuple[int, int]) -> None:
        self._c.next_window_start, self._c.next_window_end = value
        self._c.window_changed = 1  # the loop takes both ends up between two steps
        self._wait_until_taken("window_changed")

    @property
    def sending(self) -> bool:
        return bool(self._c.sending)

    @sending.setter
    def sending(self, value: bool) -> None:
        self._c.sending = int(value)

    # --- what Load.measure reads -----------------------------------------------------------------------------

    @property
    def sent(self) -> list[int]:
        return list(self._c.r.sent)

    @property
    def received(self) -> list[int]:
        return list(self._c.r.received)

    @property
    def latency(self) -> tuple[array, array]:
        return tuple(self._samples(self._buffers[d], self._c.r.latency_count[d]) for d in (0, 1))

    @property
    def send_path(self) -> array:
        return self._samples(self._buffers[2], self._c.r.send_path_count)

    @property
    def read_lag(self) -> array:
        return self._samples(self._buffers[3], self._c.r.read_lag_count)

    @property
    def lateness(self) -> array:
        return array("d", self._buffers[4][:self._c.r.lateness_count])

    @staticmethod
    def _samples(buffer, count: int) -> array:
        return array("q", buffer[:count])

    @property
    def sent_span(self) -> dict[int, list[int]]:
        first, last = self._spans[0], self._spans[1]
        return {s: [first[s], last[s]] for s in range(len(first)) if first[s] >= 0}

    @property
    def received_span(self) -> dict[int, list[int]]:
        low, high = self._spans[2], self._spans[3]
        return {s: [low[s], high[s]] for s in range(len(low)) if low[s] >= 0}

    @property
    def gap_samples(self) -> list[tuple]:
        return [tuple(self._c.r.gap_samples[i]) for i in range(self._c.r.gap_samples_count)]

    def __getattr__(self, name: str):
        # reordered, srtp_errors, rtcp, handed_off, send_errors, skipped, gaps, samples_dropped
        if name in {field for field, _ in Results._fields_}:
            return getattr(self.__dict__["_c"].r, name)
        raise AttributeError(name)
