"""Page-mode MESSAGE through the lab IMS core: offline storage, asserted identities."""

import time

import pytest

pytestmark = pytest.mark.interop


def wait_for(predicate, timeout: float = 3.0):
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


def test_a_message_to_an_offline_subscriber_is_stored_and_delivered_when_she_registers(
    raw_ua, baresip_factory, lab_core
):
    assert lab_core.admin.contacts("sip:mary@ims.test") == []
    bob = raw_ua()
    assert bob.register("sip:bob@ims.test", "bob", "bob-secret").status == 200

    response = bob.request(
        "MESSAGE", "tel:+15550100", from_uri="sip:bob@ims.test",
        headers="Content-Type: text/plain\r\n", body="call me back",
    )
    assert response.status == 202

    mary = baresip_factory("mary.phone")
    received = wait_for(mary.received_messages)
    assert [(m.peer, m.text) for m in received] == [("sip:bob@ims.test", "call me back")]


def test_a_delivered_offline_message_keeps_who_sent_it_and_which_identity_it_was_for(raw_ua):
    bob, carol = raw_ua(), raw_ua()
    bob.register("sip:bob@ims.test", "bob", "bob-secret")
    stored = bob.request(
        "MESSAGE", "sip:carol@ims.test", from_uri="sip:bob@ims.test",
        headers="Content-Type: text/plain\r\n", body="while you were out",
    )
    assert stored.status == 202

    carol.register("sip:carol@ims.test", "carol", "carol-secret")
    message = carol.receive(method="MESSAGE")

    assert message.body == "while you were out"
    assert message.header("P-Asserted-Identity") == '"Bob" <sip:bob@ims.test>'
    assert message.header("P-Called-Party-ID") == "<sip:carol@ims.test>"


@pytest.mark.parametrize(
    ("preferred", "asserted"),
    [("<tel:+15550100>", "<tel:+15550100>"), ("<sip:bob@ims.test>", "<sip:mary@ims.test>")],
    ids=["own-identity-asserted", "foreign-identity-replaced-by-default"],
)
def test_a_preferred_identity_is_asserted_only_within_the_callers_implicit_set(raw_ua, preferred, asserted):
    mary, echo = raw_ua(), raw_ua()
    mary.register("sip:mary@ims.test", "mary", "mary-secret")
    echo.register("sip:echo@ims.test", "echo", "echo-secret")

    mary.send_request(
        "MESSAGE", "sip:echo@ims.test", from_uri="sip:mary@ims.test",
        headers=f"P-Preferred-Identity: {preferred}\r\nContent-Type: text/plain\r\n", body="who am I",
    )

    message = echo.receive(method="MESSAGE")
    assert mary.final_response().status == 200
    assert message.header("P-Asserted-Identity") == f'"Mary" {asserted}'
    assert message.header("P-Preferred-Identity") is None


def test_a_phone_sends_a_message_to_one_of_its_contacts(baresip_factory, raw_ua):
    carol = raw_ua()
    carol.register("sip:carol@ims.test", "carol", "carol-secret")
    bob = baresip_factory("bob", contacts=("sip:mary@ims.test", "sip:carol@ims.test"))

    bob.send_message("sip:carol@ims.test", "hello carol")

    message = carol.receive(method="MESSAGE")
    assert message.body == "hello carol"
    assert message.header("P-Asserted-Identity") == '"Bob" <sip:bob@ims.test>'
