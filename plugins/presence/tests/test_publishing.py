"""Her status published (RFC 3903) through the gateway, against the test kit's fake IMS core: no voice plugin."""

import pytest
import trio

from webims.testing import BrowserError
from webims_presence.pidf import parse_pidf
from webims_presence.status import PresenceStatus


def status_of(request):
    return parse_pidf(request.body).status()


async def event_where(tab, event_type, check):
    """The next presence event of that type whose body passes ``check`` (earlier ones are skipped)."""
    while True:
        event = await tab.next_event("presence", event_type)
        if check(event["body"]):
            return event["body"]


class FakeCall:
    kind = "call"  # what the voice service's calls look like among her sessions


async def test_login_publishes_her_default_identity_as_open_and_available(gateway, logged_in, ims):
    tab, publish, _ = await logged_in(gateway)
    assert str(publish.uri) == "sip:mary@ims.test"
    assert publish.headers.get("Event") == "presence" and publish.media_type == "application/pidf+xml"
    assert "SIP-If-Match" not in publish.headers
    assert parse_pidf(publish.body).entity == "sip:mary@ims.test"
    assert status_of(publish) == PresenceStatus("open", "available", "")
    assert "voice" not in tab.welcome["services"]


async def test_a_status_change_modifies_the_publication_and_reaches_every_tab(gateway, logged_in, webims_browser, ims):
    tab, _, _ = await logged_in(gateway)
    other = await webims_browser(gateway)
    await other.request("auth", "login", {"username": "mary", "password": "secret"})
    reply = await tab.request("presence", "status.set", {"activity": "busy", "note": "Writing the report"})
    assert reply["identities"][0]["shown"] == {"basic": "open", "activity": "busy", "note": "Writing the report"}
    modify = await ims.next("PUBLISH")
    assert modify.request.headers.get("SIP-If-Match") == "e1"
    assert status_of(modify.request) == PresenceStatus("open", "busy", "Writing the report")
    await modify.reply(200, headers=[("SIP-ETag", "e2")])
    await event_where(other, "status", lambda body: body["identities"][0]["chosen"]["activity"] == "busy")


@pytest.mark.parametrize("status", [412, 500])
async def test_an_unknown_entity_tag_is_published_anew(gateway, logged_in, ims, status):
    tab, _, _ = await logged_in(gateway)
    await tab.request("presence", "status.set", {"activity": "in-a-meeting"})
    modify = await ims.next("PUBLISH")
    await modify.reply(status)
    anew = await ims.next("PUBLISH")
    assert "SIP-If-Match" not in anew.request.headers
    assert status_of(anew.request).activity == "in-a-meeting"
    await anew.reply(200, headers=[("SIP-ETag", "e9")])


async def test_the_publication_is_refreshed_before_the_granted_interval_ends(gateway, webims_browser, ims):
    tab = await webims_browser(gateway)
    await tab.request("auth", "login", {"username": "mary", "password": "secret"})
    publish = await ims.next("PUBLISH")
    await publish.reply(200, headers=[("SIP-ETag", "e1"), ("Expires", "2")])
    started = trio.current_time()
    refresh = await ims.next("PUBLISH", timeout=3)
    assert trio.current_time() - started < 2
    assert refresh.request.headers.get("SIP-If-Match") == "e1" and refresh.request.body == b""
    assert refresh.request.expires == 3600
    await refresh.reply(200, headers=[("SIP-ETag", "e2"), ("Expires", "600")])


async def test_logout_removes_the_publication(gateway, logged_in, ims):
    tab, _, _ = await logged_in(gateway)
    await tab.request("auth", "logout")
    removal = await ims.next("PUBLISH")
    assert removal.request.expires == 0 and removal.request.headers.get("SIP-If-Match") == "e1"
    await removal.reply(200)


async def test_a_gateway_shutdown_removes_the_publication_and_ends_the_subscriptions(gateway, logged_in, ims):
    """The goodbyes go out while the gateway's SIP side still runs (core: Gateway.shutdown)."""
    await logged_in(gateway)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gateway.shutdown)
        removal = await ims.next("PUBLISH")
        assert removal.request.expires == 0 and removal.request.headers.get("SIP-If-Match") == "e1"
        await removal.reply(200)
        unsubscribe = await ims.next("SUBSCRIBE", "presence.winfo")
        assert unsubscribe.request.expires == 0
        await unsubscribe.reply(200)


async def test_her_next_login_publishes_the_status_she_chose_last(gateway, logged_in, webims_browser, ims):
    tab, _, _ = await logged_in(gateway)
    await tab.request("presence", "status.set", {"activity": "in-a-meeting", "note": "Back at 3"})
    modify = await ims.next("PUBLISH")
    await modify.reply(200, headers=[("SIP-ETag", "e2")])
    await tab.request("auth", "logout")
    await (await ims.next("PUBLISH")).reply(200)  # the removal
    tab, publish, _ = await logged_in(gateway)
    assert status_of(publish) == PresenceStatus("open", "in-a-meeting", "Back at 3")
    status = await event_where(tab, "status", lambda body: bool(body["identities"]))
    assert status["identities"][0]["chosen"] == {"basic": "open", "activity": "in-a-meeting", "note": "Back at 3"}


async def test_a_call_session_shows_on_the_phone_until_it_ends(gateway, logged_in, ims):
    tab, _, _ = await logged_in(gateway)
    context = gateway.contexts.get("mary")
    context.add_session("c1", FakeCall())
    on_call = await ims.next("PUBLISH")
    assert status_of(on_call.request).activity == "on-the-phone"
    await on_call.reply(200, headers=[("SIP-ETag", "e2")])
    await event_where(tab, "status", lambda body: body["identities"][0]["automatic"] == "on-the-phone")
    context.remove_session("c1")
    after = await ims.next("PUBLISH")
    assert status_of(after.request).activity == "available"
    await after.reply(200, headers=[("SIP-ETag", "e3")])


async def test_with_no_tab_open_for_a_while_she_shows_away(start_gateway, logged_in, ims):
    gateway = await start_gateway(away_after_seconds=0.3)
    tab, _, _ = await logged_in(gateway)
    await tab.websocket.aclose()
    away = await ims.next("PUBLISH")
    assert status_of(away.request).activity == "away"
    await away.reply(200, headers=[("SIP-ETag", "e2")])


async def test_every_identity_of_her_set_is_published_when_the_operator_says_all(start_gateway, webims_browser, ims):
    gateway = await start_gateway(publish_for="all")
    tab = await webims_browser(gateway)
    await tab.request("auth", "login", {"username": "mary", "password": "secret"})
    published = set()
    for _ in range(3):
        publish = await ims.next("PUBLISH")
        published.add(str(publish.request.uri))
        await publish.reply(200, headers=[("SIP-ETag", f"e{len(published)}")])
    assert published == {"sip:mary@ims.test", "tel:+15550100", "sip:mary.work@ims.test"}
    reply = await tab.request("presence", "status.set", {"identity": "tel:+15550100", "activity": "busy"})
    shown = {row["identity"]: row["shown"]["activity"] for row in reply["identities"]}
    assert shown == {"sip:mary@ims.test": "available", "tel:+15550100": "busy", "sip:mary.work@ims.test": "available"}


async def test_status_requests_are_checked(gateway, logged_in, ims):
    tab, _, _ = await logged_in(gateway)
    with pytest.raises(BrowserError) as error:
        await tab.request("presence", "status.set", {"activity": "sleeping"})
    assert error.value.code == "bad_request" and "activity must be one of" in error.value.message
    with pytest.raises(BrowserError) as error:
        await tab.request("presence", "status.set", {"identity": "sip:boss@ims.test", "activity": "busy"})
    assert error.value.code == "forbidden_identity"
