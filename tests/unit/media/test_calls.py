"""Whole calls through a bridge: an aiortc peer as the browser, a plain RTP endpoint as the phone."""

import asyncio
import os
import socket
import threading
import time

import pytest
import trio

from webims.media import CodecChosen, IceStateChanged, Leg, MediaConfig, MediaError, MediaMode, MediaTimeout
from webims.media import open_media_engine

from .conftest import TONE_BROWSER, TONE_PHONE, connect_outgoing_call, drain, peak_frequency, wait_for


async def hear_each_other(browser, phone, seconds: float = 1.0) -> None:
    start = time.monotonic()
    await trio.sleep(seconds)
    rate, heard_by_browser = browser.audio(since=start + 0.3)
    heard_by_phone = phone.audio(since=start + 0.3)
    assert len(heard_by_browser) > rate // 4 and len(heard_by_phone) > 2000
    assert abs(peak_frequency(heard_by_browser, rate) - TONE_PHONE) < 15
    assert abs(peak_frequency(heard_by_phone, 8000) - TONE_BROWSER) < 15


async def test_pcmu_on_both_legs_is_relayed_without_decoding(engine, make_browser, phone):
    browser, bridge, ims_offer = await connect_outgoing_call(engine, make_browser, phone, browser_codecs=("PCMU",))
    assert "m=audio" in ims_offer and " RTP/AVP 0 " in ims_offer  # the browser's codec first
    await hear_each_other(browser, phone)
    stats = await bridge.stats()
    assert stats.mode is MediaMode.RELAY
    assert stats.decoded_frames == 0 and stats.encoded_packets == 0
    assert stats.to_ims > 20 and stats.to_browser > 20
    # Once DTLS is up, SRTP bypasses aiortc's queue and tasks both ways (srtp_shortcut.py).
    assert stats.shortcut_received > 20 and stats.shortcut_sent > 20
    events = drain(bridge)
    assert CodecChosen(MediaMode.RELAY, "PCMU", "PCMU") in events
    assert IceStateChanged("completed") in events


async def test_the_standard_asyncio_loop_relays_as_uvloop_does(make_browser, phone):
    # MediaConfig.event_loop: uvloop is the default (the other tests); asyncio's own loop stays supported
    config = MediaConfig(ims_port_range=(41000, 41999), event_loop="asyncio")
    async with open_media_engine(config) as engine:
        browser, bridge, _ = await connect_outgoing_call(engine, make_browser, phone, browser_codecs=("PCMU",))
        await hear_each_other(browser, phone)
        stats = await bridge.stats()
        assert stats.mode is MediaMode.RELAY and stats.shortcut_received > 20 and stats.shortcut_sent > 20


async def test_opus_browser_and_pcmu_phone_are_transcoded(engine, make_browser, phone):
    browser, bridge, ims_offer = await connect_outgoing_call(engine, make_browser, phone, browser_codecs=("opus",))
    assert " RTP/AVP 111 " in ims_offer  # Opus offered first: a phone that has it would let us relay
    await hear_each_other(browser, phone)
    stats = await bridge.stats()
    assert stats.mode is MediaMode.TRANSCODE
    assert stats.decoded_frames > 20 and stats.encoded_packets > 20


async def collect_digits(bridge, count: int, timeout: float = 3.0) -> list:
    digits = []
    with trio.fail_after(timeout):
        async for event in bridge.events():
            if type(event).__name__ == "DtmfReceived":
                digits.append((event.digit, event.leg))
                if len(digits) == count:
                    return digits
    return digits


async def test_rfc4733_digits_cross_both_ways(engine, make_browser, phone):
    browser, bridge, _ = await connect_outgoing_call(engine, make_browser, phone, browser_codecs=("PCMU",))
    await trio.sleep(0.3)

    phone.send_digit(5)  # the phone presses 5: the bridge reports it and relays the events
    assert await collect_digits(bridge, 1) == [("5", "ims")]
    await wait_for(lambda: (5, True) in browser.events)

    await browser.send_digit(9)  # and the other way
    assert await collect_digits(bridge, 1) == [("9", "browser")]
    await wait_for(lambda: (9, True) in phone.events())

    await bridge.send_dtmf("1#", to="ims")  # digits the gateway plays itself
    assert [e for e, end in phone.events() if end][-6:] == [1, 1, 1, 11, 11, 11]  # '#' is event 11
    await bridge.send_dtmf("7", to="browser")
    await wait_for(lambda: (7, True) in browser.events)


async def test_hold_stops_media_and_resume_restarts_it(engine, make_browser, phone):
    browser, bridge, _ = await connect_outgoing_call(engine, make_browser, phone, browser_codecs=("PCMU",))
    await wait_for(lambda: phone.count(0) > 10)

    await bridge.set_hold(True)
    hold_offer = await bridge.ims_offer()
    assert "a=sendonly" in hold_offer and "o=- " in hold_offer
    await bridge.accept_ims_answer(phone.sdp(direction="recvonly", version=2))
    phone.sending = False  # a held phone stops sending (RFC 3264 §8.4)
    await trio.sleep(0.2)
    start = time.monotonic()
    await trio.sleep(0.5)
    assert phone.count(start) == 0
    assert browser.frames_between(start, time.monotonic()) == 0

    await bridge.set_hold(False)
    assert "a=sendrecv" in await bridge.ims_offer()
    await bridge.accept_ims_answer(phone.sdp(version=3))
    phone.sending = True
    resumed = time.monotonic()
    await wait_for(lambda: phone.count(resumed) > 10 and browser.frames_between(resumed, time.monotonic()) > 5)
    seqs = [p[2] for p in phone.received]
    assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:]))  # one continuous stream for the phone


async def test_the_phone_holding_the_call_stops_media_towards_it(engine, make_browser, phone):
    browser, bridge, _ = await connect_outgoing_call(engine, make_browser, phone, browser_codecs=("PCMU",))
    await wait_for(lambda: phone.count(0) > 5)
    answer = await bridge.accept_ims_reoffer(phone.sdp(direction="sendonly", version=2))
    assert "a=recvonly" in answer
    start = time.monotonic() + 0.1
    await trio.sleep(0.5)
    assert phone.count(start) == 0
    answer = await bridge.accept_ims_reoffer(phone.sdp(version=3))
    assert "a=sendrecv" in answer
    resumed = time.monotonic()
    await wait_for(lambda: phone.count(resumed) > 5)


async def test_an_incoming_call_offers_the_phone_codec_first_and_relays(engine, make_browser, phone):
    bridge = await engine.new_bridge("call-in")
    browser = make_browser(("PCMA", "PCMU", "opus"))
    phone_offer = phone.sdp(formats=("8", "101"))  # PCMA is last in the browser's preference
    browser_offer = await bridge.offer_to_browser(phone_offer)
    assert " UDP/TLS/RTP/SAVPF 8 " in browser_offer
    ims_answer = await bridge.accept_browser_answer(await browser.answer(browser_offer))
    assert " RTP/AVP 8 " in ims_answer and "telephone-event/8000" in ims_answer
    phone.learn(ims_answer)
    stats = await bridge.stats()
    assert (stats.mode, stats.browser_codec, stats.ims_codec) == (MediaMode.RELAY, "PCMA", "PCMA")


AMR_WB_ONLY = """v=0\r
o=ue 1 1 IN IP4 127.0.0.1\r
s=-\r
c=IN IP4 127.0.0.1\r
t=0 0\r
m=audio 50010 RTP/AVP 116 110\r
a=rtpmap:116 AMR-WB/16000/1\r
a=rtpmap:110 telephone-event/16000\r
a=sendrecv\r
"""


async def test_a_phone_offering_only_amr_wb_gets_a_readable_error(engine):
    bridge = await engine.new_bridge("call-amr")
    with pytest.raises(MediaError) as caught:
        await bridge.offer_to_browser(AMR_WB_ONLY)
    assert str(caught.value) == "The other side offered only AMR-WB; this gateway supports PCMU, PCMA and Opus."


async def test_a_phone_answering_with_a_codec_we_did_not_offer_gets_a_readable_error(engine, make_browser, phone):
    browser = make_browser(("PCMU",))
    bridge = await engine.new_bridge("call-bad-answer")
    await browser.accept_answer(await bridge.accept_browser_offer(await browser.offer()))
    await bridge.ims_offer()
    with pytest.raises(MediaError, match="The other phone answered with AMR-WB, which the gateway did not offer"):
        await bridge.accept_ims_answer(AMR_WB_ONLY)
    with pytest.raises(MediaError, match="unreadable SDP"):
        await bridge.accept_ims_answer("v=0\r\nthis is not SDP\r\n")


def open_sockets() -> set[str]:
    """This process's open sockets (``socket:[inode]``). Compared as sets: sockets an earlier test left to the
    garbage collector may close at any moment, so a count would not say whose they were."""
    sockets = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # the listing's own descriptor, already closed
            continue
        if target.startswith("socket:"):
            sockets.add(target)
    return sockets


async def test_a_bridge_closed_mid_call_frees_its_sockets_and_tasks(engine, make_browser, phone):
    host = engine._hosts[0]
    loop = host._thread.loop
    tasks_before = await host._thread.run(_count_tasks)
    sockets_before = open_sockets()
    browser, bridge, ims_offer = await connect_outgoing_call(engine, make_browser, phone, browser_codecs=("PCMU",))
    await wait_for(lambda: phone.count(0) > 5)
    opened = open_sockets() - sockets_before
    assert opened  # the call's own: ICE, and the IMS port pair

    await bridge.close()
    await browser.close()
    await trio.sleep(0.2)  # aiortc lets its transports finish closing on the next loop turns
    assert await host._thread.run(_count_tasks) == tasks_before
    assert not [t for t in threading.enumerate() if t.name.endswith("-decoder")]  # aiortc's per-receiver thread
    assert not opened & open_sockets()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # the port pair is free again
        sock.bind(("127.0.0.1", phone.remote[1]))
    with pytest.raises(MediaError, match="already ended"):
        await bridge.ims_offer()
    assert [e async for e in bridge.events()][-1:] != []  # the events channel ended with the bridge
    assert loop.is_running()


async def _count_tasks() -> int:
    return len(asyncio.all_tasks()) - 1  # not counting this one


async def test_a_reloaded_tab_gets_a_new_browser_leg_and_the_phone_one_continuous_stream(
        engine, make_browser, phone):
    first, bridge, _ = await connect_outgoing_call(engine, make_browser, phone, browser_codecs=("PCMU",))
    await wait_for(lambda: phone.count(0) > 10)
    await first.close()  # the tab goes away

    second = make_browser(("PCMU",))
    answer = await bridge.restart_browser_leg(await second.offer())
    await second.accept_answer(answer)
    await hear_each_other(second, phone, seconds=1.0)
    ssrcs = {p[4] for p in phone.received}
    seqs = [p[2] for p in phone.received]
    assert len(ssrcs) == 1
    assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:]))


async def test_a_silent_phone_is_reported_once_as_a_media_timeout(make_browser, phone):
    config = MediaConfig(ims_port_range=(41000, 41999), media_timeout=1.0)
    async with open_media_engine(config) as engine:
        browser, bridge, _ = await connect_outgoing_call(engine, make_browser, phone, browser_codecs=("PCMU",))
        await wait_for(lambda: phone.count(0) > 5)
        phone.sending = False
        with trio.fail_after(4):
            async for event in bridge.events():
                if isinstance(event, MediaTimeout):
                    break
        assert event.leg is Leg.IMS and event.seconds >= 1.0
        await trio.sleep(1.2)
        assert not [e for e in drain(bridge) if isinstance(e, MediaTimeout)]


async def test_browser_candidates_can_trickle_in_after_the_offer(engine, make_browser, phone):
    browser = make_browser(("PCMU",))
    offer = await browser.offer()
    lines = offer.splitlines()
    candidates = [line[2:] for line in lines if line.startswith("a=candidate:")]
    bare_offer = "\r\n".join(l for l in lines if not l.startswith(("a=candidate:", "a=end-of-candidates"))) + "\r\n"
    bridge = await engine.new_bridge("trickle")
    await browser.accept_answer(await bridge.accept_browser_offer(bare_offer))
    await bridge.add_browser_candidate("candidate:1 1 udp 2113937151 1f0e2a4b-6a7c.local 54321 typ host", "0")
    with pytest.raises(MediaError, match="unreadable ICE candidate"):
        await bridge.add_browser_candidate("candidate:garbage", "0")
    for candidate in candidates:
        await bridge.add_browser_candidate(candidate, "0")
    await bridge.add_browser_candidate(None)
    phone.learn(await bridge.ims_offer())
    await bridge.accept_ims_answer(phone.sdp())
    await hear_each_other(browser, phone, seconds=1.0)
