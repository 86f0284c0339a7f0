"""Voice calls through the gateway and the lab IMS core to a native phone (baresip), browser side simulated
by an aiortc peer: each side must hear the other's tone."""

import numpy as np
import pytest
import trio

from webims.testing.peers.tones import dominant_frequency
from webims.testing.webrtc import peak_frequency

pytestmark = pytest.mark.interop
SETTINGS = {"auth": {"keepalive_interval": 5, "shutdown_seconds": 0.5},
            "voice": {"browser_addresses": ["127.0.0.1"], "ims_port_min": 42000, "ims_port_max": 42999}}


@pytest.fixture
async def gateway(webims_gateway, lab_core, loopback_ice):
    return await webims_gateway({"auth": True, "voice": True}, settings=SETTINGS,
                                ims={"proxy": lab_core.sip_uri, "domain": lab_core.domain})


async def logged_in_tab(webims_browser, gateway, username="mary", password="mary-secret"):
    tab = await webims_browser(gateway)
    await tab.request("auth", "login", {"username": username, "password": password})
    return tab


async def wait_for_state(tab, call, *types, timeout=15):
    while True:
        event = await tab.next_event("voice", timeout=timeout)
        if event["body"].get("call") == call and event["type"] in types:
            return event


def heard(audio: tuple[int, np.ndarray]) -> float:
    rate, samples = audio
    assert len(samples) > rate // 2, "less than half a second of audio arrived"
    return peak_frequency(samples, rate)


async def test_mary_calls_a_native_phone_and_both_hear_each_other(gateway, webims_browser, webrtc_browser,
                                                                   baresip_factory):
    bob = await trio.to_thread.run_sync(lambda: baresip_factory("bob", tone_hz=880))
    tab = await logged_in_tab(webims_browser, gateway)
    browser = webrtc_browser()
    started = await tab.request("voice", "call.start", {"target": "tel:+15550101", "sdp": await browser.offer()})
    await browser.accept_answer(started["sdp"])
    await wait_for_state(tab, started["call"], "call.answered")
    await trio.sleep(2.5)
    assert abs(heard(browser.audio()) - 880) < 20
    await tab.request("voice", "call.hangup", {"call": started["call"]})
    ended = await wait_for_state(tab, started["call"], "call.ended")
    assert ended["body"]["reason"] == "You hung up."
    await trio.to_thread.run_sync(lambda: bob.wait_event("CALL_CLOSED", 5))
    assert abs(dominant_frequency(bob.received_audio()) - 440) < 20
