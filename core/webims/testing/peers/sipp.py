"""SIPp against the lab: scripted registrations, calls, UAS roles and REGISTER load.

Scenarios are XML files in `webims/lab/scenarios/`; a run gets its own log dir
with SIPp's message trace, errors and final screen, parsed into `SippRun`. Each run
binds free loopback ports for SIP and media: SIPp's default media port is a fixed
6000, and it also binds the three ports after it (RTCP, video). SIPp 3.6
substitutes one injection field inside `[authentication]` at most, so digest
credentials come from -au/-ap: one subscriber per run.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from importlib import resources
from pathlib import Path

import attrs

from webims.testing.peers.errors import require_binary
from webims.testing.peers.kamailio import LabCore
from webims.testing.peers.ports import LOOPBACK, free_port, free_port_block

SCENARIOS = resources.files("webims.lab") / "scenarios"
_SEPARATOR = re.compile(r"^-{20,} .*$", re.MULTILINE)


class SippError(AssertionError):
    """A SIPp run did not go through its scenario."""


@attrs.frozen
class SippMessage:
    """One message of SIPp's trace: `sent` or `received`, and its text."""

    direction: str
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    def header(self, name: str) -> str | None:
        for line in self.text.split("\n\n", 1)[0].splitlines()[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    def is_(self, what: str) -> bool:
        """Whether this is a request of method `what` or a response with status `what`."""
        words = self.first_line.split()
        return bool(words) and (words[0] == what or (words[0] == "SIP/2.0" and words[1] == what))


@attrs.frozen
class SippRun:
    scenario: str
    port: int
    returncode: int
    messages: tuple[SippMessage, ...]
    log_dir: Path

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0

    def received(self, what: str) -> list[SippMessage]:
        """Messages SIPp received that are `what` (a method, or a status like "200")."""
        return [m for m in self.messages if m.direction == "received" and m.is_(what)]

    def check(self) -> SippRun:
        """This run, or SippError with SIPp's own account of what went wrong."""
        if not self.succeeded:
            raise SippError(f"SIPp {self.scenario} exited with {self.returncode}:\n{self._report()}")
        return self

    def _report(self) -> str:
        parts = []
        for name in ("errors.log", "screen.log"):
            path = self.log_dir / name
            if path.exists():
                parts.append(f"--- {name}\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(parts) or f"(no SIPp logs in {self.log_dir})"


@attrs.define
class SippProcess:
    """A SIPp running in the background, typically a UAS waiting for the lab."""

    scenario: str
    port: int
    popen: subprocess.Popen
    log_dir: Path

    def wait(self, timeout: float = 20.0) -> SippRun:
        try:
            returncode = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise SippError(f"SIPp {self.scenario} still running after {timeout} s (logs in {self.log_dir})") from None
        return SippRun(self.scenario, self.port, returncode, _read_trace(self.log_dir / "messages.log"), self.log_dir)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


@attrs.define
class Sipp:
    """Runs SIPp scenarios against one lab, each in a log dir under `workdir`."""

    lab: LabCore
    workdir: Path
    binary: str = attrs.field(factory=lambda: require_binary("sipp"))
    _runs: itertools.count = attrs.field(factory=lambda: itertools.count(1))
    _started: list[SippProcess] = attrs.field(factory=list)

    def start(
        self, scenario: str, *, uas: bool = False, keys: dict[str, str] | None = None,
        credentials: tuple[str, str] | None = None, service: str | None = None,
        calls: int = 1, rate: float | None = None, timeout: float = 15.0, options: tuple[str, ...] = (),
    ) -> SippProcess:
        """Start `scenario` (a file name in SCENARIOS) in the background.

        A UAC sends to the lab; a UAS (`uas=True`) listens on its `port` for the lab.
        SIPp quits after `calls` calls or `timeout` seconds (an error). `options` are
        more SIPp command-line arguments.
        """
        log_dir = self.workdir / f"{next(self._runs):03d}-{scenario.removesuffix('.xml')}"
        log_dir.mkdir(parents=True)
        port = free_port()
        keys = {"domain": self.lab.domain, "contact_port": str(port), "expires": "300"} | (keys or {})
        command = [self.binary] + ([] if uas else [f"{self.lab.host}:{self.lab.port}"])
        media = free_port_block(4)
        command += ["-sf", str(SCENARIOS / scenario), "-i", LOOPBACK, "-p", str(port), "-mp", str(media)]
        command += ["-m", str(calls), "-nostdin", "-timeout", f"{timeout}s", "-timeout_error"]
        command += _trace_arguments(log_dir) + _optional_arguments(rate, credentials, service)
        command += [word for key, value in keys.items() for word in ("-key", key, value)]
        command += options
        with (log_dir / "stdout.log").open("wb") as out:
            popen = subprocess.Popen(
                command, cwd=log_dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        self._started.append(SippProcess(scenario, port, popen, log_dir))
        return self._started[-1]

    def run(self, scenario: str, **options) -> SippRun:
        """Run `scenario` to its end (see `start` for the options)."""
        timeout = options.get("timeout", 15.0)
        return self.start(scenario, **options).wait(timeout + 5)

    def register(
        self, identity: str, username: str, password: str, *,
        contact_port: int | None = None, expires: int = 300, expect_rejection: bool = False,
    ) -> SippRun:
        """REGISTER `identity`, by default with this SIPp's own port as the contact."""
        keys = {"identity": identity, "contact_user": username, "expires": str(expires)}
        if contact_port is not None:
            keys["contact_port"] = str(contact_port)
        scenario = "register_rejected.xml" if expect_rejection else "register.xml"
        return self.run(scenario, keys=keys, credentials=(username, password))

    def register_load(
        self, identity: str, username: str, password: str, *, registrations: int, rate: float,
    ) -> SippRun:
        """`registrations` digest REGISTERs of one binding at `rate` per second."""
        keys = {"identity": identity, "contact_user": username}
        timeout = registrations / rate + 10
        return self.run("register.xml", keys=keys, credentials=(username, password),
                        calls=registrations, rate=rate, timeout=timeout)

    def call(
        self, service: str, identity: str, username: str, password: str, *, hold_ms: int = 1000,
    ) -> SippRun:
        """Call `service`@domain as `identity` (uac_invite.xml), hang up after `hold_ms`."""
        keys = {"identity": identity, "contact_user": username}
        return self.run("uac_invite.xml", service=service, keys=keys, credentials=(username, password),
                        options=("-d", str(hold_ms)))

    def serve(self, scenario: str, *, calls: int = 1, timeout: float = 15.0) -> SippProcess:
        """Start a UAS (uas_answer.xml, uas_message.xml) to register as some subscriber's contact."""
        return self.start(scenario, uas=True, calls=calls, timeout=timeout)


    def close(self) -> None:
        """Kill the SIPp processes still running (a test that failed half-way)."""
        for process in self._started:
            process.stop()


def _trace_arguments(log_dir: Path) -> list[str]:
    return [
        "-trace_msg", "-message_file", str(log_dir / "messages.log"),
        "-trace_err", "-error_file", str(log_dir / "errors.log"),
        "-trace_screen", "-screen_file", str(log_dir / "screen.log"),
    ]


def _optional_arguments(rate: float | None, credentials: tuple[str, str] | None, service: str | None) -> list[str]:
    arguments = []
    if rate is not None:
        arguments += ["-r", str(rate)]
    if credentials is not None:
        arguments += ["-au", credentials[0], "-ap", credentials[1]]
    if service is not None:
        arguments += ["-s", service]
    return arguments


def _read_trace(path: Path) -> tuple[SippMessage, ...]:
    if not path.exists():
        return ()
    messages = []
    for block in _SEPARATOR.split(path.read_text(errors="replace")):
        heading, _, text = block.strip().partition("\n")
        if "message sent" in heading or "message received" in heading:
            direction = "sent" if "sent" in heading else "received"
            messages.append(SippMessage(direction, text.strip().replace("\r\n", "\n")))
    return tuple(messages)
