"""A watcher sees Mary "on-the-phone" while she has a call: the voice service's call session, learnt from her
registration context (the presence service does not import voice)."""

import pytest
import trio

pytestmark = pytest.mark.interop
MARY = "sip:mary@ims.test"
VOICE = {"browser_addresses": ["127.0.0.1"], "ims_port_min": 43000, "ims_port_max": 43999}


@pytest.fixture
async def gateway(webims_gateway, lab_core, presence_settings, loopback_ice):
    settings = {"auth": {"keepalive_interval": 5, "shutdown_seconds": 0.5}, "voice": VOICE,
                "presence": presence_settings}
    return await webims_gateway({"auth": True, "voice": True, "presence": True}, settings=settings,
                                ims={"proxy": lab_core.sip_uri, "domain": lab_core.domain})


async def call_event(tab, call, *types):
    while True:
        event = await tab.next_event("voice", timeout=15)
        if event["body"].get("call") == call and event["type"] in types:
            return event


async def test_a_watcher_sees_on_the_phone_while_mary_is_in_a_call(gateway, login, presence_of, webrtc_browser,
                                                                   baresip_factory):
    await trio.to_thread.run_sync(lambda: baresip_factory("bob"))  # answers by itself
    mary, carol = await login(gateway, "mary"), await login(gateway, "carol")
    await carol.request("presence", "contact.add", {"uri": MARY})
    await presence_of(carol, MARY, lambda p: p["activity"] == "available")
    browser = webrtc_browser()
    started = await mary.request("voice", "call.start", {"target": "tel:+15550101", "sdp": await browser.offer()})
    await browser.accept_answer(started["sdp"])
    await call_event(mary, started["call"], "call.answered")
    await presence_of(carol, MARY, lambda p: p["activity"] == "on-the-phone")
    await mary.request("voice", "call.hangup", {"call": started["call"]})
    await presence_of(carol, MARY, lambda p: p["activity"] == "available")
