"""Run the lab's Kamailio as an ordinary child process, and stop it by PID.

Kamailio runs in the foreground (`-DD`: the creator process stays our child and
forks its workers under it; `-E`: log to stderr, captured in the runtime dir's
kamailio.log) in a session of its own, so its process group is exactly the lab.
It is ready when it answers RPC and SIP OPTIONS over UDP and TCP: 0.04–0.05 s here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import attrs

from webims.lab.admin import LabAdmin, LabAdminError
from webims.lab.kamailio_cfg import LabSettings, write_runtime
from webims.lab.subscribers import Subscribers

KAMAILIO_INSTALL = (
    "apt-get install kamailio kamailio-presence-modules kamailio-sqlite-modules kamailio-websocket-modules"
)
SHARED_MEMORY_MB = 256


class LabStartError(RuntimeError):
    """Kamailio is missing, or did not start; the message carries its log tail."""


def find_kamailio() -> str:
    """The kamailio binary on PATH, or an error that says how to install it."""
    found = shutil.which("kamailio")
    if found:
        return found
    hint = ""
    if Path("/usr/sbin/kamailio").exists():
        hint = " (/usr/sbin/kamailio exists: add /usr/sbin to PATH)"
    raise LabStartError(f"kamailio not found on PATH{hint}: install it with `{KAMAILIO_INSTALL}`")


@attrs.define
class LabProcess:
    """A running lab: its settings, its Kamailio process, RPC access."""

    settings: LabSettings
    popen: subprocess.Popen

    @classmethod
    def start(cls, settings: LabSettings, subscribers: Subscribers, *, timeout: float = 5.0) -> LabProcess:
        """Render the runtime dir, start Kamailio and wait until it serves SIP and RPC."""
        binary = find_kamailio()
        write_runtime(settings, subscribers)
        command = [
            binary, "-DD", "-E", "-m", str(SHARED_MEMORY_MB),
            "-f", str(settings.config_file), "-Y", str(settings.runtime_dir),
        ]
        with settings.log_file.open("wb") as log:
            popen = subprocess.Popen(
                command, cwd=settings.runtime_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        lab = cls(settings, popen)
        try:
            lab._wait_ready(timeout)
        except BaseException:
            lab.stop()
            raise
        return lab

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def admin(self) -> LabAdmin:
        return LabAdmin(self.settings.rpc_socket)

    def processes(self) -> list[int]:
        """PIDs of the lab's processes still alive (its process group)."""
        return [pid for pid in _all_pids() if _process_group(pid) == self.pid]

    def stop(self, timeout: float = 3.0) -> None:
        """SIGTERM Kamailio; it ends its workers. Anything left after `timeout` is killed."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self.popen.wait()
        deadline = time.monotonic() + timeout
        while self.processes():
            if time.monotonic() > deadline:
                self._kill_group()
                break
            time.sleep(0.01)
        self.settings.rpc_socket.unlink(missing_ok=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.settings.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not (self._answers_rpc() and _answers_options(self.settings.ports.sip)):
            if self.popen.poll() is not None:
                raise LabStartError(
                    f"kamailio exited with status {self.popen.returncode}; "
                    f"{self.settings.log_file} ends with:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise LabStartError(f"kamailio not ready after {timeout} s; log ends with:\n{self.log_tail()}")
            time.sleep(0.01)

    def _answers_rpc(self) -> bool:
        try:
            LabAdmin(self.settings.rpc_socket, timeout=0.2).call("core.uptime")
        except LabAdminError:
            return False
        return True

    def _kill_group(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _answers_options(port: int, timeout: float = 0.2) -> bool:
    """Whether SIP OPTIONS to the lab's port get a response over UDP and over TCP.

    TCP is asked too because its processes come up last: a lab stopped before they
    are up can hang in shutdown (SIGTERM ~40 ms after the UDP answer did, here).
    """
    return all(_options_answered(kind, port, timeout) for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM))


def _options_answered(kind: socket.SocketKind, port: int, timeout: float) -> bool:
    branch = "z9hG4bK" + secrets.token_hex(6)
    transport = "UDP" if kind == socket.SOCK_DGRAM else "TCP"
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.settimeout(timeout)
        try:
            probe.bind(("127.0.0.1", 0))
            probe.connect(("127.0.0.1", port))
            local = probe.getsockname()[1]
            probe.sendall((
                f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/{transport} 127.0.0.1:{local};branch={branch}\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag={branch[-6:]}\r\n"
                f"To: <sip:127.0.0.1:{port}>\r\nCall-ID: {branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            ).encode())
            return probe.recv(4096).startswith(b"SIP/2.0 ")
        except OSError:
            return False


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _process_group(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name, which may itself contain spaces and parentheses.
    fields = stat.rpartition(")")[2].split()
    return int(fields[2])
