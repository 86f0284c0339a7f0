"""A plugin that raises harms only the request that hit it: that tab gets an error, all else goes on."""

import pytest

from webims.testing import BrowserError


async def test_a_crashing_plugin_answers_internal_error_with_a_reference(gateway, webims_browser, caplog):
    tab = await webims_browser(gateway)
    with pytest.raises(BrowserError) as error:
        await tab.request("faulty", "crash")
    assert error.value.code == "internal_error"
    reference = error.value.envelope["body"]["details"]["reference"]
    assert reference in error.value.message
    assert any(reference in str(getattr(record, "webims_fields", "")) for record in caplog.records)


async def test_other_tabs_other_plugins_and_the_same_tab_keep_working(gateway, webims_browser):
    first, second = await webims_browser(gateway), await webims_browser(gateway)
    for _ in range(3):
        with pytest.raises(BrowserError):
            await first.request("faulty", "crash")
    assert await first.request("echo", "say", {"text": "a"}) == {"said": "a"}
    assert await second.request("echo", "say", {"text": "b"}) == {"said": "b"}
    third = await webims_browser(gateway)
    assert third.welcome["services"]["faulty"]


async def test_a_service_error_reaches_the_browser_as_it_was_written(gateway, webims_browser):
    tab = await webims_browser(gateway)
    with pytest.raises(BrowserError) as error:
        await tab.request("faulty", "refuse")
    assert (error.value.code, error.value.message) == ("busy", "The line is busy.")


async def test_a_reply_that_is_not_an_object_is_an_internal_error(gateway, webims_browser):
    tab = await webims_browser(gateway)
    with pytest.raises(BrowserError) as error:
        await tab.request("faulty", "bad_reply")
    assert error.value.code == "internal_error"


async def test_a_failing_broadcast_hook_does_not_stop_the_others(gateway, webims_browser):
    tab = await webims_browser(gateway)  # FaultyPlugin raises in webims_session_started
    echo = gateway.plugins.services["echo"].plugin
    assert tab.welcome["session"] in echo.sessions_started
