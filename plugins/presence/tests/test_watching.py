"""Her contacts watched (RFC 3856), her watchers decided (RFC 3857), against the fake IMS core."""

import pytest
import trio

from webims.testing import BrowserError
from webims_presence.pidf import build_pidf
from webims_presence.status import PresenceStatus

BOB = "sip:bob@ims.test"
BUSY_BOB = build_pidf(BOB, PresenceStatus("open", "busy", "in a call"), tuple_id="t", person_id="p")


async def event_where(tab, event_type, check, timeout=5):
    while True:
        event = await tab.next_event("presence", event_type, timeout=timeout)
        if check(event["body"]):
            return event["body"]


async def watching_bob(tab, ims, notifier):
    """Bob added as a contact, his SUBSCRIBE accepted: the presence server's side of it."""
    added = await tab.request("presence", "contact.add", {"uri": "bob@ims.test", "display_name": "Bob"})
    assert added["contact"]["uri"] == BOB
    subscribe = await ims.next("SUBSCRIBE", "presence")
    return subscribe.request, await notifier(subscribe)


def bob_presence(body):
    return body["uri"] == BOB and body["presence"]["subscription"] == "active"


async def test_an_added_contact_is_subscribed_and_its_notify_shows_in_the_page(gateway, logged_in, ims, notifier):
    tab, _, _ = await logged_in(gateway)
    subscribe, bob = await watching_bob(tab, ims, notifier)
    assert str(subscribe.uri) == BOB and subscribe.expires == 3600
    assert "application/pidf+xml" in subscribe.headers.get("Accept")
    assert await bob.notify(BUSY_BOB, "application/pidf+xml") == 200
    body = await event_where(tab, "contact.presence", bob_presence)
    assert body["presence"] == {"basic": "open", "activity": "busy", "note": "in a call", "subscription": "active",
                                "reason": ""}
    state = await tab.request("presence", "state")
    assert state["contacts"][0]["display_name"] == "Bob"
    assert state["contacts"][0]["presence"]["activity"] == "busy"


async def test_an_active_subscription_without_a_document_shows_closed(gateway, logged_in, ims, notifier):
    tab, _, _ = await logged_in(gateway)
    _, bob = await watching_bob(tab, ims, notifier)
    await bob.notify(state="pending")
    pending = await event_where(tab, "contact.presence", lambda b: b["presence"]["subscription"] == "pending")
    assert pending["presence"]["basic"] == "unknown"
    await bob.notify()
    body = await event_where(tab, "contact.presence", bob_presence)
    assert body["presence"]["basic"] == "closed"


@pytest.mark.parametrize("body, content_type, event, status", [
    (b"<presence", "application/pidf+xml", None, 400),
    (b'<presence xmlns="urn:ietf:params:xml:ns:pidf"/>', "application/pidf+xml", None, 400),
    (b"hello", "text/plain", None, 415),
    (b"", None, "dialog", 489),
    (BUSY_BOB.replace(b"in a call", b"x" * 5000), "application/pidf+xml", None, 413),
])
async def test_a_bad_notify_is_refused_with_a_reason_and_changes_nothing(
        start_gateway, logged_in, ims, notifier, body, content_type, event, status):
    gateway = await start_gateway(max_document_bytes=4096)
    tab, _, _ = await logged_in(gateway)
    _, bob = await watching_bob(tab, ims, notifier)
    assert await bob.notify(body, content_type, event=event) == status
    assert bob.last_response.reason  # a reason phrase a person can read
    await bob.notify(BUSY_BOB, "application/pidf+xml")
    assert (await event_where(tab, "contact.presence", bob_presence))["presence"]["activity"] == "busy"


async def test_a_deactivated_subscription_is_renewed_at_once_and_a_rejected_one_waits(
        gateway, logged_in, ims, notifier):
    tab, _, _ = await logged_in(gateway)
    first, bob = await watching_bob(tab, ims, notifier)
    await bob.notify(state="terminated;reason=deactivated")
    again = await ims.next("SUBSCRIBE", "presence")
    assert again.request.call_id != first.call_id and again.request.to_tag is None
    bob = await notifier(again)
    await bob.notify(state="terminated;reason=rejected")
    body = await event_where(tab, "contact.presence", lambda b: b["presence"]["reason"])
    assert body["presence"]["subscription"] == "terminated"
    assert body["presence"]["reason"] == "Not sharing status with you."
    with trio.move_on_after(0.5):
        await ims.next("SUBSCRIBE", "presence")
        pytest.fail("a rejected subscription was tried again at once")


async def test_a_refresh_the_server_forgot_starts_a_new_subscription(gateway, logged_in, ims, notifier):
    tab, _, _ = await logged_in(gateway)
    first, bob = await watching_bob(tab, ims, notifier)
    await bob.notify(state="active;expires=1")  # the notifier shortens it: a refresh comes early
    refresh = await ims.next("SUBSCRIBE", "presence", timeout=3)
    assert refresh.request.call_id == first.call_id and refresh.request.to_tag == bob.tag
    await refresh.reply(481)
    renewed = await ims.next("SUBSCRIBE", "presence")
    assert renewed.request.call_id != first.call_id
    await notifier(renewed)


async def test_renaming_regrouping_and_removing_contacts(gateway, logged_in, ims, notifier, webims_browser):
    tab, _, _ = await logged_in(gateway)
    first, _ = await watching_bob(tab, ims, notifier)
    updated = await tab.request("presence", "contact.update", {"uri": BOB, "display_name": "Robert", "group": "Work"})
    assert updated["contact"]["display_name"] == "Robert" and updated["contact"]["group"] == "Work"
    listed = await event_where(tab, "contacts", lambda b: b["contacts"][0]["group"] == "Work")
    assert listed["contacts"][0]["display_name"] == "Robert"
    await tab.request("presence", "contact.remove", {"uri": BOB})
    unsubscribe = await ims.next("SUBSCRIBE", "presence")
    assert unsubscribe.request.call_id == first.call_id and unsubscribe.request.expires == 0
    await unsubscribe.reply(200)
    assert (await tab.request("presence", "state"))["contacts"] == []
    with pytest.raises(BrowserError) as error:
        await tab.request("presence", "contact.remove", {"uri": BOB})
    assert error.value.code == "bad_request" and "not in your contacts" in error.value.message


async def test_contacts_outlive_the_login(gateway, logged_in, ims, notifier, webims_browser):
    tab, _, _ = await logged_in(gateway)
    await watching_bob(tab, ims, notifier)
    await tab.request("auth", "logout")
    for method in ("SUBSCRIBE", "SUBSCRIBE", "PUBLISH"):  # what logging out ends: Bob's, her winfo, her status
        await (await ims.next(method)).reply(200)
    tab, _, _ = await logged_in(gateway)
    assert [c["uri"] for c in (await tab.request("presence", "state"))["contacts"]] == [BOB]
    assert (await ims.next("SUBSCRIBE", "presence")).request.to_tag is None  # watched again


async def test_logout_unsubscribes_everything_it_subscribed(gateway, logged_in, ims, notifier):
    tab, _, winfo = await logged_in(gateway)
    _, bob = await watching_bob(tab, ims, notifier)
    await tab.request("auth", "logout")
    ended = {}
    for _ in range(2):
        unsubscribe = await ims.next("SUBSCRIBE")
        assert unsubscribe.request.expires == 0
        ended[unsubscribe.request.call_id] = unsubscribe.request.headers.get("Event")
        await unsubscribe.reply(200)
    assert ended == {bob.subscribe.call_id: "presence", winfo.subscribe.call_id: "presence.winfo"}
    with trio.fail_after(2):
        while len(gateway.plugins.services["presence"].plugin.routes):
            await trio.sleep(0.01)


async def test_a_fetch_asks_once_with_expires_zero(gateway, logged_in, ims, notifier):
    tab, _, _ = await logged_in(gateway)
    async with trio.open_nursery() as nursery:
        reply = {}

        async def fetch():
            reply.update(await tab.request("presence", "contact.fetch", {"uri": "sip:carol@ims.test"}))
        nursery.start_soon(fetch)
        subscribe = await ims.next("SUBSCRIBE", "presence")
        assert subscribe.request.expires == 0
        carol = await notifier(subscribe, expires=0)
        await carol.notify(build_pidf("sip:carol@ims.test", PresenceStatus("open", "away"), tuple_id="t",
                                      person_id="p"), "application/pidf+xml", state="terminated;reason=timeout")
    assert reply["presence"]["activity"] == "away" and reply["presence"]["subscription"] == "fetched"


WINFO = ('<?xml version="1.0"?><watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="{v}" state="{s}">'
         '<watcher-list resource="sip:mary@ims.test" package="presence">{w}</watcher-list></watcherinfo>')


def watcher(watcher_id, uri, status):
    return f'<watcher id="{watcher_id}" event="subscribe" status="{status}">{uri}</watcher>'


async def test_her_watchers_are_listed_and_her_decisions_kept(gateway, logged_in, ims):
    tab, _, winfo = await logged_in(gateway)
    body = WINFO.format(v=1, s="full", w=watcher("w1", BOB, "pending") + watcher("w2", "sip:carol@ims.test", "active"))
    assert await winfo.notify(body.encode(), "application/watcherinfo+xml") == 200
    listed = await event_where(tab, "watchers", lambda b: len(b["watchers"]) == 2)
    assert {w["uri"]: (w["status"], w["decision"]) for w in listed["watchers"]} == {
        BOB: ("pending", None), "sip:carol@ims.test": ("active", None)}
    decided = await tab.request("presence", "watcher.decide", {"watcher": BOB, "decision": "block"})
    assert decided["enforced"] is False  # the embedded store: the presence server does not know
    assert {w["uri"]: w["decision"] for w in decided["watchers"]}[BOB] == "block"
    partial = WINFO.format(v=2, s="partial", w=watcher("w1", BOB, "terminated"))
    await winfo.notify(partial.encode(), "application/watcherinfo+xml")
    listed = await event_where(tab, "watchers", lambda b: any(w["status"] == "none" for w in b["watchers"]))
    assert {w["uri"]: (w["status"], w["decision"]) for w in listed["watchers"]}[BOB] == ("none", "block")


async def test_a_watcherinfo_gap_asks_for_the_full_state_again(gateway, logged_in, ims):
    tab, _, winfo = await logged_in(gateway)
    await winfo.notify(WINFO.format(v=1, s="full", w="").encode(), "application/watcherinfo+xml")
    await winfo.notify(WINFO.format(v=5, s="partial", w="").encode(), "application/watcherinfo+xml")
    refresh = await ims.next("SUBSCRIBE", "presence.winfo")
    assert refresh.request.call_id == winfo.subscribe.call_id and refresh.request.to_tag == winfo.tag
    await refresh.reply(200)


async def test_contact_requests_are_checked(gateway, logged_in, ims):
    tab, _, _ = await logged_in(gateway)
    for body, words in (({"uri": "not an address"}, "not a SIP or tel address"),
                        ({"uri": "bob@ims.test", "group": "x" * 65}, "group"),
                        ({}, "Give the contact's address")):
        with pytest.raises(BrowserError) as error:
            await tab.request("presence", "contact.add", body)
        assert error.value.code == "bad_request" and words in error.value.message
    with pytest.raises(BrowserError) as error:
        await tab.request("presence", "watcher.decide", {"watcher": BOB, "decision": "maybe"})
    assert error.value.code == "bad_request"
