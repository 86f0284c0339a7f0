"""The portal page with the real voice service, the lab IMS core (Kamailio) and a native phone (baresip).

A smoke test of the whole chain from the page's buttons to a phone's loudspeaker: the fake voice service
(fake_voice.py) covers the page's behaviour in detail; these check that page and real gateway agree. They need
the lab's peers (``make test`` installs them) and are marked ``interop`` as well as ``e2e``.
"""

from __future__ import annotations

import functools

import pytest
from playwright.sync_api import expect

from webims.testing.gateway import start_gateway
from webims.testing.peers.coturn import TurnServer
from webims.testing.peers.tones import dominant_frequency

from .conftest import MICROPHONE_HZ
from .outage import udp_dropped_at
from .portal_page import PortalPage

pytestmark = pytest.mark.interop
SETTINGS = {"auth": {"keepalive_interval": 5, "shutdown_seconds": 0.5},
            "voice": {"browser_addresses": ["127.0.0.1"], "ims_port_min": 43000, "ims_port_max": 43999}}
PHONE_HZ = 880
RECORD_STATE_TEXTS = """() => {
    window.stateTexts = [];
    const state = document.querySelector("li.call .call-state");
    new MutationObserver(() => window.stateTexts.push(state.textContent))
        .observe(state, { childList: true, characterData: true, subtree: true });
}"""


def start_real_gateway(trio_thread, lab_core, tmp_path, **voice_settings):
    voice = {**SETTINGS["voice"], "call_settings_path": str(tmp_path / "call-settings.sqlite"), **voice_settings}
    settings = {**SETTINGS, "voice": voice}
    return trio_thread.start(functools.partial(
        start_gateway, services={"auth": True, "voice": True}, settings=settings,
        ims={"proxy": lab_core.sip_uri, "domain": lab_core.domain}))


@pytest.fixture
def real_gateway(trio_thread, lab_core, tmp_path):
    return start_real_gateway(trio_thread, lab_core, tmp_path)


@pytest.fixture
def mary(real_gateway, page):
    return PortalPage(page, real_gateway.url).login("mary", "mary-secret")


def mary_calls_bob(mary, baresip_factory):
    """Bob's baresip answers Mary's call from the page, and she hears his tone: (bob, his call's card, call id)."""
    bob = baresip_factory("bob", tone_hz=PHONE_HZ)
    mary.dial("sip:bob@ims.test")
    card = mary.call_card("sip:bob@ims.test")
    expect(card).to_contain_text("Connected.", timeout=15_000)
    call = mary.call_id("bob")
    mary.wait_for_tone(call, PHONE_HZ, tolerance=20)
    return bob, card, call


def test_mary_calls_a_native_phone_from_the_page_and_both_hear_each_other(mary, baresip_factory, screenshot):
    bob, card, call = mary_calls_bob(mary, baresip_factory)
    # Her leg from getStats, the phone's from the gateway (call.quality): on loopback both are clean.
    expect(card.locator(".call-quality")).to_have_text("Call quality: good.", timeout=10_000)
    screenshot(mary.page, "call-quality")
    mary.page.wait_for_timeout(1500)
    card.get_by_role("button", name="Hang up").click()
    expect(mary.page.locator(".voice-last")).to_have_text("Call with sip:bob@ims.test ended: You hung up.")
    bob.wait_event("CALL_CLOSED", 5)
    assert abs(dominant_frequency(bob.received_audio()) - MICROPHONE_HZ) < 20


@pytest.fixture
def turn_server(tmp_path):
    server = TurnServer(tmp_path / "turn", secret="lab-turn-secret")
    yield server
    server.stop()


def test_with_turn_only_her_audio_is_relayed_by_the_operators_turn_server_and_both_hear(
        trio_thread, lab_core, tmp_path, page, turn_server, baresip_factory):
    gateway = start_real_gateway(trio_thread, lab_core, tmp_path, page_ice_servers=[turn_server.url],
                                 turn_secret=turn_server.secret, ice_transport_policy="relay")
    mary = PortalPage(page, gateway.url).login("mary", "mary-secret")
    bob, card, call = mary_calls_bob(mary, baresip_factory)
    assert page.evaluate("(id) => window.webimsVoice.audioPath(id)", call)["via"] == "relay"
    users = turn_server.allocations()
    assert users and all(user.endswith(":mary") for user in users), turn_server.log()[-2000:]
    mary.page.wait_for_timeout(1500)
    card.get_by_role("button", name="Hang up").click()
    bob.wait_event("CALL_CLOSED", 5)
    assert abs(dominant_frequency(bob.received_audio()) - MICROPHONE_HZ) < 20


def test_a_turn_server_that_refuses_her_credentials_is_named_as_the_reason_for_no_audio(
        trio_thread, lab_core, tmp_path, page, turn_server, baresip_factory, screenshot):
    gateway = start_real_gateway(trio_thread, lab_core, tmp_path, page_ice_servers=[turn_server.url],
                                 turn_secret="not-the-servers-secret", ice_transport_policy="relay")
    mary = PortalPage(page, gateway.url).login("mary", "mary-secret")
    bob = baresip_factory("bob", tone_hz=PHONE_HZ)
    mary.dial("sip:bob@ims.test")
    card = mary.call_card("sip:bob@ims.test")
    expect(card).to_contain_text("No audio connection: the media relay (TURN server) refused this window's "
                                 "credentials. Tell your operator.", timeout=40_000)
    screenshot(page, "turn-refused")
    card.get_by_role("button", name="Hang up").click()
    bob.wait_event("CALL_CLOSED", 5)


def test_a_native_phone_calls_marys_tel_identity_and_she_answers_in_the_page(mary, baresip_factory):
    carol = baresip_factory("carol", tone_hz=PHONE_HZ, auto_answer=False)
    carol.dial("sip:+15550100@ims.test;user=phone")
    banner = mary.banner()
    expect(banner).to_contain_text("sip:carol@ims.test", timeout=15_000)
    expect(banner).to_contain_text("to tel:+15550100")
    banner.get_by_role("button", name="Answer").click()
    call = mary.call_id("carol")
    expect(mary.call_card("carol")).to_contain_text("Connected.")
    mary.wait_for_tone(call, PHONE_HZ, tolerance=20)
    mary.page.wait_for_timeout(1500)
    carol.hangup()
    expect(mary.page.locator(".voice-last")).to_contain_text("The other side hung up.")
    assert abs(dominant_frequency(carol.received_audio()) - MICROPHONE_HZ) < 20


def test_digits_typed_on_the_keypad_reach_the_native_phone(mary, baresip_factory):
    bob = baresip_factory("bob", tone_hz=PHONE_HZ)
    mary.dial("sip:bob@ims.test")
    card = mary.call_card("sip:bob@ims.test")
    expect(card).to_contain_text("Connected.", timeout=15_000)
    card.get_by_role("button", name="Keypad").click()
    card.get_by_role("button", name="Send 7").click()
    assert "7" in str(bob.wait_event("CALL_DTMF_START", 5))
    card.get_by_role("button", name="Hang up").click()


def test_a_reload_during_a_call_reattaches_it_to_the_gateway(mary, baresip_factory):
    bob = baresip_factory("bob", tone_hz=PHONE_HZ)
    mary.dial("sip:bob@ims.test")
    expect(mary.call_card("sip:bob@ims.test")).to_contain_text("Connected.", timeout=15_000)
    call = mary.call_id("bob")
    mary.page.reload()
    mary.wait_registered()
    expect(mary.call_card("sip:bob@ims.test")).to_contain_text("Connected.")
    mary.wait_for_tone(call, PHONE_HZ, tolerance=20)
    mary.call_card("sip:bob@ims.test").get_by_role("button", name="Hang up").click()
    bob.wait_event("CALL_CLOSED", 5)


def test_a_call_whose_audio_path_breaks_gets_a_new_one_and_goes_on(mary, baresip_factory, screenshot):
    """A network change under a call: nothing reaches the gateway's end of her audio path any more. The page
    builds a new path to the same call (an ICE restart at the gateway) and the call goes on; Bob notices nothing
    but the gap."""
    bob, card, call = mary_calls_bob(mary, baresip_factory)
    path = mary.page.evaluate("(id) => window.webimsVoice.audioPath(id)", call)
    mary.page.evaluate(RECORD_STATE_TEXTS)  # rebuilding the path takes a moment only: every text is kept
    with udp_dropped_at(path["port"]):
        expect(card).to_contain_text("Audio interrupted; trying to get it back…", timeout=15_000)
        expect(card.locator(".call-quality")).to_be_hidden()  # its figures are of the path that broke
        screenshot(mary.page, "audio-interrupted")
        mary.page.wait_for_function(
            "(id) => window.webimsVoice.calls().find((c) => c.id === id)?.media.state === 'connected'",
            arg=call, timeout=20_000)
        new_path = mary.page.evaluate("(id) => window.webimsVoice.audioPath(id)", call)
    shown = mary.page.evaluate("() => window.stateTexts")
    assert "Connected. Reconnecting the audio (attempt 1 of 3)…" in shown and shown[-1] == "Connected.", shown
    assert new_path["port"] != path["port"]
    mary.wait_for_tone(call, PHONE_HZ, tolerance=20)
    card.get_by_role("button", name="Hang up").click()
    bob.wait_event("CALL_CLOSED", 5)


def test_a_call_ringing_during_a_reload_can_be_answered_after_it(mary, baresip_factory):
    carol = baresip_factory("carol", tone_hz=PHONE_HZ, auto_answer=False)
    carol.dial("sip:mary@ims.test")
    expect(mary.banner()).to_contain_text("sip:carol@ims.test", timeout=15_000)
    mary.page.reload()
    mary.wait_registered()
    mary.banner("sip:carol@ims.test").get_by_role("button", name="Answer").click()
    call = mary.call_id("carol")
    mary.wait_for_tone(call, PHONE_HZ, tolerance=20)
    carol.hangup()
    expect(mary.page.locator(".voice-last")).to_contain_text("The other side hung up.")


def test_mary_forwards_her_calls_to_bob_from_the_page_and_carols_call_reaches_him(mary, baresip_factory, screenshot):
    bob = baresip_factory("bob", tone_hz=PHONE_HZ)
    carol = baresip_factory("carol", auto_answer=False)
    page = mary.page
    page.locator(".voice-forwarding summary").click()
    page.get_by_role("checkbox", name="All calls, without ringing me").check()
    target = page.get_by_role("textbox", name="Forward to (all calls, without ringing me)")
    save = page.get_by_role("button", name="Save forwarding")
    save.click()
    expect(page.locator(".forward-status")).to_have_text("Enter where to forward calls, or untick that line.")
    target.fill("+1 555 0100")  # her own tel identity
    save.click()
    expect(page.locator(".forward-status")).to_have_text(
        "Not saved: Calls cannot be forwarded to tel:+15550100: it is one of your own numbers, so they would come "
        "back to you.")
    target.fill("bob")
    save.click()
    expect(page.locator(".forward-status")).to_have_text("Saved.")
    note = page.locator(".forward-note")
    expect(note).to_have_text("All your calls are forwarded to sip:bob@ims.test.")
    carol.dial("sip:mary@ims.test")
    carol.wait_event("CALL_ESTABLISHED", 10)
    bob.wait_event("CALL_ESTABLISHED", 10)
    expect(page.locator(".history-entry").first).to_contain_text(
        "Incoming · ", timeout=5_000)
    expect(page.locator(".history-entry").first).to_contain_text(
        "Forwarded to sip:bob@ims.test: you forward all calls.")
    expect(page.locator(".voice-last")).to_have_text(
        "Call from sip:carol@ims.test: Forwarded to sip:bob@ims.test: you forward all calls.")
    page.locator(".voice-dialer").scroll_into_view_if_needed()
    screenshot(page, "call-forwarding")
    carol.hangup()
    bob.wait_event("CALL_CLOSED", 5)
    page.reload()  # the rules are the gateway's: a new page shows them
    mary.wait_registered()
    expect(page.locator(".forward-note")).to_have_text("All your calls are forwarded to sip:bob@ims.test.")


def test_mary_blocks_carols_number_from_the_page_and_her_call_is_declined_without_ringing(mary, baresip_factory,
                                                                                          screenshot):
    carol = baresip_factory("carol", auto_answer=False)
    page = mary.page
    page.locator(".voice-barring summary").click()
    page.get_by_label("Block these numbers (one per line)").fill("carol")
    page.get_by_role("button", name="Save privacy settings").click()
    expect(page.locator(".bar-status")).to_have_text("Saved.")
    expect(page.get_by_label("Block these numbers (one per line)")).to_have_value("sip:carol@ims.test")
    carol.dial("sip:mary@ims.test")
    carol.wait_event("CALL_CLOSED", 10)
    expect(page.locator(".history-entry").first).to_contain_text("Blocked: you blocked this number.")
    assert page.locator(".incoming-stack *").count() == 0  # it never rang
    screenshot(page, "blocked-calls")


def test_mary_withholds_her_number_by_default_from_the_page_and_bob_sees_an_anonymous_call(mary, baresip_factory):
    bob = baresip_factory("bob", tone_hz=PHONE_HZ)
    page = mary.page
    withhold_this_call = page.get_by_role("checkbox", name="Withhold my number", exact=True)
    expect(withhold_this_call).not_to_be_checked()
    page.locator(".voice-barring summary").click()
    page.get_by_role("checkbox", name="Withhold my number on every call").check()
    page.get_by_role("button", name="Save privacy settings").click()
    expect(page.locator(".bar-status")).to_have_text("Saved.")
    expect(withhold_this_call).to_be_checked()
    page.reload()  # the default is the gateway's: a new page starts from it
    mary.wait_registered()
    expect(withhold_this_call).to_be_checked()
    mary.dial("sip:bob@ims.test", withhold=None)
    established = bob.wait_event("CALL_ESTABLISHED", 10)
    assert "anonymous" in established["peeruri"]
    mary.call_card("sip:bob@ims.test").get_by_role("button", name="Hang up").click()
    bob.wait_event("CALL_CLOSED", 5)
