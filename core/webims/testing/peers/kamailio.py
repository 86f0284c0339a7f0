"""`LabCore`: the lab IMS core (Kamailio) as a test peer on free loopback ports."""

from __future__ import annotations

from pathlib import Path

import attrs

from webims.lab.admin import LabAdmin
from webims.lab.kamailio_cfg import LabPorts, LabSettings
from webims.lab.process import LabProcess, LabStartError
from webims.lab.subscribers import DEFAULT_SUBSCRIBERS_FILE, Subscribers, load_subscribers
from webims.testing.peers.errors import require_binary
from webims.testing.peers.ports import LOOPBACK, free_ports

# A freshly picked port can be taken by someone else before Kamailio binds it.
_START_ATTEMPTS = 3


@attrs.define
class LabCore:
    """A running lab: where to send SIP, who its subscribers are, how to administer it."""

    process: LabProcess
    subscribers: Subscribers
    host = LOOPBACK

    @classmethod
    def start(
        cls,
        runtime_dir: Path,
        subscribers_file: Path = DEFAULT_SUBSCRIBERS_FILE,
        *,
        websocket: bool = False,
        digest_algorithm: str = "MD5",
    ) -> LabCore:
        """Start a lab in `runtime_dir` on free ports; PeerMissing if Kamailio is not installed."""
        require_binary("kamailio")
        subscribers = load_subscribers(subscribers_file)
        attempts = _START_ATTEMPTS
        while True:
            settings = _settings_on_free_ports(runtime_dir, websocket, digest_algorithm)
            try:
                return cls(LabProcess.start(settings, subscribers), subscribers)
            except LabStartError as error:
                attempts -= 1
                if attempts == 0 or "Address already in use" not in str(error):
                    raise

    @property
    def port(self) -> int:
        """SIP port, UDP and TCP."""
        return self.process.settings.ports.sip

    @property
    def msrp_port(self) -> int:
        return self.process.settings.ports.msrp

    @property
    def websocket_port(self) -> int | None:
        return self.process.settings.ports.websocket

    @property
    def sip_uri(self) -> str:
        """The lab's own SIP URI: a UA's outbound proxy."""
        return f"sip:{self.host}:{self.port}"

    @property
    def domain(self) -> str:
        return self.subscribers.domain

    @property
    def admin(self) -> LabAdmin:
        return self.process.admin

    @property
    def runtime_dir(self) -> Path:
        return self.process.settings.runtime_dir

    def pids(self) -> list[int]:
        """The lab's processes that are alive (Kamailio and its workers)."""
        return self.process.processes()

    def log_tail(self, lines: int = 30) -> str:
        return self.process.log_tail(lines)

    def stop(self) -> None:
        self.process.stop()


def _settings_on_free_ports(runtime_dir: Path, websocket: bool, digest_algorithm: str) -> LabSettings:
    sip, msrp, ws = free_ports(3)
    ports = LabPorts(sip=sip, msrp=msrp, websocket=ws if websocket else None)
    return LabSettings(ports=ports, runtime_dir=runtime_dir, digest_algorithm=digest_algorithm)
