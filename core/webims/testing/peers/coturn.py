"""coturn (Debian's `coturn`) as the TURN server pages relay their media through, for tests.

It runs on a free loopback port with the "TURN REST API" shared secret (`use-auth-secret`), the scheme the
voice service's `turn_secret` makes credentials for, and relays to loopback peers (`--allow-loopback-peers`,
NOTES): the gateway's media sockets are on 127.0.0.1 in tests. Its user database and log live in the test's
own directory; `stop` ends it by PID.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from webims.testing.peers.errors import require_binary
from webims.testing.peers.ports import LOOPBACK, free_port, free_port_block
from webims.testing.peers.processes import terminate

RELAY_PORTS = 20


class TurnServer:
    def __init__(self, directory: Path, secret: str, realm: str = "ims.test") -> None:
        binary = require_binary("turnserver")
        directory.mkdir(parents=True, exist_ok=True)
        self.secret = secret
        self.port = free_port()
        self.log_file = directory / "turnserver.log"
        relay = free_port_block(RELAY_PORTS)
        command = [binary, "-n", "--verbose", f"--listening-ip={LOOPBACK}", f"--relay-ip={LOOPBACK}",
                   f"--listening-port={self.port}", f"--min-port={relay}", f"--max-port={relay + RELAY_PORTS - 1}",
                   "--use-auth-secret", f"--static-auth-secret={secret}", f"--realm={realm}",
                   "--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli", "--no-stdout-log",
                   f"--userdb={directory / 'turndb'}", f"--log-file={self.log_file}", "--simple-log",
                   f"--pidfile={directory / 'turnserver.pid'}"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_listening()

    @property
    def url(self) -> str:
        return f"turn:{LOOPBACK}:{self.port}?transport=udp"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def allocations(self) -> list[str]:
        """The usernames that were granted a relay allocation."""
        return re.findall(r"user <([^>]*)>: incoming packet ALLOCATE processed, success", self.log())

    def stop(self, timeout: float = 5.0) -> None:
        terminate(self.process, timeout)

    def _wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while "Total General servers" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"turnserver did not start on port {self.port}; its log:\n{self.log()[-2000:]}")
            time.sleep(0.05)
