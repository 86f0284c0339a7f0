"""pytest fixtures for native peers: the lab IMS core, baresip phones and SIPp.

Load with `pytest_plugins = ["webims.testing.peers.fixtures"]`. A fixture whose
peer is not installed errors with PeerMissing, whose message has the install
command. Everything listens on free 127.0.0.1 ports and is stopped by PID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from webims.testing.peers.baresip import BaresipPhone, PhoneAccount
from webims.testing.peers.kamailio import LabCore
from webims.testing.peers.sipp import Sipp


@pytest.fixture(scope="module")
def lab_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCore]:
    """A lab IMS core with the demo subscribers, shared by the tests of a module.

    Registrations, stored MESSAGEs and presence state persist between those tests;
    `lab_core.admin.deregister(identity)` forgets a subscriber's contacts.
    """
    lab = LabCore.start(tmp_path_factory.mktemp("lab"))
    yield lab
    lab.stop()


@pytest.fixture
def baresip_factory(lab_core: LabCore, tmp_path) -> Iterator[Callable[..., BaresipPhone]]:
    """`start(username, *, public_identity=None, tone_hz=880, auto_answer=True, contacts=())`.

    Starts a registered baresip phone for the demo subscriber owning private
    identity `username` (as its default identity unless `public_identity` says
    otherwise); every phone is stopped after the test.
    """
    phones: list[BaresipPhone] = []

    def start(username: str, *, public_identity: str | None = None, **options) -> BaresipPhone:
        subscription = lab_core.subscribers.by_username(username)
        credential = lab_core.subscribers.credential(username)
        account = PhoneAccount(public_identity or subscription.canonical_aor, username, credential.password)
        phones.append(BaresipPhone.start(tmp_path / f"baresip-{len(phones)}-{username}", lab_core, account, **options))
        return phones[-1]

    yield start
    for phone in phones:
        phone.stop()


@pytest.fixture
def sipp(lab_core: LabCore, tmp_path) -> Iterator[Sipp]:
    """SIPp runs against `lab_core`, logged under the test's tmp dir; leftovers killed."""
    runner = Sipp(lab_core, tmp_path / "sipp")
    yield runner
    runner.close()
