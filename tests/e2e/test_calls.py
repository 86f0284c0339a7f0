"""Calls in the portal window, against the fake voice service (tests/e2e/fake_voice.py).

The fake's far ends play tones the page's analyser can name (880 Hz for calls she makes, 660 Hz or what a test
asks for calls to her) and hear the browser's fake microphone (440 Hz), so these tests check real audio both ways
as well as what she reads.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import MICROPHONE_HZ
from .outage import udp_dropped_at


def connected(portal, text: str) -> str:
    """Wait until the call with ``text`` is connected with audio; return its id."""
    expect(portal.call_card(text)).to_contain_text("Connected.")
    call = portal.call_id(text)
    portal.wait_for(lambda: _media(portal, call) == "connected", what=f"audio on {call}")
    return call


def hears_the_microphone(portal, fake_gateway, call: str) -> None:
    """Wait until the far end of ``call`` hears the browser's fake microphone (its 440 Hz tone)."""
    def hears() -> bool:
        frequency, level = fake_gateway.heard(call)
        return level > 100 and abs(frequency - MICROPHONE_HZ) < 15
    portal.wait_for(hears, what=f"the far end of {call} to hear the {MICROPHONE_HZ} Hz microphone")


def _media(portal, call_id):
    return next((c["media"]["state"] for c in portal.calls() if c["id"] == call_id), None)


def _last(portal):
    return portal.page.locator(".voice-last")


def test_placing_a_call_shows_each_state_plays_both_ways_and_hangs_up(portal, fake_gateway, screenshot):
    fake_gateway.voice.answer_after = 1.5
    portal.login()
    portal.dial("bob")
    card = portal.call_card("bob")
    expect(card).to_contain_text("Ringing…")
    expect(card.get_by_role("button", name="Cancel")).to_be_visible()
    screenshot(portal.page, "calling")
    call = connected(portal, "bob")
    portal.wait_for_tone(call, fake_gateway.voice.outgoing_tone_hz)
    hears_the_microphone(portal, fake_gateway, call)
    expect(card.locator(".call-timer")).to_have_text("0:01", timeout=3000)
    card.get_by_role("button", name="Hang up").click()
    expect(_last(portal)).to_have_text("Call with bob ended: You hung up.")
    expect(card).to_have_count(0)
    assert fake_gateway.call(call)["state"] == "ended"
    assert portal.history()[0]["outcome"] == "answered"


@pytest.mark.parametrize(("target", "reason"), [
    ("busy", "The line is busy."),
    ("decline", "The call was declined."),
    ("nobody", "The number does not exist."),
])
def test_a_call_that_fails_says_why(portal, target, reason):
    portal.login()
    portal.dial(target)
    expect(_last(portal)).to_have_text(f"Call with {target} ended: {reason}")
    expect(portal.page.locator("li.call")).to_have_count(0)
    entry = portal.history()[0]
    assert entry["outcome"] == "failed" and entry["reason"] == reason
    expect(portal.page.locator(".voice-history")).to_contain_text(reason)


def test_a_target_that_is_no_address_is_refused_in_words(portal):
    portal.login()
    portal.dial("not an address")
    expect(portal.page.locator(".voice-dial-error")).to_have_text("not an address is not a number or SIP address.")
    expect(portal.page.get_by_role("button", name="Call", exact=True)).to_be_enabled()


def test_the_window_is_ready_for_the_next_call_after_each_one(portal, fake_gateway):
    portal.login()
    for round in range(3):
        portal.dial("busy")
        expect(_last(portal)).to_contain_text("The line is busy.")
        portal.dial("bob")
        call = connected(portal, "bob")
        portal.wait_for_tone(call, fake_gateway.voice.outgoing_tone_hz)
        portal.call_card("bob").get_by_role("button", name="Hang up").click()
        expect(portal.page.locator("li.call")).to_have_count(0)
    assert len(portal.history()) == 6


def test_cancelling_a_ringing_call_ends_it_on_the_gateway(portal, fake_gateway):
    portal.login()
    portal.dial("noanswer")
    card = portal.call_card("noanswer")
    expect(card).to_contain_text("Ringing…")
    call = portal.call_id("noanswer")
    card.get_by_role("button", name="Cancel").click()
    expect(_last(portal)).to_have_text("Call with noanswer ended: You cancelled the call.")
    assert fake_gateway.call(call)["state"] == "ended"
    assert portal.history()[0]["outcome"] == "cancelled"


def test_an_incoming_call_shows_caller_and_called_identity_and_can_be_answered(portal, fake_gateway, screenshot):
    portal.login()
    dialer = portal.page.locator(".voice-dialer").bounding_box()
    call = fake_gateway.incoming_call("sip:bob@ims.test", "Bob Example", to="sip:mary.work@ims.test")
    banner = portal.banner()
    expect(banner.get_by_role("heading", name="Incoming call")).to_be_visible()
    expect(banner).to_contain_text("Bob Example")
    expect(banner).to_contain_text("sip:bob@ims.test")
    expect(banner).to_contain_text("to sip:mary.work@ims.test")
    for name in ("Answer", "Decline", "Busy: tell the caller you are busy"):
        expect(banner.get_by_role("button", name=name)).to_be_visible()
    assert portal.page.evaluate("webimsVoice.ringtone()") == "ring"
    assert portal.page.locator(".voice-dialer").bounding_box() == dialer  # the banner pushes nothing aside
    screenshot(portal.page, "ringing")
    banner.get_by_role("button", name="Answer").click()
    expect(banner).to_have_count(0)
    assert portal.page.evaluate("webimsVoice.ringtone()") is None
    assert connected(portal, "Bob Example") == call
    portal.wait_for_tone(call, 660)
    hears_the_microphone(portal, fake_gateway, call)
    expect(portal.call_card("Bob Example")).to_contain_text("to sip:mary.work@ims.test")
    screenshot(portal.page, "in-call")
    fake_gateway.remote_hangup(call)
    expect(_last(portal)).to_have_text("Call with Bob Example ended: The other side hung up.")


@pytest.mark.parametrize(("button", "reason"), [("Decline", "decline"), ("Busy: tell the caller you are busy", "busy")])
def test_an_incoming_call_can_be_declined_or_answered_busy(portal, fake_gateway, button, reason):
    portal.login()
    call = fake_gateway.incoming_call()
    portal.banner().get_by_role("button", name=button).click()
    expect(portal.banner()).to_have_count(0)
    assert fake_gateway.requests("call.reject")[-1] == {"call": call, "reason": reason}
    assert fake_gateway.call(call)["state"] == "ended"
    assert portal.history()[0]["outcome"] == "declined"


def test_a_call_nobody_answers_is_a_missed_call(portal, fake_gateway):
    portal.login()
    call = fake_gateway.incoming_call("sip:carol@ims.test", "Carol")
    expect(portal.banner()).to_be_visible()
    fake_gateway.remote_hangup(call, "The caller gave up.")
    expect(portal.banner()).to_have_count(0)
    expect(_last(portal)).to_have_text("Missed call from Carol (sip:carol@ims.test): The caller gave up.")
    assert portal.history()[0]["outcome"] == "missed"
    expect(portal.page.locator(".voice-history")).to_contain_text("Missed")


def test_a_second_call_can_be_taken_after_holding_the_first(portal, fake_gateway, screenshot):
    portal.login()
    first = fake_gateway.incoming_call("sip:bob@ims.test", "Bob", tone_hz=660)
    portal.banner("Bob").get_by_role("button", name="Answer").click()
    connected(portal, "Bob")
    portal.wait_for_tone(first, 660)

    second = fake_gateway.incoming_call("sip:alice@ims.test", "Alice", tone_hz=550)
    banner = portal.banner("Alice")
    expect(banner).to_contain_text("Answering puts your current call on hold.")
    assert portal.page.evaluate("webimsVoice.ringtone()") == "waiting"  # a soft beep, not the full ring
    bob = portal.call_card("Bob")
    bob.get_by_role("button", name="Hold").click()
    expect(bob).to_contain_text("On hold.")
    assert fake_gateway.call(first)["held"] == {"local": True, "remote": False}
    banner.get_by_role("button", name="Answer").click()
    connected(portal, "Alice")
    portal.wait_for_tone(second, 550)
    portal.wait_for(lambda: portal.dominant_frequency(first) is None, what="silence on the held call")
    expect(portal.page.locator("li.call")).to_have_count(2)
    screenshot(portal.page, "two-calls")

    # Resuming Bob puts Alice on hold: one call speaks at a time.
    bob.get_by_role("button", name="Resume").click()
    expect(portal.call_card("Alice")).to_contain_text("On hold.")
    expect(bob).to_contain_text("Connected.")
    portal.wait_for_tone(first, 660)
    portal.call_card("Alice").get_by_role("button", name="Hang up").click()
    bob.get_by_role("button", name="Hang up").click()
    expect(portal.page.locator("li.call")).to_have_count(0)


def test_answering_during_a_call_holds_it_by_itself(portal, fake_gateway):
    portal.login()
    first = fake_gateway.incoming_call("sip:bob@ims.test", "Bob")
    portal.banner("Bob").get_by_role("button", name="Answer").click()
    connected(portal, "Bob")
    fake_gateway.incoming_call("sip:alice@ims.test", "Alice", tone_hz=550)
    portal.banner("Alice").get_by_role("button", name="Answer").click()
    connected(portal, "Alice")
    expect(portal.call_card("Bob")).to_contain_text("On hold.")
    assert fake_gateway.call(first)["held"]["local"] is True


def test_mute_silences_only_the_microphone_of_that_call(portal, fake_gateway):
    portal.login()
    portal.dial("bob")
    call = connected(portal, "bob")
    hears_the_microphone(portal, fake_gateway, call)
    card = portal.call_card("bob")
    card.get_by_role("button", name="Mute").click()
    expect(card.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
    expect(card).to_contain_text("muted")
    portal.wait_for(lambda: fake_gateway.heard(call)[1] < 5, what="silence at the far end")
    portal.wait_for_tone(call, fake_gateway.voice.outgoing_tone_hz)  # she still hears them
    card.get_by_role("button", name="Unmute").click()
    hears_the_microphone(portal, fake_gateway, call)


def test_the_keypad_sends_tones_to_the_gateway(portal, fake_gateway):
    portal.login()
    portal.dial("bob")
    call = connected(portal, "bob")
    card = portal.call_card("bob")
    card.get_by_role("button", name="Keypad").click()
    expect(card.get_by_role("button", name="Keypad")).to_have_attribute("aria-expanded", "true")
    for key in ("1", "2", "#"):
        card.get_by_role("button", name=f"Send {key}").click()
    portal.page.keyboard.press("9")  # typing on the focused keypad sends too
    portal.wait_for(lambda: len(fake_gateway.call(call)["dtmf_sent"]) == 4, what="four digits")
    assert fake_gateway.call(call)["dtmf_sent"] == ["1", "2", "#", "9"]
    fake_gateway.remote_dtmf(call, "5")
    expect(card).to_contain_text("The other side pressed 5.")


def test_a_call_can_be_transferred_blind(portal, fake_gateway):
    portal.login()
    portal.dial("bob")
    call = connected(portal, "bob")
    card = portal.call_card("bob")
    card.get_by_role("button", name="Transfer").click()
    card.get_by_label("Transfer to").fill("alice")
    card.get_by_role("button", name="Transfer now").click()
    expect(_last(portal)).to_have_text("Call with bob ended: The call was transferred to sip:alice@ims.test.")
    assert fake_gateway.call(call)["transferred_to"] == "sip:alice@ims.test"


def test_withholding_the_number_asks_the_gateway_for_privacy(portal, fake_gateway):
    portal.login()
    portal.dial("bob", withhold=True)
    call = connected(portal, "bob")
    assert fake_gateway.call(call)["privacy"] is True
    expect(portal.call_card("bob")).to_contain_text("number withheld")


def test_privacy_settings_saved_only_in_part_say_which_part(portal, fake_gateway):
    portal.login()
    page = portal.page
    page.locator(".voice-barring summary").click()
    page.get_by_label("Block these numbers (one per line)").fill("+15550199")
    page.get_by_role("checkbox", name="Withhold my number on every call").check()
    fake_gateway.voice.caller_id_error = ("unavailable", "The settings store cannot be written right now.")
    page.get_by_role("button", name="Save privacy settings").click()
    expect(page.locator(".bar-status")).to_have_text(
        "Blocked calls saved, but \u201cWithhold my number\u201d was not: The settings store cannot be written "
        "right now.")
    assert fake_gateway.voice.barring["numbers"] == ["+15550199"]
    assert fake_gateway.voice.caller_id == {"withhold": False}


def test_a_call_back_from_the_history_calls_the_same_address(portal, fake_gateway):
    portal.login()
    call = fake_gateway.incoming_call("sip:carol@ims.test", "Carol", to="sip:mary.work@ims.test")
    fake_gateway.remote_hangup(call)
    expect(_last(portal)).to_contain_text("Missed call from Carol")
    portal.page.get_by_role("button", name="Call back Carol").click()
    connected(portal, "sip:carol@ims.test")
    start = fake_gateway.requests("call.start")[-1]
    assert start["target"] == "sip:carol@ims.test"
    assert start["identity"] == "sip:mary.work@ims.test"  # back from the identity she was called on


def test_the_history_survives_a_reload_and_keeps_no_secrets(portal, fake_gateway):
    portal.login()
    portal.dial("busy")
    expect(_last(portal)).to_contain_text("The line is busy.")
    portal.page.reload()
    portal.wait_registered()
    expect(portal.page.locator(".voice-history")).to_contain_text("The line is busy.")
    stored = portal.page.evaluate("JSON.stringify(localStorage)")
    for secret in ("secret", "v=0", "a=fingerprint", "resume"):
        assert secret not in stored


def test_a_reload_during_a_call_reattaches_it(portal, fake_gateway):
    portal.login()
    portal.dial("bob")
    call = connected(portal, "bob")
    portal.wait_for_tone(call, fake_gateway.voice.outgoing_tone_hz)
    portal.page.reload()
    portal.wait_registered()
    assert connected(portal, "bob") == call
    portal.wait_for_tone(call, fake_gateway.voice.outgoing_tone_hz)
    assert [r["call"] for r in fake_gateway.requests("call.reattach")] == [call]
    hears_the_microphone(portal, fake_gateway, call)
    portal.call_card("bob").get_by_role("button", name="Hang up").click()
    expect(_last(portal)).to_contain_text("You hung up.")


def test_an_audio_path_that_cannot_be_rebuilt_says_so_after_three_attempts(portal, fake_gateway):
    portal.login()
    portal.dial("bob")
    call = connected(portal, "bob")
    portal.wait_for_tone(call, fake_gateway.voice.outgoing_tone_hz)
    fake_gateway.voice.reattach_error = ("media_failed", "The gateway has no free media port.")
    path = portal.page.evaluate("(id) => window.webimsVoice.audioPath(id)", call)
    with udp_dropped_at(path["port"]):
        expect(portal.call_card("bob")).to_contain_text(
            "Connected. No audio connection: The gateway has no free media port.", timeout=30_000)
    assert [r["call"] for r in fake_gateway.requests("call.reattach")] == [call] * 3
    portal.call_card("bob").get_by_role("button", name="Hang up").click()
    expect(_last(portal)).to_contain_text("You hung up.")


def test_a_call_ringing_during_a_reload_can_still_be_answered(portal, fake_gateway):
    portal.login()
    call = fake_gateway.incoming_call("sip:bob@ims.test", "Bob")
    expect(portal.banner("Bob")).to_be_visible()
    portal.page.reload()
    portal.wait_registered()
    portal.banner("Bob").get_by_role("button", name="Answer").click()
    assert connected(portal, "Bob") == call
    portal.wait_for_tone(call, 660)


def test_a_failed_audio_path_is_explained(portal, fake_gateway):
    portal.login()
    portal.dial("nomedia")
    card = portal.call_card("nomedia")
    expect(card).to_contain_text("No audio connection between this window and the gateway (ICE failed).")
    expect(card).to_have_class(re.compile(r"\bmedia-failed\b"))


def test_the_card_says_how_the_call_sounds_and_on_whose_side_it_suffers(portal, fake_gateway, screenshot):
    portal.login()
    portal.dial("bob")
    call = connected(portal, "bob")
    quality = portal.call_card("bob").locator(".call-quality")
    expect(quality).to_have_text("Call quality: good.", timeout=8000)  # her own leg: getStats on loopback
    fake_gateway.set_ims_quality(call, received_loss_pct=0.5, sent_loss_pct=8.2, round_trip_ms=120)
    expect(quality).to_have_text("Call quality: poor. 8.2 % of the sound is lost on the other side's network.",
                                 timeout=8000)
    expect(quality).to_have_attribute("data-grade", "poor")
    screenshot(portal.page, "call-quality-poor")
    fake_gateway.set_ims_quality(call, received_jitter_ms=45, round_trip_ms=80)
    expect(quality).to_have_text("Call quality: fair. Sound arrives unevenly (45 ms jitter) on the other side's "
                                 "network.", timeout=8000)


def test_the_other_side_holding_is_shown(portal, fake_gateway):
    portal.login()
    portal.dial("bob")
    call = connected(portal, "bob")
    fake_gateway.remote_hold(call, True)
    expect(portal.call_card("bob")).to_contain_text("The other side put you on hold.")
    fake_gateway.remote_hold(call, False)
    expect(portal.call_card("bob")).to_contain_text("Connected.")


def test_a_call_answered_in_another_tab_leaves_this_one(fake_gateway, new_page):
    from .portal_page import PortalPage

    first = PortalPage(new_page(), fake_gateway.url).login()
    second = PortalPage(new_page(), fake_gateway.url).login()
    call = fake_gateway.incoming_call()
    expect(first.banner("Bob")).to_be_visible()
    expect(second.banner("Bob")).to_be_visible()
    second.banner("Bob").get_by_role("button", name="Answer").click()
    connected(second, "Bob")
    expect(first.banner()).to_have_count(0)
    expect(_last(first)).to_have_text("Call from Bob: Answered in another tab.")
    assert call not in [c["id"] for c in first.calls()]


def test_logging_out_ends_the_calls(portal, fake_gateway):
    portal.login()
    portal.dial("bob")
    call = connected(portal, "bob")
    portal.page.get_by_role("button", name="Log out").click()
    expect(portal.page.get_by_label("Username")).to_be_visible()
    portal.wait_for(lambda: fake_gateway.call(call)["state"] == "ended", what="the call to end")
    assert portal.calls() == []


def test_audio_settings_list_the_devices_and_a_new_microphone_joins_the_call(portal, fake_gateway):
    portal.login()
    portal.dial("bob")
    call = connected(portal, "bob")
    page = portal.page
    page.get_by_text("Audio settings").click()
    microphone = page.get_by_label("Microphone", exact=True)
    expect(microphone.locator("option").first).to_have_text("Default microphone")
    choices = microphone.locator("option").evaluate_all("(options) => options.map((o) => o.value).filter(Boolean)")
    assert choices, "the fake microphone is listed"
    microphone.select_option(choices[0])
    speaker = page.get_by_label("Speaker", exact=True)
    speaker.select_option(label="Fake Audio Output 1")  # setSinkId on the call's audio element
    page.get_by_label("Clean up my voice (echo cancellation, noise suppression)").uncheck()
    stored = page.evaluate("JSON.parse(localStorage.getItem('webims.voice.settings'))")
    assert stored == {"microphone": choices[0], "speaker": speaker.input_value(), "processing": False}
    assert stored["speaker"]
    hears_the_microphone(portal, fake_gateway, call)


def test_notification_permission_is_asked_only_when_she_clicks(fake_gateway, new_page):
    from .portal_page import PortalPage

    page = new_page()
    page.add_init_script("""
        window.permissionRequests = 0;
        const request = Notification.requestPermission.bind(Notification);
        Notification.requestPermission = (...args) => { window.permissionRequests += 1; return request(...args); };
    """)
    portal = PortalPage(page, fake_gateway.url).login()
    fake_gateway.incoming_call()
    expect(portal.banner("Bob")).to_be_visible()
    assert page.evaluate("permissionRequests") == 0
    offer = page.get_by_role("group", name="Desktop notifications")
    offer.get_by_role("button", name="Turn on").click()
    expect(offer).to_have_count(0)
    assert page.evaluate("permissionRequests") == 1
    page.reload()
    portal.wait_registered()
    expect(page.get_by_role("group", name="Desktop notifications")).to_have_count(0)
    assert page.evaluate("permissionRequests") == 0


def test_a_call_to_a_tab_in_the_background_shows_a_desktop_notification(fake_gateway, new_page):
    from .portal_page import PortalPage

    page = new_page(permissions=["notifications"])
    page.add_init_script("""
        window.shownNotifications = [];
        const Real = window.Notification;
        window.Notification = class extends Real {
          constructor(title, options) { super(title, options); window.shownNotifications.push({ title, ...options }); }
          static get permission() { return Real.permission; }
          static requestPermission(...args) { return Real.requestPermission(...args); }
        };
        document.hasFocus = () => false;
    """)
    portal = PortalPage(page, fake_gateway.url).login()
    fake_gateway.incoming_call("sip:bob@ims.test", "Bob", to="sip:mary.work@ims.test")
    expect(portal.banner("Bob")).to_be_visible()
    shown = page.evaluate("shownNotifications")
    assert [(n["title"], n["body"]) for n in shown] == [("Incoming call from Bob", "sip:bob@ims.test\nto sip:mary.work@ims.test")]


def test_early_media_plays_while_the_call_is_still_ringing(portal, fake_gateway):
    fake_gateway.voice.answer_after = 3
    portal.login()
    portal.dial("early")
    card = portal.call_card("early")
    expect(card).to_contain_text("Ringing (the network is playing a message)…")
    call = portal.call_id("early")
    portal.wait_for_tone(call, fake_gateway.voice.outgoing_tone_hz)
    assert portal.call_state(call) == "early"
    expect(card).to_contain_text("Connected.")


def test_the_microphone_test_says_she_is_heard_and_closes_the_microphone_again(portal, screenshot):
    portal.login()
    page = portal.page
    page.get_by_text("Audio settings").click()
    page.get_by_role("button", name="Test my microphone").click()
    result = page.locator("#voice-mic-result")
    expect(result).to_have_text("Say something: the bar moves when the microphone hears you…")
    expect(page.locator("#voice-mic-level")).to_be_visible()
    assert page.evaluate("webimsVoice.microphoneOpen()") is True  # open while it listens
    expect(page.locator("#voice-mic-level")).not_to_have_attribute("value", "0")  # the bar moves
    screenshot(page, "microphone-test")
    expect(result).to_have_text("We hear you: this microphone works.", timeout=8000)  # the fake microphone's tone
    expect(page.locator("#voice-mic-level")).to_be_hidden()
    assert page.evaluate("webimsVoice.microphoneOpen()") is False  # no call: the microphone is closed again


def test_a_blocked_microphone_is_explained_and_nothing_is_sent(fake_gateway, new_page):
    from .portal_page import PortalPage

    page = new_page()
    page.add_init_script("""
        navigator.mediaDevices.getUserMedia = () =>
          Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
    """)
    portal = PortalPage(page, fake_gateway.url).login()
    portal.dial("bob")
    expect(page.locator(".voice-dial-error")).to_have_text(
        "The browser did not allow the microphone. Allow microphone access for this site (the icon in the "
        "address bar), then try again.")
    expect(page.locator("li.call")).to_have_count(0)
    assert fake_gateway.requests("call.start") == []
    page.get_by_text("Audio settings").click()  # the microphone test says the same, before any call
    page.get_by_role("button", name="Test my microphone").click()
    expect(page.locator("#voice-mic-result")).to_have_text(
        "The browser did not allow the microphone. Allow microphone access for this site (the icon in the "
        "address bar), then try again.")
    expect(page.get_by_role("button", name="Call", exact=True)).to_be_enabled()
