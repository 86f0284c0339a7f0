"""Chat sessions (MSRP, RFC 4975) through the gateway: the fake IMS core carries the SIP, the test kit's MSRP
peer is the other side, well-behaved or not."""

import attrs
import pytest
import trio

from webims.sip import new_tag
from webims.sip.dialog import Dialog, dialog_response
from webims.sip.sdp import SessionDescription
from webims_im import content, cpim

BOB = "sip:bob@ims.test"


@attrs.define
class BobsPhone:
    """Bob's SIP side, played by the fake IMS core: INVITEs Mary, answers her INVITE, ends the dialog."""

    ims: object
    dialog: Dialog | None = None

    @property
    def agent(self):
        return self.ims.agent(self.ims.bindings["mary"].source)

    async def invite_mary(self, offer: bytes, called: str = "sip:mary@ims.test") -> bytes:
        binding = self.ims.bindings["mary"]
        agent = self.agent
        contact = binding.contact.split(">")[0].lstrip("<")
        invite = agent.build_request("INVITE", contact, from_uri=BOB, to_uri=called, route=(), body=offer,
                                     content_type="application/sdp", headers=[
                                         ("Contact", f"<sip:bob@127.0.0.1:{self.ims.address.port}>"),
                                         ("P-Asserted-Identity", f'"Bob" <{BOB}>'),
                                         ("P-Called-Party-ID", f"<{called}>")])
        ok = await (await agent.start(invite)).final_response()
        assert ok.status == 200, ok.status
        self.dialog = Dialog.from_uac(invite, ok)
        await agent.endpoint.send_stateless(agent.with_via(self.dialog.create_ack(ok)), binding.source)
        return ok.body

    async def answer_marys_invite(self, answer: bytes, status: int = 200):
        incoming = await self.ims.expect("INVITE")
        if status != 200:
            await incoming.reply(status)
            return incoming.request
        ok = dialog_response(incoming.request, 200, to_tag=new_tag(),
                             contact=f"<sip:bob@127.0.0.1:{self.ims.address.port}>",
                             headers=[("Content-Type", "application/sdp")], body=answer)
        await incoming.respond(ok)
        self.dialog = Dialog.from_uas(incoming.request, ok)
        return incoming.request

    async def bye(self) -> int:
        request = self.agent.with_via(self.dialog.create_request("BYE"))
        return (await self.agent.send(request, authenticate=False)).status


def path_of(sdp: bytes) -> str:
    media = SessionDescription.parse(sdp).media[0]
    return " ".join(media.path)


@pytest.fixture
def bob(ims):
    return BobsPhone(ims)


async def chat_from_bob(bob, peer, tab):
    """Bob invites Mary to a chat and connects (he is the active end); returns the chat id."""
    answer = await bob.invite_mary(peer.sdp(setup="active"))
    assert b"a=setup:passive" in answer
    await peer.connect(path_of(answer))
    await peer.bind()
    state = await tab.next_event("im", "chat.state")
    return state["body"]["chat"]


async def wait_state(tab, state):
    while True:
        event = await tab.next_event("im", "chat.state")
        if event["body"]["state"] == state:
            return event["body"]


async def test_an_offered_chat_is_accepted_and_its_texts_reach_every_tab_and_are_reported(login, bob, msrp_peer):
    first, second = await login(), await login()
    peer = await msrp_peer()
    chat = await chat_from_bob(bob, peer, first)
    await peer.send_text("hello Mary", success_report=True)
    for tab in (first, second):
        event = await tab.next_event("im", "message")
        assert (event["body"]["text"], event["body"]["chat"], event["body"]["peer"]) == ("hello Mary", chat, BOB)
    report = await peer.next_frame("REPORT")
    assert report.header("Status") == "000 200 OK"


async def test_her_texts_go_into_the_chat_with_cpim_and_become_sent_then_delivered(login, bob, msrp_peer):
    tab = await login()
    peer = await msrp_peer()
    await chat_from_bob(bob, peer, tab)
    await wait_state(tab, "active")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tab.request, "im", "message.send", {"to": BOB, "text": "over MSRP"})
        send = await peer.next_frame("SEND", answer=None)
    assert cpim.parse(send.body).content == b"over MSRP"
    assert send.header("Success-Report") == "yes"
    await peer.respond(send, 200)
    assert (await tab.next_event("im", "message.status"))["body"]["status"] == "sent"
    await peer.report(send)
    assert (await tab.next_event("im", "message.status"))["body"]["status"] == "delivered"


async def test_a_long_text_is_sent_in_chunks_and_read_back_whole(login, bob, msrp_peer):
    tab = await login()
    peer = await msrp_peer()
    await chat_from_bob(bob, peer, tab)
    await peer.send_text("é" * 3000, chunk_bytes=1000)  # multi-byte characters cut across chunks
    event = await tab.next_event("im", "message")
    assert event["body"]["text"] == "é" * 3000


async def test_a_413_from_the_peer_fails_the_message_with_a_reason(login, bob, msrp_peer):
    tab = await login()
    peer = await msrp_peer()
    await chat_from_bob(bob, peer, tab)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tab.request, "im", "message.send", {"to": BOB, "text": "too much"})
        await peer.respond(await peer.next_frame("SEND", answer=None), 413)
    status = (await tab.next_event("im", "message.status"))["body"]
    assert status["status"] == "failed" and status["reason"] == "The message is too large for sip:bob@ims.test."


@pytest.mark.parametrize("im_settings", [{"max_chat_message_bytes": 1024}], indirect=True)
async def test_a_message_over_our_limit_gets_413_and_nothing_of_it_is_stored(login, bob, msrp_peer):
    tab = await login()
    peer = await msrp_peer()
    await chat_from_bob(bob, peer, tab)
    await peer.next_frame(answer=None)  # the 200 to the empty SEND that opened the connection
    await peer.send_text(b"x" * 2048, chunk_bytes=1024)
    assert [(await peer.next_frame(answer=None)).status for _ in range(2)] == [413, 413]
    await peer.send_text("small")
    assert (await tab.next_event("im", "message"))["body"]["text"] == "small"
    history = await tab.request("im", "conversation.history", {"peer": BOB})
    assert [m["text"] for m in history["messages"]] == ["small"]


async def test_bad_framing_ends_the_chat_with_a_reason_and_a_bye(login, bob, msrp_peer, ims):
    tab = await login()
    peer = await msrp_peer()
    await chat_from_bob(bob, peer, tab)
    await peer.send_raw(b"MSRP abcd SEND\r\nnot a header\r\n-------abcd$\r\n")
    await (await ims.expect("BYE")).reply(200)
    ended = await wait_state(tab, "ended")
    assert "broke MSRP framing" in ended["reason"]


async def test_a_peer_vanishing_mid_chunk_ends_the_chat_and_fails_what_was_in_flight(login, bob, msrp_peer, ims):
    tab = await login()
    peer = await msrp_peer()
    await chat_from_bob(bob, peer, tab)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tab.request, "im", "message.send", {"to": BOB, "text": "are you there?"})
        await peer.next_frame("SEND", answer=None)
    await peer.send_raw(b"MSRP abcd SEND\r\nTo-Path: x\r\nFrom-Path: y\r\nContent-Type: text/plain\r\n\r\nhal")
    await peer.vanish()
    await (await ims.expect("BYE")).reply(200)
    status = (await tab.next_event("im", "message.status"))["body"]
    assert status["status"] == "failed" and "connection to sip:bob@ims.test was lost" in status["reason"]
    ended = await wait_state(tab, "ended")
    assert "closed the connection in the middle of a message" in ended["reason"]


async def test_she_starts_a_chat_and_the_gateway_connects_to_the_passive_peer(login, bob, msrp_peer):
    tab = await login()
    peer = await msrp_peer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bob.answer_marys_invite, peer.sdp(setup="passive"))
        started = await tab.request("im", "chat.start", {"to": "bob", "identity": "tel:+15550100"})
    assert started["chat"]["state"] == "inviting"
    await peer.accept()
    bind = await peer.next_frame("SEND")  # RFC 4975 §5.4: the connecting end speaks first
    assert bind.header("Byte-Range") == "1-0/0"
    active = await wait_state(tab, "active")
    assert (active["identity"], active["peer"]) == ("tel:+15550100", BOB)
    assert bob.dialog is not None and str(bob.dialog.remote_uri.uri) == "tel:+15550100"


async def test_a_refused_invitation_says_why(login, bob):
    tab = await login()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bob.answer_marys_invite, b"", 486)
        await tab.request("im", "chat.start", {"to": BOB})
    ended = await wait_state(tab, "ended")
    assert ended["reason"] == "sip:bob@ims.test is busy."


async def test_either_side_can_end_the_chat(login, bob, msrp_peer, ims):
    tab = await login()
    peer = await msrp_peer()
    chat = await chat_from_bob(bob, peer, tab)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tab.request, "im", "chat.end", {"chat": chat})
        await (await ims.expect("BYE")).reply(200)
    assert (await wait_state(tab, "ended"))["reason"] == "You ended the chat."
    second = await msrp_peer()
    await chat_from_bob(bob, second, tab)
    assert await bob.bye() == 200
    assert (await wait_state(tab, "ended"))["reason"] == "sip:bob@ims.test ended the chat."
    assert (await tab.request("im", "chat.list"))["chats"] == []


async def test_an_offer_without_a_chat_is_refused_with_488(login, bob, ims):
    await login()
    binding = ims.bindings["mary"]
    agent = bob.agent
    invite = agent.build_request("INVITE", binding.contact.split(">")[0].lstrip("<"), from_uri=BOB, route=(),
                                 body=b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                                      b"m=message 9 TCP/MSRP *\r\n", content_type="application/sdp",
                                 headers=[("Contact", f"<sip:bob@127.0.0.1:{ims.address.port}>")])
    response = await (await agent.start(invite)).final_response()
    assert response.status == 488
    assert "path" in response.headers.get("Warning")


@attrs.define
class RunningCall:
    peer_uri: str
    identity: str
    kind: str = "call"
    state: str = "active"


async def test_a_chat_started_beside_a_call_goes_to_the_calls_peer_and_outlives_it(login, bob, msrp_peer,
                                                                                   gateway):
    tab = await login()
    [context] = list(gateway.contexts)
    call = RunningCall(BOB, "tel:+15550100")
    context.add_session("c1", call)
    peer = await msrp_peer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bob.answer_marys_invite, peer.sdp(setup="passive"))
        started = await tab.request("im", "chat.start", {"call": "c1"})
    assert (started["chat"]["call"], started["chat"]["identity"]) == ("c1", "tel:+15550100")
    await peer.accept()
    await peer.next_frame("SEND")  # the gateway's first, empty SEND names the session
    await wait_state(tab, "active")
    call.state = "ended"
    context.remove_session("c1")
    await peer.send_text("still here after the call")
    assert (await tab.next_event("im", "message"))["body"]["text"] == "still here after the call"


async def test_is_composing_travels_in_the_chat(login, bob, msrp_peer):
    tab = await login()
    peer = await msrp_peer()
    await chat_from_bob(bob, peer, tab)
    content_type, body = content.compose_typing(True, 30)
    await peer.send_text(body, content_type=content_type)
    event = await tab.next_event("im", "composing")
    assert event["body"]["active"] is True
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tab.request, "im", "composing", {"to": BOB, "active": True})
        frame = await peer.next_frame("SEND")
    assert frame.header("Content-Type") == "application/im-iscomposing+xml"


async def start_and_end_before_an_answer(tab, ims):
    """Mary starts a chat with Bob and ends it while his phone has not answered anything yet."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tab.request, "im", "chat.start", {"to": BOB})
        incoming = await ims.expect("INVITE")
    chat = (await tab.request("im", "chat.list"))["chats"][0]["chat"]
    await tab.request("im", "chat.end", {"chat": chat})
    assert (await wait_state(tab, "ended"))["reason"] == "You ended the chat."
    return incoming


async def test_a_chat_she_ends_before_bob_answers_is_cancelled(login, ims):
    tab = await login()
    incoming = await start_and_end_before_an_answer(tab, ims)  # the core's 100 Trying allows CANCEL (§9.1)
    with trio.fail_after(5):
        await incoming.cancelled.wait()
    await incoming.reply(487)


async def test_a_chat_she_ended_that_bob_accepts_as_the_cancel_crosses_is_acknowledged_and_ended_with_bye(
        login, ims):
    tab = await login()
    incoming = await start_and_end_before_an_answer(tab, ims)
    ok = dialog_response(incoming.request, 200, to_tag=new_tag(), contact=f"<sip:bob@127.0.0.1:{ims.address.port}>",
                         headers=[("Content-Type", "application/sdp")],
                         body=b"v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                              b"m=message 7394 TCP/MSRP *\r\na=accept-types:message/cpim\r\n"
                              b"a=path:msrp://127.0.0.1:7394/bob;tcp\r\n")
    await incoming.respond(ok)
    bye = await ims.expect("BYE")
    assert bye.request.call_id == incoming.request.call_id
    await bye.reply(200)
    assert (await tab.request("im", "chat.list"))["chats"] == []


async def test_a_peer_that_connects_before_its_answer_reaches_her_gets_the_chat(login, ims, msrp_peer):
    """RFC 4975 §5.4: the answerer connects as soon as it has answered, and its connection can overtake the 200
    on its way through the core. The connection waits for the answer instead of being turned away."""
    tab = await login()
    peer = await msrp_peer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tab.request, "im", "chat.start", {"to": BOB})
        incoming = await ims.expect("INVITE")
    await peer.connect(path_of(incoming.request.body))
    await peer.bind()
    await trio.sleep(0.2)  # the connection and its first frame are in before the 200 leaves
    ok = dialog_response(incoming.request, 200, to_tag=new_tag(), contact=f"<sip:bob@127.0.0.1:{ims.address.port}>",
                         headers=[("Content-Type", "application/sdp")], body=peer.sdp(setup="active"))
    await incoming.respond(ok)
    await wait_state(tab, "active")
    await peer.send_text("I was early")
    assert (await tab.next_event("im", "message"))["body"]["text"] == "I was early"
