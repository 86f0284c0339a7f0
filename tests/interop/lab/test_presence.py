"""Presence at the lab IMS core: PUBLISH of PIDF, SUBSCRIBE/NOTIFY, watcher info."""

import pytest

pytestmark = pytest.mark.interop

PIDF = """<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:mary@ims.test">
  <tuple id="lab"><status><basic>open</basic></status><note>in the lab</note></tuple>
</presence>
"""


@pytest.fixture
def mary_and_bob(raw_ua):
    mary, bob = raw_ua(), raw_ua()
    assert mary.register("sip:mary@ims.test", "mary", "mary-secret").status == 200
    assert bob.register("sip:bob@ims.test", "bob", "bob-secret").status == 200
    return mary, bob


def publish(ua, body: str = PIDF):
    return ua.request(
        "PUBLISH", "sip:mary@ims.test", from_uri="sip:mary@ims.test",
        headers="Event: presence\r\nExpires: 60\r\nContent-Type: application/pidf+xml\r\n", body=body,
    )


def subscribe(ua, target: str, event: str, watcher: str):
    return ua.request("SUBSCRIBE", target, from_uri=watcher, headers=f"Event: {event}\r\nExpires: 60\r\n")


def test_a_watcher_of_any_identity_is_notified_of_the_published_pidf(mary_and_bob):
    mary, bob = mary_and_bob
    published = publish(mary)
    assert published.status == 200
    assert published.header("SIP-ETag")

    assert subscribe(bob, "tel:+15550100", "presence", "sip:bob@ims.test").status == 200

    notify = bob.receive(method="NOTIFY")
    assert notify.header("Subscription-State").startswith("active")
    assert notify.header("Content-Type") == "application/pidf+xml"
    assert "<note>in the lab</note>" in notify.body


def test_only_the_presentity_may_publish_its_presence(mary_and_bob):
    _mary, bob = mary_and_bob

    forged = bob.request(
        "PUBLISH", "sip:mary@ims.test", from_uri="sip:bob@ims.test",
        headers="Event: presence\r\nExpires: 60\r\nContent-Type: application/pidf+xml\r\n", body=PIDF,
    )

    assert forged.status == 403


def test_the_presentity_learns_who_watches_it(mary_and_bob):
    mary, bob = mary_and_bob
    assert subscribe(bob, "sip:mary@ims.test", "presence", "sip:bob@ims.test").status == 200

    assert subscribe(mary, "sip:mary@ims.test", "presence.winfo", "sip:mary@ims.test").status == 200

    notify = mary.receive(method="NOTIFY")
    assert notify.header("Content-Type") == "application/watcherinfo+xml"
    assert "sip:bob@ims.test" in notify.body
    assert subscribe(bob, "sip:mary@ims.test", "presence.winfo", "sip:bob@ims.test").status == 403


def test_a_watcher_refreshes_then_ends_its_subscription_in_its_dialog(mary_and_bob):
    mary, bob = mary_and_bob
    publish(mary)
    accepted = subscribe(bob, "sip:mary@ims.test", "presence", "sip:bob@ims.test")
    bob.receive(method="NOTIFY")

    refreshed = bob.request_in_dialog("SUBSCRIBE", accepted, from_uri="sip:bob@ims.test",
                                      headers="Event: presence\r\nExpires: 60\r\n")
    assert refreshed.status == 200
    assert bob.receive(method="NOTIFY").header("Subscription-State").startswith("active")

    ended = bob.request_in_dialog("SUBSCRIBE", accepted, from_uri="sip:bob@ims.test",
                                  headers="Event: presence\r\nExpires: 0\r\n")
    assert ended.status == 200
    assert bob.receive(method="NOTIFY").header("Subscription-State").startswith("terminated")
