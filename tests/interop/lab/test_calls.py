"""Calls through the lab IMS core: identity mapping, asserted and called identities, media."""

import time

import pytest

from webims.testing.peers import contains_tone, dominant_frequency

pytestmark = pytest.mark.interop


@pytest.fixture
def mary_answers_on_sipp(sipp, lab_core):
    """A SIPp UAS registered as mary's contact (via the credential `mary`)."""
    uas = sipp.serve("uas_answer.xml")
    sipp.register("sip:mary@ims.test", "mary", "mary-secret", contact_port=uas.port).check()
    yield uas
    lab_core.admin.deregister("sip:mary@ims.test")


def test_a_call_to_a_tel_identity_reaches_the_subscriber_and_says_which_identity(
    mary_answers_on_sipp, baresip_factory
):
    bob = baresip_factory("bob")

    bob.dial("sip:+15550100@ims.test;user=phone")
    bob.wait_event("CALL_ESTABLISHED")
    bob.hangup()

    invite = mary_answers_on_sipp.wait().check().received("INVITE")[0]
    assert invite.header("P-Called-Party-ID") == "<tel:+15550100>"
    assert invite.header("P-Asserted-Identity") == '"Bob" <sip:bob@ims.test>'
    assert invite.first_line.startswith(f"INVITE sip:mary@127.0.0.1:{mary_answers_on_sipp.port} ")


def test_a_caller_that_is_not_registered_must_authenticate(
    mary_answers_on_sipp, sipp
):
    call = sipp.call("mary.work", "sip:bob@ims.test", "bob", "bob-secret", hold_ms=100).check()

    assert call.received("407")
    invite = mary_answers_on_sipp.wait().check().received("INVITE")[0]
    assert invite.header("P-Called-Party-ID") == "<sip:mary.work@ims.test>"
    assert invite.header("P-Asserted-Identity") == '"Bob" <sip:bob@ims.test>'


def test_two_phones_hear_each_other(baresip_factory, lab_core):
    mary = baresip_factory("mary", tone_hz=880)
    bob = baresip_factory("bob", tone_hz=440)

    bob.dial("sip:mary@ims.test")
    bob.wait_event("CALL_ESTABLISHED")
    mary.wait_event("CALL_ESTABLISHED")
    time.sleep(1.5)
    bob.hangup()
    bob.wait_event("CALL_CLOSED")
    mary.wait_event("CALL_CLOSED")

    assert contains_tone(mary.received_audio(), 440)
    assert contains_tone(bob.received_audio(), 880)
    assert dominant_frequency(mary.received_audio()) == pytest.approx(440, abs=5)
    assert dominant_frequency(bob.received_audio()) == pytest.approx(880, abs=5)
