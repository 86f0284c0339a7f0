"""Contacts and decisions kept as XCAP documents (RFC 4825), and contacts watched through a resource list
server (RFC 4662), against a fake XCAP server and the fake IMS core."""

import trio

from webims_presence.pidf import build_pidf, parse_pidf
from webims_presence.pres_rules import parse_pres_rules
from webims_presence.resource_lists import contacts_from_resource_lists
from webims_presence.status import PresenceStatus

LISTS = "/xcap-root/resource-lists/users/sip:mary@ims.test/index"
RULES = "/xcap-root/pres-rules/users/sip:mary@ims.test/index"
SERVICES = "/xcap-root/rls-services/users/sip:mary@ims.test/index"
STATUS = "/xcap-root/pidf-manipulation/users/sip:mary@ims.test/index"


async def test_contacts_and_decisions_are_her_xcap_documents(start_gateway, logged_in, ims, xcap):
    gateway = await start_gateway(xcap_root=xcap.root)
    tab, _, _ = await logged_in(gateway)
    assert ("GET", LISTS) in xcap.requests and ("GET", RULES) in xcap.requests  # digest answered
    await tab.request("presence", "contact.add", {"uri": "sip:bob@ims.test", "display_name": "Bob"})
    await ims.next("SUBSCRIBE", "presence")
    assert [c.uri for c in contacts_from_resource_lists(xcap.documents[LISTS][0])] == ["sip:bob@ims.test"]
    decided = await tab.request("presence", "watcher.decide", {"watcher": "sip:eve@ims.test", "decision": "block"})
    assert decided["enforced"] is True
    assert parse_pres_rules(xcap.documents[RULES][0]).blocked == {"sip:eve@ims.test"}


async def test_her_chosen_status_is_her_pidf_manipulation_document_and_her_next_login_starts_from_it(
        start_gateway, logged_in, ims, xcap):
    gateway = await start_gateway(xcap_root=xcap.root)
    tab, publish, _ = await logged_in(gateway)
    assert parse_pidf(publish.body).status() == PresenceStatus()  # nothing saved yet: available
    await tab.request("presence", "status.set", {"activity": "busy", "note": "On a deadline"})
    await (await ims.next("PUBLISH")).reply(200, headers=[("SIP-ETag", "e2")])
    saved = parse_pidf(xcap.documents[STATUS][0])
    assert saved.entity == "sip:mary@ims.test" and saved.status() == PresenceStatus("open", "busy", "On a deadline")
    await tab.request("auth", "logout")
    await (await ims.next("PUBLISH")).reply(200)
    _, publish, _ = await logged_in(gateway)
    assert parse_pidf(publish.body).status() == PresenceStatus("open", "busy", "On a deadline")


async def test_a_saved_status_the_page_cannot_offer_is_not_restored(start_gateway, logged_in, xcap):
    xcap.change_elsewhere(STATUS, build_pidf("sip:mary@ims.test", PresenceStatus("open", "sleeping", "zzz"),
                                             tuple_id="t", person_id="p"))
    gateway = await start_gateway(xcap_root=xcap.root)
    _, publish, _ = await logged_in(gateway)
    assert parse_pidf(publish.body).status() == PresenceStatus()


async def test_a_document_changed_elsewhere_is_read_again_and_the_edit_applied_to_it(
        start_gateway, logged_in, ims, xcap):
    gateway = await start_gateway(xcap_root=xcap.root)
    tab, _, _ = await logged_in(gateway)
    await tab.request("presence", "contact.add", {"uri": "sip:bob@ims.test"})
    xcap.change_elsewhere(LISTS, xcap.documents[LISTS][0].replace(b"sip:bob@ims.test", b"sip:dave@ims.test"))
    xcap.fail_next = [500]  # and the server is busy once: tried again
    await tab.request("presence", "contact.add", {"uri": "sip:carol@ims.test"})
    uris = [c.uri for c in contacts_from_resource_lists(xcap.documents[LISTS][0])]
    assert uris == ["sip:dave@ims.test", "sip:carol@ims.test"]


LIST_NOTIFY = (b"--b1\r\nContent-Type: application/rlmi+xml\r\nContent-ID: <root>\r\n\r\n"
               b'<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="sip:mary-list@ims.test" version="0" '
               b'fullState="true"><resource uri="sip:bob@ims.test"><instance id="1" state="active" cid="bob"/>'
               b'</resource><resource uri="sip:carol@ims.test"><instance id="2" state="pending"/></resource>'
               b"</list>\r\n--b1\r\nContent-Type: application/pidf+xml\r\nContent-ID: <bob>\r\n\r\n" +
               build_pidf("sip:bob@ims.test", PresenceStatus("open", "away", "lunch"), tuple_id="t", person_id="p")
               + b"\r\n--b1--\r\n")


async def test_with_a_list_server_one_subscription_watches_every_contact(
        start_gateway, logged_in, ims, xcap, notifier):
    gateway = await start_gateway(xcap_root=xcap.root, rls_uri="sip:{user}-list@{domain}")
    tab, _, _ = await logged_in(gateway)
    for uri in ("sip:bob@ims.test", "sip:carol@ims.test"):
        await tab.request("presence", "contact.add", {"uri": uri})
    subscribe = await ims.next("SUBSCRIBE", "presence")
    assert str(subscribe.request.uri) == "sip:mary-list@ims.test"
    assert subscribe.request.headers.get("Supported") == "eventlist"
    assert b"sip:mary-list@ims.test" in xcap.documents[SERVICES][0]
    server = await notifier(subscribe)
    content_type = 'multipart/related;type="application/rlmi+xml";start="<root>";boundary="b1"'
    assert await server.notify(LIST_NOTIFY, content_type) == 200
    with trio.fail_after(5):
        state = await tab.request("presence", "state")
        while state["contacts"][0]["presence"]["subscription"] != "active":
            await tab.next_event("presence", "contact.presence")
            state = await tab.request("presence", "state")
    bob, carol = state["contacts"]
    assert (bob["presence"]["activity"], bob["presence"]["note"]) == ("away", "lunch")
    assert carol["presence"]["subscription"] == "pending"
