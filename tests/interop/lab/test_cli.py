"""`webims lab`: the foreground lab and its admin subcommands, through argparse."""

import argparse
import contextlib
import os
import signal
import subprocess
import sys

import pytest

from webims.lab.cli import add_lab_command, run_lab_command
from webims.testing.peers import free_ports

pytestmark = pytest.mark.interop

# The main CLI (webims.cli) adds the command the same way.
MAIN = (
    "import argparse, sys\n"
    "from webims.lab.cli import add_lab_command, run_lab_command\n"
    "parser = argparse.ArgumentParser(prog='webims')\n"
    "add_lab_command(parser.add_subparsers(dest='command', required=True))\n"
    "sys.exit(run_lab_command(parser.parse_args()))\n"
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="webims")
    add_lab_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def processes_using(path) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if str(path).encode() in open(f"/proc/{pid}/cmdline", "rb").read():
                found.append(int(pid))
        except OSError:
            pass
    return found


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("stop_with, started_as", [
    (signal.SIGINT, "a foreground command"),
    (signal.SIGINT, "a background job (SIGINT ignored)"),
    (signal.SIGTERM, "a foreground command"),
])
def test_the_lab_command_runs_the_lab_until_interrupted(tmp_path, stop_with, started_as):
    sip, msrp, ws = free_ports(3)
    runtime = tmp_path / "lab"
    command = [sys.executable, "-c", MAIN, "lab", "--runtime-dir", str(runtime),
               "--sip-port", str(sip), "--msrp-port", str(msrp), "--websocket-port", str(ws)]
    # A shell starts a background job with SIGINT ignored; the default (as set for a foreground command) is
    # given explicitly, since the test's own process may be such a job.
    start = _ignore_sigint if "background" in started_as else lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    lab = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, preexec_fn=start)
    try:
        banner = []
        while not banner or not banner[-1].startswith("Ctrl-C"):
            banner.append(lab.stdout.readline().strip())
            assert banner[-1] or lab.poll() is None, "\n".join(banner)

        lab.send_signal(stop_with)

        assert lab.wait(10) == 0
        text = "\n".join(banner)
        assert f"sip:127.0.0.1:{sip}" in text and f"ws://127.0.0.1:{ws}" in text
        assert "mary.phone / mary-phone-secret: sip:mary@ims.test, tel:+15550100, sip:mary.work@ims.test" in text
        assert processes_using(runtime) == []
    finally:  # a failed test must not leave the lab (or its Kamailio, in a session of its own) running
        for pid in processes_using(runtime) + ([lab.pid] if lab.poll() is None else []):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        lab.wait()


def test_admin_lists_and_deregisters_a_subscribers_contacts(lab_core, raw_ua, capsys):
    raw_ua().register("sip:mary@ims.test", "mary", "mary-secret")
    runtime = str(lab_core.runtime_dir)

    assert run_lab_command(parse("lab", "--runtime-dir", runtime, "admin", "contacts", "tel:+15550100")) == 0
    assert "1 contact(s) registered for sip:mary@ims.test" in capsys.readouterr().out

    assert run_lab_command(parse("lab", "--runtime-dir", runtime, "admin", "deregister", "sip:mary.work@ims.test")) == 0
    assert "1 contact(s) removed for sip:mary@ims.test" in capsys.readouterr().out
    assert lab_core.admin.contacts("sip:mary@ims.test") == []


def test_admin_explains_an_unknown_identity(lab_core, capsys):
    runtime = str(lab_core.runtime_dir)

    status = run_lab_command(parse("lab", "--runtime-dir", runtime, "admin", "contacts", "sip:nobody@ims.test"))

    assert status == 1
    assert "sip:nobody@ims.test is not a public identity of any lab subscriber" in capsys.readouterr().err


def test_admin_without_a_running_lab_says_so(tmp_path, capsys):
    status = run_lab_command(parse("lab", "--runtime-dir", str(tmp_path), "admin", "contacts", "sip:mary@ims.test"))

    assert status == 1
    assert "no lab answers on" in capsys.readouterr().err
