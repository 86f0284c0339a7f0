"""The peer fixtures clean up after themselves, and say how to install what is missing."""

import os
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

from webims.testing.peers import LabCore
from webims.testing.peers.ports import LOOPBACK, free_port

pytestmark = pytest.mark.interop


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_stopped_lab_leaves_no_process(tmp_path):
    lab = LabCore.start(tmp_path / "lab")
    pids = lab.pids()
    assert lab.process.pid in pids and len(pids) > 1

    lab.stop()

    assert lab.pids() == []
    assert not any(alive(pid) for pid in pids)


def test_a_stopped_phone_leaves_no_process(baresip_factory):
    phone = baresip_factory("carol")

    phone.stop()

    assert not alive(phone.pid)


def test_a_phone_whose_control_port_was_taken_starts_again_on_another(baresip_factory, monkeypatch):
    """ports.py: a free port can be taken before the peer binds it. Connecting anyway would reach the taker."""
    from webims.testing.peers import baresip

    taken = socket.create_server((LOOPBACK, 0))
    ports = iter([taken.getsockname()[1]])
    monkeypatch.setattr(baresip, "free_port", lambda: next(ports, None) or free_port())
    with taken:
        phone = baresip_factory("carol")
    assert phone.is_registered()
    assert next(ports, None) is None  # the taken port was tried first


def test_a_finished_sipp_leaves_no_process(sipp):
    uas = sipp.serve("uas_message.xml", timeout=1)

    sipp.close()

    assert not alive(uas.popen.pid)


@pytest.fixture
def run_tests_using_each_peer(tmp_path):
    """Run, in a separate pytest, one test per peer fixture with PATH set to `path`."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["webims.testing.peers.fixtures"]\n')
    (tmp_path / "test_peers.py").write_text(textwrap.dedent("""
        def test_lab(lab_core):
            pass

        def test_phone(baresip_factory):
            baresip_factory("bob")

        def test_sipp(sipp):
            pass
    """))

    def run(path: str, selection: str) -> str:
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-k", selection, str(tmp_path)]
        return subprocess.run(command, cwd=tmp_path, env=os.environ | {"PATH": path},
                              capture_output=True, text=True, timeout=60).stdout

    return run


def test_a_missing_kamailio_fails_the_fixture_with_its_install_command(run_tests_using_each_peer, tmp_path):
    output = run_tests_using_each_peer(str(tmp_path / "empty"), "lab")

    assert "1 error" in output
    assert "kamailio not found: install it with `apt-get install kamailio " in output


def test_missing_phones_and_sipp_fail_their_fixtures_with_install_commands(run_tests_using_each_peer, tmp_path):
    only_kamailio = tmp_path / "bin"
    only_kamailio.mkdir()
    (only_kamailio / "kamailio").symlink_to(shutil.which("kamailio"))

    output = run_tests_using_each_peer(str(only_kamailio), "phone or sipp")

    assert "1 failed" in output and "1 error" in output
    assert "baresip not found: install it with `apt-get install baresip-core`" in output
    assert "sipp not found: install it with `apt-get install sip-tester`" in output
