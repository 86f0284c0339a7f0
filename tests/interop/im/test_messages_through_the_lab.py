"""Messages and chats through the gateway and the lab IMS core: a native phone (baresip), the network's offline
store (msilo) both ways, and two webims users with CPIM/IMDN and MSRP through the lab's relay."""

import time

import pytest
import trio

pytestmark = pytest.mark.interop
BOB, MARY = "sip:bob@ims.test", "sip:mary@ims.test"


@pytest.fixture
async def gateway(webims_gateway, lab_core, tmp_path):
    settings = {"auth": {"keepalive_interval": 5, "shutdown_seconds": 0.5},
                "im": {"store_path": str(tmp_path / "im.sqlite"), "shutdown_seconds": 0.5,
                       "msrp_relay": f"msrp://127.0.0.1:{lab_core.msrp_port};tcp"}}
    return await webims_gateway({"auth": True, "im": True}, settings=settings,
                                ims={"proxy": lab_core.sip_uri, "domain": lab_core.domain})


@pytest.fixture
def login(webims_browser, gateway):
    async def log_in(username="mary", password=None):
        tab = await webims_browser(gateway)
        await tab.request("auth", "login", {"username": username, "password": password or f"{username}-secret"})
        return tab
    return log_in


async def event_where(tab, event_type, timeout=10, **fields):
    with trio.fail_after(timeout):
        while True:
            event = await tab.next_event("im", event_type)
            if all(event["body"].get(key) == value for key, value in fields.items()):
                return event["body"]


async def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not (result := await trio.to_thread.run_sync(predicate)):
        assert time.monotonic() < deadline, "condition not met in time"
        await trio.sleep(0.05)
    return result


async def send(tab, to, text, **body):
    return (await tab.request("im", "message.send", {"to": to, "text": text, **body}))["message"]


async def test_mary_and_a_native_phone_write_to_each_other(login, baresip_factory):
    bob = await trio.to_thread.run_sync(lambda: baresip_factory("bob", contacts=(MARY,)))
    mary = await login()
    # (BaresipPhone.received_messages reads sip: senders only, so not her tel: identity here)
    message = await send(mary, BOB, "hello from the browser ✓", identity="sip:mary.work@ims.test")
    assert message["status"] == "sent"  # baresip took it as plain text after refusing CPIM (415)
    [received] = await wait_for(bob.received_messages)
    assert (received.peer, received.text) == ("sip:mary.work@ims.test", "hello from the browser ✓")
    bob.send_message(MARY, "hello from the phone")
    event = await event_where(mary, "message", direction="in")
    assert (event["text"], event["peer"], event["identity"]) == ("hello from the phone", BOB, MARY)


async def test_a_phone_writes_while_mary_is_offline_and_she_reads_it_when_she_logs_in(login, baresip_factory,
                                                                                       lab_core):
    lab_core.admin.deregister(MARY)  # an earlier test's gateway may not have finished de-registering
    bob = await trio.to_thread.run_sync(lambda: baresip_factory("bob", contacts=(MARY,)))
    bob.send_message(MARY, "are you there?")  # the lab keeps it (msilo, 202)
    await trio.sleep(0.3)
    mary = await login()
    event = await event_where(mary, "message", direction="in")
    assert (event["text"], event["peer"]) == ("are you there?", BOB)
    [conversation] = (await mary.request("im", "conversation.list"))["conversations"]
    assert conversation["unread"] == 1


async def test_mary_writes_to_bob_offline_the_network_keeps_it_and_she_learns_when_it_is_delivered(login,
                                                                                                   lab_core):
    lab_core.admin.deregister(BOB)
    mary = await login()
    message = await send(mary, BOB, "see you tomorrow")
    assert message["status"] == "stored" and "comes online" in message["reason"]
    bob = await login("bob")
    received = await event_where(bob, "message", direction="in")
    assert (received["text"], received["peer"], received["identity"]) == ("see you tomorrow", MARY, BOB)
    await event_where(mary, "message.status", id=message["id"], status="delivered")


async def test_two_webims_users_see_delivery_read_and_typing_with_cpim_and_imdn(login):
    mary, bob = await login(), await login("bob")
    await mary.request("im", "composing", {"to": BOB, "active": True})
    typing = await event_where(bob, "composing", peer=MARY)
    assert typing["active"] is True
    message = await send(mary, BOB, "did you get this?")
    received = await event_where(bob, "message", direction="in")
    assert received["text"] == "did you get this?"
    await event_where(mary, "message.status", id=message["id"], status="delivered")
    await bob.request("im", "conversation.read", {"peer": MARY})
    await event_where(mary, "message.status", id=message["id"], status="displayed")


async def test_two_webims_users_chat_over_msrp_through_the_lab_relay(login):
    mary, bob = await login(), await login("bob")
    started = await mary.request("im", "chat.start", {"to": BOB})
    await event_where(mary, "chat.state", chat=started["chat"]["chat"], state="active")
    bobs_chat = await event_where(bob, "chat.state", state="active")
    assert (bobs_chat["peer"], bobs_chat["direction"]) == (MARY, "incoming")
    long_text = "MSRP chunks " * 400  # several 2 KiB chunks through the relay
    message = await send(mary, BOB, long_text)
    assert message["chat"] == started["chat"]["chat"]
    received = await event_where(bob, "message", direction="in")
    assert received["text"] == long_text and received["chat"] == bobs_chat["chat"]
    await event_where(mary, "message.status", id=message["id"], status="delivered")  # success REPORT
    await bob.request("im", "conversation.read", {"peer": MARY})
    await event_where(mary, "message.status", id=message["id"], status="displayed")  # IMDN inside the chat
    await send(bob, MARY, "got it all")
    assert (await event_where(mary, "message", direction="in"))["text"] == "got it all"
    await bob.request("im", "chat.end", {"chat": bobs_chat["chat"]})
    ended = await event_where(mary, "chat.state", state="ended")
    assert ended["reason"] == "sip:bob@ims.test ended the chat."
