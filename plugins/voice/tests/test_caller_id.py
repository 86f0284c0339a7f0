"""Her number withheld by default (TS 24.607 OIR, temporary mode): a call that says nothing follows her default,
a call that says otherwise wins."""

import pytest
import trio

from webims.testing import BrowserError

from .conftest import logged_in


async def test_calls_that_do_not_say_follow_her_default_and_a_call_may_say_otherwise(
        marys_gateway, webims_browser, webrtc_browser):
    gateway, ims = marys_gateway
    tab = await logged_in(webims_browser, gateway)
    assert await tab.request("voice", "caller_id.get") == {"caller_id": {"withhold": False}}
    with pytest.raises(BrowserError) as error:
        await tab.request("voice", "caller_id.set", {"caller_id": {"withhold": "yes"}})
    assert error.value.message == "Say whether to withhold your number with true or false."
    assert await tab.request("voice", "caller_id.set", {"caller_id": {"withhold": True}}) == \
        {"caller_id": {"withhold": True}}
    for privacy, withheld in ((None, True), (False, False)):
        body = {"target": "sip:bob@ims.test", "sdp": await webrtc_browser(("PCMU",)).offer()}
        if privacy is not None:
            body["privacy"] = privacy
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tab.request, "voice", "call.start", body)
            incoming = await ims.expect("INVITE")
            await incoming.reply(486)  # Bob is busy: all we look at is how Mary's call came
        invite = incoming.request
        assert (invite.headers.get("Privacy") == "id") is withheld
        assert (str(invite.from_.uri) == "sip:anonymous@anonymous.invalid") is withheld
