"""baresip 1.0 as a headless native IMS phone, driven over its ctrl_tcp JSON socket.

Each phone has its own config dir (config, accounts, contacts), one account that
registers to the lab with digest, sends a generated sine WAV (`aufile`) and records
what it receives (`sndfile`, with `aubridge,nil` as the player). Measured quirks
(NOTES) that shaped it:

- `net_interface 127.0.0.1`: the name `lo` fails, and without it media leaves loopback.
- aufile hangs up when its file ends: the tone is longer than any call.
- ctrl_tcp loses events sent before a client connects: registration is polled
  with `reginfo` instead of waited for as an event.
- received MESSAGE text only appears on the stdio UI's output, so `stdio` is loaded
  and the text is read from the log; stdio busy-loops when stdin closes, so stdin
  stays an open pipe until the phone is stopped.
- sndfile builds its file names in a 128-byte buffer: the recordings dir must be short.
- SIP listens on port 0 (any free port): baresip also binds TLS on SIP port + 1.
- presence (`presence=True`): the `presence` module publishes open/closed every
  `pubint` seconds and subscribes to the contacts marked `;presence=p2p`; it shows
  a contact's status in the `contacts` listing (Online, Busy, Offline, Unknown).
- video (`video="VP8"` or `"H264"`): `fakevideo` sends three still bars (red, green,
  blue) and displays nowhere; `snapshot` saves the next received frame as a PNG in the
  config dir, which is how a test sees what baresip decoded. H.264 is `avcodec`
  (baresip-ffmpeg).
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import attrs

from webims.testing.peers.errors import require_binary
from webims.testing.peers.kamailio import LabCore
from webims.testing.peers.ports import LOOPBACK, free_port
from webims.testing.peers.processes import terminate
from webims.testing.peers.tones import write_sine_wav

MODULES = ("stdio.so", "g711.so", "aufile.so", "aubridge.so", "sndfile.so")
VIDEO_MODULES = {"VP8": ("fakevideo.so", "snapshot.so", "vp8.so"),
                 "H264": ("fakevideo.so", "snapshot.so", "avcodec.so")}
APP_MODULES = ("account.so", "contact.so", "menu.so", "ctrl_tcp.so")
CONTROL_PORT_ATTEMPTS = 3
PRESENCE_MODULE = "presence.so"
# How long a presence publication of a phone lasts (baresip refreshes at 90 %).
PUBLISH_INTERVAL = 600
# sndfile's 128-byte name buffer minus "/dump-YYYY-MM-DD-hh-mm-ss-dec.wav".
_MAX_RECORDINGS_DIR = 90
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PNG_END = b"IEND\xaeB`\x82"  # the last chunk of every PNG, with its CRC
_RECEIVED_MESSAGE = re.compile(r'^(?P<peer>sips?:\S+): "(?P<text>.*)"$', re.MULTILINE)


class BaresipError(RuntimeError):
    """baresip refused a command, or did not get where a test waited for it to get."""


@attrs.frozen
class PhoneAccount:
    """The subscriber a phone registers as: a public identity and its credential."""

    public_identity: str
    username: str
    password: str


@attrs.frozen
class ReceivedMessage:
    """A MESSAGE a phone received: who sent it (From URI) and its text."""

    peer: str
    text: str


@attrs.define
class BaresipPhone:
    """A running baresip registered as one subscriber; stop it with `stop()`."""

    account: PhoneAccount
    config_dir: Path
    recordings_dir: Path
    process: subprocess.Popen
    control: _Control

    @classmethod
    def start(
        cls,
        config_dir: Path,
        lab: LabCore,
        account: PhoneAccount,
        *,
        tone_hz: float = 880.0,
        auto_answer: bool = True,
        contacts: tuple[str, ...] = (),
        presence: bool = False,
        tone_seconds: float = 60.0,
        timeout: float = 5.0,
        video: str | None = None,
    ) -> BaresipPhone:
        """Start baresip registering `account` to `lab`; returns once it is registered.

        `contacts` are the URIs `send_message` can reach (baresip 1.0 sends MESSAGE
        only to a contact of its list). With `presence`, the phone publishes its
        status and watches each of its contacts. `video` ("VP8" or "H264") adds a
        video stream to its calls.
        """
        binary = require_binary("baresip")
        config_dir = config_dir.resolve()  # baresip runs in it and is also told its path: keep them one
        config_dir.mkdir(parents=True, exist_ok=True)
        recordings_dir = _short_dir(config_dir / "rec")
        tone = write_sine_wav(config_dir / "tone.wav", tone_hz, tone_seconds)
        (config_dir / "accounts").write_text(_account_line(account, lab, auto_answer, presence, video))
        watched = ";presence=p2p" if presence else ""
        (config_dir / "contacts").write_text("".join(f"<{uri}>{watched}\n" for uri in contacts))
        for _ in range(CONTROL_PORT_ATTEMPTS):
            # The free port may be taken before baresip binds it (ports.py); then it starts without its control
            # port, and connecting would reach whoever took it. Its log says so: start again on another.
            ctrl_port = free_port()
            (config_dir / "config").write_text(_config(ctrl_port, tone, recordings_dir, presence, video))
            # stdin stays an open pipe until stop(): the stdio UI busy-loops on a closed one.
            with (config_dir / "baresip.log").open("wb") as log:
                process = subprocess.Popen(
                    [binary, "-f", str(config_dir)], cwd=config_dir, stdin=subprocess.PIPE, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )
            phone = cls(account, config_dir, recordings_dir, process, _Control.unconnected())
            try:
                if not phone._wait_ready(timeout):
                    phone.stop()
                    continue
                phone.control = _Control.connect(ctrl_port, process, timeout)
                phone.wait_registered(timeout)
            except BaseException:
                phone.stop()
                raise
            return phone
        raise BaresipError(f"baresip could not listen on a control port in {CONTROL_PORT_ATTEMPTS} attempts\n"
                           f"{phone.log_tail()}")

    def _wait_ready(self, timeout: float) -> bool:
        """Wait for baresip's "ready" line: True with its control port listening, False if that port was taken."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_file.read_text(errors="replace")
            if "ctrl_tcp: failed to listen" in text:
                return False
            if "baresip is ready." in text:
                return True
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BaresipError(f"baresip did not start within {timeout} s\n{self.log_tail()}")
            time.sleep(0.02)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log_file(self) -> Path:
        return self.config_dir / "baresip.log"

    def wait_registered(self, timeout: float = 5.0) -> None:
        """Poll `reginfo` until the account's registration is OK."""
        deadline = time.monotonic() + timeout
        while not self.is_registered():
            if time.monotonic() > deadline:
                raise BaresipError(
                    f"{self.account.public_identity} not registered after {timeout} s\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def is_registered(self) -> bool:
        info = _ANSI.sub("", self.control.command("reginfo"))
        return any(
            self.account.public_identity in line and " OK " in f"{line} " for line in info.splitlines()
        )

    def dial(self, uri: str) -> None:
        """Call `uri` (dial a number as `sip:+1555…@domain;user=phone`, NOTES)."""
        self.control.command("dial", uri)

    def answer(self) -> None:
        self.control.command("accept")

    def hangup(self) -> None:
        self.control.command("hangup")

    def wait_event(self, event_type: str, timeout: float = 5.0) -> dict:
        """The next ctrl_tcp event of `event_type` (e.g. CALL_ESTABLISHED, CALL_CLOSED)."""
        return self.control.wait_event(event_type, timeout)

    def send_message(self, uri: str, text: str) -> None:
        """Send a SIP MESSAGE to `uri`, which must be one of the phone's contacts."""
        self._select_contact(uri)
        self.control.command("message", text)

    def set_presence(self, online: bool) -> None:
        """Publish open (online) or closed (offline); needs `presence=True`."""
        self.control.command("presence_online" if online else "presence_offline")

    def contact_presence(self, uri: str) -> str:
        """The status the phone shows for contact `uri`: Online, Busy, Offline or Unknown."""
        listing = _ANSI.sub("", self.control.command("contacts")).splitlines()
        for line in listing:
            if f"<{uri}>" in line:
                return line.split("<", 1)[0].strip(" >").split()[-1]
        raise BaresipError(f"{uri} is not a contact of this phone; pass it in contacts=")

    def received_messages(self) -> list[ReceivedMessage]:
        """MESSAGEs received so far, as the stdio UI printed them."""
        text = self.log_file.read_text(encoding="utf-8", errors="replace").replace("\r", "\n")
        return [ReceivedMessage(m["peer"], m["text"]) for m in _RECEIVED_MESSAGE.finditer(text)]

    def received_audio(self) -> Path:
        """The recording of what the phone received in its latest call."""
        return self._latest_recording("dec")

    def sent_audio(self) -> Path:
        return self._latest_recording("enc")

    def snapshot_received(self, timeout: float = 5.0) -> Path:
        """A PNG of the next video frame the phone decodes (the `snapshot` module, `video=`)."""
        before = set(self.config_dir.glob("snapshot-recv-*.png"))
        self.control.command("snapshot")
        deadline = time.monotonic() + timeout
        # The file appears before baresip has written it: wait for the PNG's closing IEND chunk too.
        while not (new := [path for path in set(self.config_dir.glob("snapshot-recv-*.png")) - before
                           if path.read_bytes().endswith(_PNG_END)]):
            if time.monotonic() > deadline:
                raise BaresipError(f"no received video frame within {timeout} s\n{self.log_tail()}")
            time.sleep(0.05)
        return new[0]

    def log_tail(self, lines: int = 20) -> str:
        text = _ANSI.sub("", self.log_file.read_text(encoding="utf-8", errors="replace"))
        return "\n".join(text.replace("\r", "\n").splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (baresip de-registers, then exits); kill what is left after `timeout`."""
        self.control.close()
        terminate(self.process, timeout)
        # Closed only now: a live baresip busy-loops on a closed stdin (NOTES).
        self.process.stdin.close()

    def _select_contact(self, uri: str) -> None:
        listing = _ANSI.sub("", self.control.command("contacts")).splitlines()
        entries = [line for line in listing if "<sip" in line or "<tel" in line]
        current = next(i for i, line in enumerate(entries) if line.startswith(">"))
        try:
            target = next(i for i, line in enumerate(entries) if f"<{uri}>" in line)
        except StopIteration:
            raise BaresipError(f"{uri} is not a contact of this phone; pass it in contacts=") from None
        step = "contact_next" if target > current else "contact_prev"
        for _ in range(abs(target - current)):
            self.control.command(step)

    def _latest_recording(self, direction: str) -> Path:
        recordings = sorted(self.recordings_dir.glob(f"dump-*-{direction}.wav"), key=lambda p: p.stat().st_mtime)
        if not recordings:
            raise BaresipError(f"no {direction} recording in {self.recordings_dir}")
        return recordings[-1]


def _short_dir(preferred: Path) -> Path:
    if len(str(preferred)) <= _MAX_RECORDINGS_DIR:
        preferred.mkdir(parents=True, exist_ok=True)
        return preferred
    return Path(tempfile.mkdtemp(prefix="baresip-rec-"))


def _config(ctrl_port: int, tone: Path, recordings_dir: Path, presence: bool = False,
            video: str | None = None) -> str:
    settings = {
        "poll_method": "epoll",
        "sip_listen": f"{LOOPBACK}:0",
        "net_interface": LOOPBACK,
        "audio_player": "aubridge,nil",
        "audio_alert": "aubridge,nil",
        "audio_source": f"aufile,{tone}",
        "ausrc_srate": "8000",
        "auplay_srate": "8000",
        "ausrc_channels": "1",
        "auplay_channels": "1",
        "module_path": "/usr/lib/baresip/modules",
        "ctrl_tcp_listen": f"{LOOPBACK}:{ctrl_port}",
        "snd_path": str(recordings_dir),
    }
    if video:
        settings |= {"video_source": "fakevideo,nil", "video_display": "fakevideo,nil", "video_size": "352x288",
                     "video_fps": "15", "video_bitrate": "500000"}
    lines = [f"{key}\t{value}" for key, value in settings.items()]
    lines += [f"module\t{name}" for name in (*MODULES, *VIDEO_MODULES.get(video, ()))]
    lines += [f"module_app\t{name}" for name in APP_MODULES + ((PRESENCE_MODULE,) if presence else ())]
    return "\n".join(lines) + "\n"


def _account_line(account: PhoneAccount, lab: LabCore, auto_answer: bool, presence: bool = False,
                  video: str | None = None) -> str:
    publish = f"pubint={PUBLISH_INTERVAL};" if presence else ""
    video_codecs = f";video_codecs={video}" if video else ""
    return (
        f"<{account.public_identity}>;auth_user={account.username};auth_pass={account.password};"
        f'outbound="{lab.sip_uri}";regint=300;answermode={"auto" if auto_answer else "manual"};'
        f"{publish}audio_codecs=PCMU{video_codecs}\n"
    )


@attrs.define
class _Control:
    """A ctrl_tcp client: netstring-framed JSON commands, responses and events."""

    sock: socket.socket | None
    buffer: bytes = b""
    events: list[dict] = attrs.Factory(list)
    tokens: itertools.count = attrs.Factory(itertools.count)

    @classmethod
    def unconnected(cls) -> _Control:
        return cls(None)

    @classmethod
    def connect(cls, port: int, process: subprocess.Popen, timeout: float) -> _Control:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return cls(socket.create_connection((LOOPBACK, port), timeout=timeout))
            except ConnectionRefusedError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise BaresipError(f"baresip control port {port} never opened") from None
                time.sleep(0.02)

    def command(self, name: str, params: str | None = None, timeout: float = 5.0) -> str:
        """Run a command; returns its text output, BaresipError if baresip says not ok."""
        token = f"t{next(self.tokens)}"
        request = {"command": name, "token": token} | ({"params": params} if params is not None else {})
        payload = json.dumps(request).encode()
        self.sock.sendall(b"%d:%s," % (len(payload), payload))
        deadline = time.monotonic() + timeout
        while True:
            frame = self._read_frame(deadline)
            if frame is None:
                raise BaresipError(f"no response to {name} within {timeout} s")
            if frame.get("event"):
                self.events.append(frame)
            elif frame.get("token") == token:
                if not frame.get("ok"):
                    raise BaresipError(f"{name} {params or ''}: {frame.get('data', '').strip()}")
                return frame.get("data", "")

    def wait_event(self, event_type: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("type") == event_type:
                    return self.events.pop(index)
            frame = self._read_frame(deadline)
            if frame is None:
                raise BaresipError(f"no {event_type} event within {timeout} s; saw {self.events}")
            if frame.get("event"):
                self.events.append(frame)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _read_frame(self, deadline: float) -> dict | None:
        while True:
            length, colon, rest = self.buffer.partition(b":")
            if colon and len(rest) > int(length):
                self.buffer = rest[int(length) + 1 :]
                return json.loads(rest[: int(length)])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not data:
                raise BaresipError("baresip closed its control connection")
            self.buffer += data
