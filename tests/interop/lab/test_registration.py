"""Registration at the lab IMS core: digest, implicit registration sets, rejections."""

import pytest

from webims.testing.peers import LabCore

pytestmark = pytest.mark.interop

MARY_IMPLICIT_SET = "<sip:mary@ims.test>, <tel:+15550100>, <sip:mary.work@ims.test>"


@pytest.mark.parametrize(("username", "password"), [("mary", "mary-secret"), ("mary.phone", "mary-phone-secret")])
def test_each_private_identity_registers_the_whole_implicit_set(sipp, lab_core, username, password):
    run = sipp.register("sip:mary@ims.test", username, password).check()

    ok = run.received("200")[0]
    assert ok.header("P-Associated-URI") == MARY_IMPLICIT_SET
    assert ok.header("Service-Route") == f"<sip:orig@127.0.0.1:{lab_core.port};lr>"
    contacts = lab_core.admin.contacts("tel:+15550100")
    assert f"sip:{username}@127.0.0.1:{run.port}" in [c.address for c in contacts]


def test_a_wrong_password_is_forbidden_and_registers_nothing(sipp, lab_core):
    run = sipp.register("sip:carol@ims.test", "carol", "not-carols-password", expect_rejection=True).check()

    assert run.received("403")
    assert lab_core.admin.contacts("sip:carol@ims.test") == []


def test_a_credential_cannot_register_another_subscriptions_identity(raw_ua, lab_core):
    response = raw_ua().register("sip:carol@ims.test", "bob", "bob-secret")

    assert response.status == 403
    assert lab_core.admin.contacts("sip:carol@ims.test") == []


def test_registration_takes_sustained_load(sipp, lab_core):
    run = sipp.register_load("sip:bob@ims.test", "bob", "bob-secret", registrations=100, rate=200).check()

    assert len(run.received("200")) == 100


@pytest.fixture
def sha256_lab(tmp_path):
    lab = LabCore.start(tmp_path / "lab", digest_algorithm="SHA-256")
    yield lab
    lab.stop()


def test_a_lab_configured_for_sha256_challenges_and_verifies_with_it(sha256_lab, raw_ua_factory):
    ua = raw_ua_factory(sha256_lab)
    challenge = ua.request("REGISTER", "sip:ims.test", from_uri="sip:bob@ims.test", to_uri="sip:bob@ims.test")
    assert "algorithm=SHA-256" in challenge.header("WWW-Authenticate")

    ok = ua.register("sip:bob@ims.test", "bob", "bob-secret")
    assert ok.status == 200
    assert ok.header("P-Associated-URI") == "<sip:bob@ims.test>, <tel:+15550101>"
