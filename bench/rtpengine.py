"""rtpengine as a side-by-side anchor for the benches: the daemon as a child process, and its ng client.

    with RtpEngine(port_range=(46000, 47999)) as engine:      # rtpengine --foreground --table=-1 ...
        engine.ng.request("ping")                               # {'result': 'pong'}
        out = engine.ng.request("offer", **{"call-id": "c1", "from-tag": "a", "sdp": browser_offer},
                                **WEBRTC_TO_RTP)                # → out["sdp"] for the phone
        back = engine.ng.request("answer", **{"call-id": "c1", "from-tag": "a", "to-tag": "b",
                                               "sdp": phone_answer}, **RTP_TO_WEBRTC)
        engine.cpu_seconds()                                    # utime + stime of the daemon, all its threads
        engine.ng.request("delete", **{"call-id": "c1"})

Userspace only (``--table=-1``: the kernel module is not available here, NOTES), one interface
(127.0.0.1 by default), the ng listener on a free loopback UDP port, no config file
(``--config-file=none``), logs to a file. :meth:`RtpEngine.stop` ends the daemon by its PID
(SIGTERM, then SIGKILL after a bound); the context manager always calls it.

The ng protocol (rtpengine's README, "The NG Control Protocol"): a UDP datagram ``<cookie>
<bencoded dict>``, answered by ``<cookie> <bencoded dict>`` whose ``result`` is ``ok``, ``pong``
or ``error`` (with ``error-reason``). :class:`NgClient` is blocking and thread-safe (one request
at a time over one socket; a late answer to an abandoned cookie is skipped), so asyncio or trio
code calls it from a worker thread (``asyncio.to_thread``, ``trio.to_thread.run_sync``).

``python bench/rtpengine.py`` starts a daemon, pings it, prints what it found, and stops it.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["RtpEngine", "NgClient", "NgError", "bencode", "bdecode", "WEBRTC_TO_RTP", "RTP_TO_WEBRTC",
           "RTP_TO_RTP", "free_udp_port", "cpu_seconds"]

RTPENGINE = "/usr/bin/rtpengine"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Offer from a WebRTC browser (ICE, DTLS-SRTP, rtcp-mux), towards a plain RTP/AVP phone, and the
# phone's answer back towards the browser: rtpengine then terminates ICE and DTLS-SRTP itself.
WEBRTC_TO_RTP: dict[str, Any] = {"transport-protocol": "RTP/AVP", "ICE": "remove", "rtcp-mux": ["demux"],
                                 "replace": ["origin", "session-connection"]}
RTP_TO_WEBRTC: dict[str, Any] = {"transport-protocol": "UDP/TLS/RTP/SAVPF", "ICE": "force",
                                 "rtcp-mux": ["require"], "replace": ["origin", "session-connection"]}
# Both sides plain RTP/AVP: the fallback when a bench cannot give rtpengine a DTLS peer.
RTP_TO_RTP: dict[str, Any] = {"transport-protocol": "RTP/AVP", "ICE": "remove",
                              "replace": ["origin", "session-connection"]}


class NgError(Exception):
    """rtpengine answered ``result: error``, or did not answer in time."""


# --- bencode (the ng protocol's encoding) ----------------------------------------------------------

def bencode(value: Any) -> bytes:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, (bytes, bytearray)):
        return b"%d:%s" % (len(value), bytes(value))
    if isinstance(value, (list, tuple)):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes) -> Any:
    """Byte strings come back as str when they are UTF-8 (SDP, results), else as bytes."""
    value, end = _bdecode(data, 0)
    if end != len(data):
        raise ValueError(f"trailing bytes after bencoded value at {end}")
    return value


def _bdecode(data: bytes, i: int) -> tuple[Any, int]:
    kind = data[i:i + 1]
    if kind == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if kind in (b"l", b"d"):
        items, i = [], i + 1
        while data[i:i + 1] != b"e":
            item, i = _bdecode(data, i)
            items.append(item)
        if kind == b"l":
            return items, i + 1
        return {k: v for k, v in zip(items[::2], items[1::2])}, i + 1
    colon = data.index(b":", i)
    start = colon + 1
    raw = data[start:start + int(data[i:colon])]
    try:
        return raw.decode(), start + len(raw)
    except UnicodeDecodeError:
        return raw, start + len(raw)


# --- the ng client -----------------------------------------------------------------------------------

class NgClient:
    """Blocking ng requests over UDP; ``request(command, **params)`` returns the answer dict."""

    def __init__(self, address: tuple[str, int], timeout: float = 5.0) -> None:
        self.address = address
        self.timeout = timeout
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.connect(address)
        self._lock = threading.Lock()

    def request(self, command: str, **params: Any) -> dict:
        cookie = secrets.token_hex(8).encode()
        message = cookie + b" " + bencode({"command": command, **params})
        with self._lock:
            deadline = time.monotonic() + self.timeout
            self._sock.send(message)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NgError(f"rtpengine did not answer {command!r} within {self.timeout:g} s")
                self._sock.settimeout(remaining)
                try:
                    reply = self._sock.recv(65536)
                except socket.timeout:
                    continue
                except ConnectionRefusedError:
                    raise NgError(f"nothing listens for ng requests on {self.address}") from None
                got, _, body = reply.partition(b" ")
                if got == cookie:
                    break  # else a late answer to an earlier, abandoned request
        answer = bdecode(body)
        if answer.get("result") == "error":
            raise NgError(f"rtpengine refused {command!r}: {answer.get('error-reason', answer)}")
        return answer

    def close(self) -> None:
        self._sock.close()


# --- the daemon ----------------------------------------------------------------------------------------

def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of a process, all its threads, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class RtpEngine:
    """One rtpengine daemon in userspace mode, owned by this process (ended by PID)."""

    def __init__(self, *, interface: str = "127.0.0.1", port_range: tuple[int, int] = (46000, 47999),
                 threads: int | None = None, log_level: int = 4, extra_args: tuple[str, ...] = (),
                 start_timeout: float = 10.0, executable: str = RTPENGINE) -> None:
        self.interface = interface
        self.port_range = port_range
        self.threads = threads or os.cpu_count() or 2
        self.log_level = log_level
        self.extra_args = tuple(extra_args)
        self.start_timeout = start_timeout
        self.executable = executable
        self.process: subprocess.Popen | None = None
        self.ng: NgClient | None = None
        self.ng_address: tuple[str, int] | None = None
        self.version: str | None = None
        self._dir: tempfile.TemporaryDirectory | None = None
        self.log_path: Path | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "rtpengine is not running"
        return self.process.pid

    def command(self, ng_port: int) -> list[str]:
        low, high = self.port_range
        return [self.executable, "--config-file=none", "--foreground", "--table=-1", "--log-stderr",
                f"--log-level={self.log_level}", f"--interface={self.interface}",
                f"--listen-ng=127.0.0.1:{ng_port}", f"--port-min={low}", f"--port-max={high}",
                f"--num-threads={self.threads}", "--delete-delay=0", "--timeout=60",
                *self.extra_args]

    def start(self) -> RtpEngine:
        self._dir = tempfile.TemporaryDirectory(prefix="bench-rtpengine-")
        self.log_path = Path(self._dir.name) / "rtpengine.log"
        self.version = subprocess.run([self.executable, "--version"], capture_output=True, text=True,
                                      timeout=10).stderr.strip() or None
        for _attempt in range(3):  # the free port can be taken between our probe and its bind
            port = free_udp_port()
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL, stdout=log,
                                                stderr=subprocess.STDOUT)
            self.ng_address = ("127.0.0.1", port)
            self.ng = NgClient(self.ng_address, timeout=0.5)
            if self._wait_ready():
                self.ng.timeout = 5.0
                return self
            self.stop()
        raise RuntimeError(f"rtpengine did not start; its log: {self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if self.ng.request("ping").get("result") == "pong":
                    return True
            except NgError:
                time.sleep(0.05)
        return False

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        if self.ng is not None:
            self.ng.close()
            self.ng = None
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout)

    def close(self) -> None:
        self.stop()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> RtpEngine:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()


if __name__ == "__main__":
    import json

    with RtpEngine() as daemon:
        print(json.dumps({"version": daemon.version, "pid": daemon.pid, "ng": daemon.ng_address,
                          "ping": daemon.ng.request("ping"), "command": daemon.command(daemon.ng_address[1]),
                          "list": daemon.ng.request("list")}, indent=1))
