"""The reg event package (RFC 3680) at the lab IMS core: who may watch, what they see."""

import re

import pytest

pytestmark = pytest.mark.interop


def subscribe_reg(ua, watcher: str):
    return ua.request(
        "SUBSCRIBE", "sip:mary@ims.test", from_uri=watcher,
        headers="Event: reg\r\nExpires: 60\r\nAccept: application/reginfo+xml\r\n",
    )


def registration_state(reginfo: str) -> str:
    return re.search(r'<registration [^>]*state="(\w+)"', reginfo)[1]


def contact_states(reginfo: str) -> list[tuple[str, str]]:
    return re.findall(r'<contact [^>]*state="(\w+)" event="(\w+)"', reginfo)


@pytest.fixture
def mary_watching_her_registrations(raw_ua):
    """mary's phone (credential mary.phone) registered and subscribed to her own reg event."""
    watcher = raw_ua()
    assert watcher.register("sip:mary.work@ims.test", "mary.phone", "mary-phone-secret").status == 200
    assert subscribe_reg(watcher, "sip:mary.work@ims.test").status == 200
    first = watcher.receive(method="NOTIFY")
    assert first.header("Content-Type") == "application/reginfo+xml"
    assert registration_state(first.body) == "active"
    return watcher


def test_a_new_registration_of_the_set_is_notified(mary_watching_her_registrations, raw_ua):
    raw_ua().register("sip:mary@ims.test", "mary", "mary-secret")

    notify = mary_watching_her_registrations.receive(method="NOTIFY")
    assert ("active", "created") in contact_states(notify.body)


def test_an_administrative_deregistration_terminates_the_registration(
    mary_watching_her_registrations, lab_core
):
    removed = lab_core.admin.deregister("tel:+15550100")
    assert removed

    notify = mary_watching_her_registrations.receive(method="NOTIFY")
    while registration_state(notify.body) != "terminated":
        notify = mary_watching_her_registrations.receive(method="NOTIFY")
    assert all(state == "terminated" for state, _event in contact_states(notify.body))
    assert lab_core.admin.contacts("sip:mary@ims.test") == []


def test_another_subscriber_may_not_watch_marys_registrations(raw_ua):
    bob = raw_ua()
    bob.register("sip:bob@ims.test", "bob", "bob-secret")

    assert subscribe_reg(bob, "sip:bob@ims.test").status == 403


def test_a_refresh_and_a_deregistration_by_the_ua_are_notified(mary_watching_her_registrations, raw_ua):
    phone = raw_ua()
    phone.register("sip:mary@ims.test", "mary", "mary-secret")
    mary_watching_her_registrations.receive(method="NOTIFY")

    phone.register("sip:mary@ims.test", "mary", "mary-secret")
    assert ("active", "refreshed") in contact_states(mary_watching_her_registrations.receive(method="NOTIFY").body)

    phone.register("sip:mary@ims.test", "mary", "mary-secret", expires=0)
    assert ("terminated", "unregistered") in contact_states(
        mary_watching_her_registrations.receive(method="NOTIFY").body
    )
