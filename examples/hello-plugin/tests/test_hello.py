"""The hello plugin tested in isolation with the fixtures webims ships (``webims.testing``)."""

import pytest

from webims.testing import BrowserError
from webims_hello.plugin import HelloPlugin


async def test_greets_by_name(webims_gateway, webims_browser):
    gateway = await webims_gateway(instances={"hello": HelloPlugin()})
    tab = await webims_browser(gateway)
    assert await tab.request("hello", "greet", {"name": "Mary"}) == {"greeting": "Hello, Mary!"}


async def test_greeting_comes_from_the_operator_settings(webims_gateway, webims_browser):
    gateway = await webims_gateway(instances={"hello": HelloPlugin()},
                                   settings={"hello": {"greeting": "Welcome, {name}."}})
    tab = await webims_browser(gateway)
    assert (await tab.request("hello", "greet", {"name": "Bob"}))["greeting"] == "Welcome, Bob."


async def test_a_missing_name_gets_a_readable_error(webims_gateway, webims_browser):
    gateway = await webims_gateway(instances={"hello": HelloPlugin()})
    tab = await webims_browser(gateway)
    with pytest.raises(BrowserError) as error:
        await tab.request("hello", "greet", {})
    assert error.value.code == "bad_name"
    assert "name" in error.value.message


async def test_the_installed_distribution_is_found_through_its_entry_point(webims_gateway, webims_browser):
    gateway = await webims_gateway({"hello": ">=1.0,<2"})
    tab = await webims_browser(gateway)
    assert tab.welcome["services"]["hello"]["version"] == "1.2.0"
