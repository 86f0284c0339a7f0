"""A media worker process that stops under a call: the call ends with a reason she can read, Bob is sent a BYE,
and her next call works on the worker started in its place."""

import trio

from webims.media.engine import LOST_MEDIA

from .conftest import SETTINGS

WITH_A_WORKER = {**SETTINGS, "voice": {**SETTINGS["voice"], "workers": 1}}


async def test_a_call_whose_media_process_stops_ends_with_a_reason_and_the_next_call_works(call_bob, webrtc_browser):
    answered = await call_bob(WITH_A_WORKER)
    engine = answered.call.plugin.engine
    worker = engine._hosts[0]
    worker._process.kill()  # the worker is ours: the gateway under test started it
    bye = await answered.bob.ims.expect("BYE")
    await bye.reply(200)
    ended = await answered.tab.next_event("voice", "call.ended")
    assert ended["body"]["call"] == answered.call.id
    assert ended["body"]["reason"] == LOST_MEDIA
    with trio.fail_after(10):
        while not worker.alive:
            await trio.sleep(0.05)
    browser = webrtc_browser(("PCMU",))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(answered.bob.answer_marys_invite)
        started = await answered.tab.request("voice", "call.start", {"target": "sip:bob@ims.test",
                                                                     "sdp": await browser.offer()})
    await browser.accept_answer(started["sdp"])
    answered_again = await answered.tab.next_event("voice", "call.answered")
    assert answered_again["body"]["call"] == started["call"]
    assert [bridge._host for bridge in engine.bridges] == [worker] and worker.restarts == 1
