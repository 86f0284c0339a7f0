"""Calls she does not want (TS 24.611 ACR and ICB): refused before anything rings, her tabs told."""

import pytest

from webims.testing import BrowserError

from .conftest import bob_calls_mary, final, logged_in


async def test_her_barring_is_checked_kept_and_shown_in_her_other_tabs(marys_gateway, webims_browser):
    gateway, _ = marys_gateway
    tab, other = await logged_in(webims_browser, gateway), await logged_in(webims_browser, gateway)
    assert await tab.request("voice", "barring.get") == {"barring": {"anonymous": False, "numbers": []}}
    with pytest.raises(BrowserError) as error:
        await tab.request("voice", "barring.set", {"barring": {"numbers": ["not a number!"]}})
    assert error.value.message == "not a number! is not a number or SIP address."
    saved = await tab.request("voice", "barring.set", {"barring": {
        "anonymous": True, "numbers": ["+1 555 0199", "bob", "", "sip:bob@ims.test"]}})
    assert saved == {"barring": {"anonymous": True, "numbers": ["tel:+15550199", "sip:bob@ims.test"]}}
    assert (await other.next_event("voice", "barring.changed"))["body"] == saved


async def test_a_blocked_number_is_declined_without_ringing_and_her_tabs_hear_of_it(marys_gateway, webims_browser):
    gateway, ims = marys_gateway
    tab = await logged_in(webims_browser, gateway)
    await tab.request("voice", "barring.set", {"barring": {"numbers": ["bob"]}})
    response = await final(await bob_calls_mary(ims))
    assert response.status == 603
    barred = (await tab.next_event("voice", "call.barred"))["body"]
    assert (barred["peer"]["uri"], barred["reason"]) == ("sip:bob@ims.test", "Blocked: you blocked this number.")
    assert gateway.plugins.services["voice"].plugin.calls == {}


async def test_withheld_numbers_are_refused_with_433_only_when_she_asks_and_others_still_ring(
        marys_gateway, webims_browser):
    gateway, ims = marys_gateway
    tab = await logged_in(webims_browser, gateway)
    await tab.request("voice", "barring.set", {"barring": {"anonymous": True}})
    response = await final(await bob_calls_mary(ims, headers=[("Privacy", "id")]))
    assert response.status == 433  # RFC 5079: the caller may try again showing the number
    assert (await tab.next_event("voice", "call.barred"))["body"]["reason"] == \
        "Blocked: the caller withheld their number."
    await bob_calls_mary(ims)  # with the number shown it rings her
    assert (await tab.next_event("voice", "call.incoming"))["body"]["peer"]["uri"] == "sip:bob@ims.test"


def test_her_own_call_refused_for_a_withheld_number_says_what_to_do():
    from webims.sip import Response
    from webims_voice.reasons import failure_reason

    assert failure_reason(Response(433, "Anonymity Disallowed")) == (
        "The person you called does not take calls from withheld numbers: call again with your number shown.")


async def test_a_call_still_rings_her_when_her_call_settings_cannot_be_read(marys_gateway, webims_browser):
    gateway, ims = marys_gateway
    tab = await logged_in(webims_browser, gateway)
    gateway.plugins.services["voice"].plugin.call_settings.close()  # the file has become unusable
    await bob_calls_mary(ims)
    assert (await tab.next_event("voice", "call.incoming"))["body"]["peer"]["uri"] == "sip:bob@ims.test"
    with pytest.raises(BrowserError) as error:
        await tab.request("voice", "barring.get")
    assert error.value.code == "storage_failed" and "could not be read or saved" in error.value.message
