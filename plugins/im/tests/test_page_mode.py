"""Page-mode messages through the gateway and the fake IMS core: identities, CPIM/IMDN, is-composing, failures."""

import pytest
import trio

from webims.testing import BrowserError
from webims_im import content, cpim, imdn


async def answer_next_message(ims, status=200, headers=()):
    incoming = await ims.expect("MESSAGE")
    await incoming.reply(status, headers=list(headers))
    return incoming.request


async def send(tab, text="hello", **body):
    return (await tab.request("im", "message.send", {"to": "sip:bob@ims.test", "text": text, **body}))["message"]


async def test_a_message_goes_out_as_the_identity_she_chose_wrapped_in_cpim_with_imdn(login, ims):
    tab = await login()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer_next_message, ims)
        message = await send(tab, "Grüße 👋", identity="tel:+15550100")
    request = next(r for r in ims.requests if r.method == "MESSAGE")
    assert str(request.from_.uri) == "tel:+15550100"
    assert request.headers.get("P-Preferred-Identity") == "<tel:+15550100>"
    assert request.media_type == "message/cpim"
    wrapped = cpim.parse(request.body)
    assert wrapped.content.decode() == "Grüße 👋"
    assert wrapped.get(cpim.IMDN_NS, "Message-ID") == message["id"]
    assert imdn.requested(wrapped.get(cpim.IMDN_NS, "Disposition-Notification")) >= {"positive-delivery", "display"}
    assert message["status"] == "sent" and message["identity"] == "tel:+15550100"


async def test_an_identity_not_hers_is_refused_and_nothing_is_sent(login, ims):
    tab = await login()
    with pytest.raises(BrowserError) as error:
        await send(tab, identity="sip:boss@ims.test")
    assert error.value.code == "forbidden_identity"
    assert not [r for r in ims.requests if r.method == "MESSAGE"]


async def test_the_conversation_remembers_the_identity_she_writes_as(login, ims):
    tab = await login()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer_next_message, ims)
        await send(tab, identity="sip:mary.work@ims.test")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer_next_message, ims)
        message = await send(tab, "again")
    assert message["identity"] == "sip:mary.work@ims.test"


async def test_an_incoming_message_reaches_every_tab_with_the_identity_it_was_sent_to(login, deliver):
    first, second = await login(), await login()
    assert await deliver("ça va ?".encode(), called="tel:+15550100") == 200
    for tab in (first, second):
        event = await tab.next_event("im", "message")
        body = event["body"]
        assert (body["text"], body["identity"], body["peer"], body["peer_name"]) == (
            "ça va ?", "tel:+15550100", "sip:bob@ims.test", "Bob")
        assert body["direction"] == "in" and not body["read"]


async def test_delivery_and_read_reports_move_the_status_forward_only(login, ims, deliver):
    tab = await login()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer_next_message, ims)
        message = await send(tab)
    for kind, status in (("display", "displayed"), ("delivery", "delivered")):  # a late "delivered" too
        notification = imdn.Notification(message["id"], kind, status, content.now(), "sip:bob@ims.test")
        content_type, body = content.compose_report(notification, sender="sip:bob@ims.test",
                                                    recipient="sip:mary@ims.test", imdn_id=f"n-{kind}")
        assert await deliver(body, content_type) == 200
    statuses = [(await tab.next_event("im", "message.status"))["body"]["status"] for _ in range(2)]
    assert statuses == ["sent", "displayed"]
    with pytest.raises(trio.TooSlowError):
        await tab.next_event("im", "message.status", timeout=0.2)
    history = await tab.request("im", "conversation.history", {"peer": "sip:bob@ims.test"})
    assert history["messages"][-1]["status"] == "displayed"


async def test_she_reports_delivery_at_once_and_display_when_she_reads(login, ims, deliver):
    tab = await login()
    content_type, body = content.compose_text("read me", wrap=True, sender="sip:bob@ims.test",
                                              recipient="sip:mary@ims.test", imdn_id="bob-1",
                                              notifications=frozenset({"positive-delivery", "display"}))
    assert await deliver(body, content_type) == 200
    delivered = await answer_next_message(ims)
    report = content.interpret(delivered.content_type, delivered.body, max_bytes=4096)
    assert (report.notification.message_id, report.notification.status) == ("bob-1", "delivered")
    assert str(delivered.uri) == "sip:bob@ims.test"
    await tab.next_event("im", "message")
    await tab.request("im", "conversation.read", {"peer": "sip:bob@ims.test"})
    displayed = await answer_next_message(ims)
    report = content.interpret(displayed.content_type, displayed.body, max_bytes=4096)
    assert (report.notification.kind, report.notification.status) == ("display", "displayed")
    listed = await tab.request("im", "conversation.list")
    assert listed["conversations"][0]["unread"] == 0


async def test_is_composing_goes_both_ways(login, ims, deliver):
    tab = await login()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer_next_message, ims)
        await tab.request("im", "composing", {"to": "sip:bob@ims.test", "active": True})
    request = next(r for r in ims.requests if r.method == "MESSAGE")
    assert request.media_type == "application/im-iscomposing+xml"
    content_type, body = content.compose_typing(True, 60)
    assert await deliver(body, content_type) == 200
    event = await tab.next_event("im", "composing")
    assert event["body"] == {"peer": "sip:bob@ims.test", "identity": "sip:mary@ims.test", "active": True,
                             "expires": 60}


@pytest.mark.parametrize("status, words, final", [
    (404, "sip:bob@ims.test does not exist.", "failed"),
    (480, "offline and the network did not keep the message", "failed"),
    (413, "too large", "failed"),
    (603, "refused the message", "failed"),
    (202, "the network keeps the message", "stored"),
])
async def test_an_undelivered_message_says_why(login, ims, status, words, final):
    tab = await login()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer_next_message, ims, status)
        message = await send(tab)
    assert message["status"] == final
    assert words in message["reason"]


async def test_a_peer_that_refuses_cpim_gets_plain_text_from_then_on(login, ims):
    tab = await login()
    async def refuse_then_take():
        await answer_next_message(ims, 415, [("Accept", "text/plain")])
        await answer_next_message(ims)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(refuse_then_take)
        message = await send(tab)
    assert message["status"] == "sent"
    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer_next_message, ims)
        await send(tab, "second")
    kinds = [r.media_type for r in ims.requests if r.method == "MESSAGE"]
    assert kinds == ["message/cpim", "text/plain", "text/plain"]


async def test_a_message_too_large_for_page_mode_is_refused_before_sending(login, ims):
    tab = await login()
    with pytest.raises(BrowserError) as error:
        await send(tab, "x" * 2000)
    assert error.value.code == "too_large"
    assert "Start a chat" in error.value.message
    assert not [r for r in ims.requests if r.method == "MESSAGE"]


@pytest.mark.parametrize("body, content_type, status", [
    (b"From: <sip:bob@ims.test>\r\nbroken\r\n\r\nContent-Type: text/plain\r\n\r\nx", "message/cpim", 400),
    (b"\xc3\x28 invalid", "text/plain", 400),
    (b"x" * 20000, "text/plain", 413),
    (b"<html/>", "text/html", 415),
    (b"<imdn", "message/cpim", 400),
])
async def test_bad_messages_are_refused_and_nothing_is_stored(login, ims, deliver, body, content_type, status):
    tab = await login()
    assert await deliver(body, content_type) == status
    assert (await tab.request("im", "conversation.list"))["conversations"] == []


async def test_a_refusal_tells_the_sender_what_we_accept(ims, login):
    await login()
    binding = ims.bindings["mary"]
    agent = ims.agent(binding.source)
    contact = binding.contact.split(">")[0].lstrip("<")
    request = agent.build_request("MESSAGE", contact, from_uri="sip:bob@ims.test", route=(), body=b"{}",
                                  content_type="application/json")
    response = await agent.send(request, authenticate=False)
    assert response.status == 415
    assert "message/cpim" in response.headers.get("Accept")
    assert "application/json" in response.headers.get("Warning")


async def test_a_redelivered_message_is_kept_once(login, deliver):
    tab = await login()
    content_type, body = content.compose_text("once", wrap=True, sender="sip:bob@ims.test",
                                              recipient="sip:mary@ims.test", imdn_id="same-id")
    assert await deliver(body, content_type) == 200
    assert await deliver(body, content_type) == 200
    history = await tab.request("im", "conversation.history", {"peer": "sip:bob@ims.test"})
    assert [m["text"] for m in history["messages"]] == ["once"]


async def test_messages_that_arrive_with_no_tab_open_wait_for_the_next_tab(login, deliver):
    tab = await login()
    await tab.websocket.aclose()
    assert await deliver(b"while you were away") == 200
    later = await login()
    listed = await later.request("im", "conversation.list")
    [conversation] = listed["conversations"]
    assert conversation["unread"] == 1 and conversation["last"]["text"] == "while you were away"
