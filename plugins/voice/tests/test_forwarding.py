"""Call forwarding she sets in the page (TS 24.604 CDIV, carried out as communication deflection): calls to her
are answered 302 with the target as Contact, and the IMS sends them on. Bob's calls come through the fake core."""

import pytest
import trio

from webims.testing import BrowserError

from .conftest import bob_calls_mary, final, logged_in

CAROL = "tel:+15550199"


async def test_her_rules_are_checked_kept_and_shown_in_her_other_tabs(marys_gateway, webims_browser):
    gateway, _ = marys_gateway
    tab, other = await logged_in(webims_browser, gateway), await logged_in(webims_browser, gateway)
    assert (await tab.request("voice", "forwarding.get"))["forwarding"] == {
        "always": None, "busy": None, "no_answer": None, "unreachable": None, "no_answer_seconds": 20}
    with pytest.raises(BrowserError) as error:
        await tab.request("voice", "forwarding.set", {"forwarding": {"busy": "+1 555 0100"}})
    assert error.value.message == ("Calls cannot be forwarded to tel:+15550100: it is one of your own numbers, "
                                   "so they would come back to you.")
    with pytest.raises(BrowserError) as error:
        await tab.request("voice", "forwarding.set", {"forwarding": {"no_answer": "bob", "no_answer_seconds": 500}})
    assert error.value.message == "Ring for 5 to 120 seconds before forwarding."
    saved = await tab.request("voice", "forwarding.set", {"forwarding": {
        "busy": "+1 555 0199", "no_answer": "bob", "no_answer_seconds": 15, "unreachable": ""}})
    assert saved["forwarding"] == {"always": None, "busy": CAROL, "no_answer": "sip:bob@ims.test",
                                   "unreachable": None, "no_answer_seconds": 15}
    assert (await other.next_event("voice", "forwarding.changed"))["body"] == saved
    assert (await (await logged_in(webims_browser, gateway)).request("voice", "forwarding.get")) == saved


async def test_forwarding_all_calls_sends_them_on_without_ringing_and_her_tabs_hear_of_it(
        marys_gateway, webims_browser):
    gateway, ims = marys_gateway
    tab = await logged_in(webims_browser, gateway)
    await tab.request("voice", "forwarding.set", {"forwarding": {"always": CAROL}})
    response = await final(await bob_calls_mary(ims))
    assert response.status == 302 and str(response.contacts[0].uri) == CAROL
    event = (await tab.next_event("voice", "call.forwarded"))["body"]
    assert event["peer"]["uri"] == "sip:bob@ims.test" and event["target"] == CAROL
    assert event["reason"] == f"Forwarded to {CAROL}: you forward all calls."
    assert gateway.plugins.services["voice"].plugin.calls == {}


async def test_a_call_she_answers_busy_goes_to_her_busy_target(marys_gateway, webims_browser):
    gateway, ims = marys_gateway
    tab = await logged_in(webims_browser, gateway)
    await tab.request("voice", "forwarding.set", {"forwarding": {"busy": CAROL}})
    transaction = await bob_calls_mary(ims)
    ringing = (await tab.next_event("voice", "call.incoming"))["body"]
    await tab.request("voice", "call.reject", {"call": ringing["call"], "reason": "busy"})
    response = await final(transaction)
    assert response.status == 302 and str(response.contacts[0].uri) == CAROL
    ended = (await tab.next_event("voice", "call.ended"))["body"]
    assert (ended["reason"], ended["status"]) == (f"Forwarded to {CAROL}: you were busy.", 302)


async def test_a_call_she_does_not_answer_goes_on_after_her_ring_time(marys_gateway, webims_browser):
    gateway, ims = marys_gateway
    tab = await logged_in(webims_browser, gateway)
    await tab.request("voice", "forwarding.set", {"forwarding": {"no_answer": CAROL, "no_answer_seconds": 5}})
    started = trio.current_time()
    response = await final(await bob_calls_mary(ims), timeout=15)
    assert response.status == 302 and str(response.contacts[0].uri) == CAROL
    assert 5 <= trio.current_time() - started < 8
    await tab.next_event("voice", "call.incoming")  # it rang her first
    ended = (await tab.next_event("voice", "call.ended"))["body"]
    assert ended["reason"] == f"Forwarded to {CAROL}: you did not answer."


async def test_with_no_window_open_a_call_goes_to_her_unreachable_target_at_once(marys_gateway, webims_browser):
    gateway, ims = marys_gateway
    tab = await logged_in(webims_browser, gateway)
    await tab.request("voice", "forwarding.set", {"forwarding": {"unreachable": CAROL, "no_answer": "bob"}})
    await tab.websocket.aclose()  # her login stays for the grace period, with no tab
    context = gateway.contexts.get("mary")
    with trio.fail_after(5):
        while context.browsers:
            await trio.sleep(0.05)
    response = await final(await bob_calls_mary(ims), timeout=3)
    assert response.status == 302 and str(response.contacts[0].uri) == CAROL
