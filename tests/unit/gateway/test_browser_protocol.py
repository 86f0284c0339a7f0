"""Browser protocol v1: hello/welcome, routing, and a clear error for every kind of bad input."""

import json

import pytest
import trio
import trio_websocket

from webims.testing import BrowserError


async def test_welcome_lists_enabled_services_versions_and_limits(gateway, webims_browser):
    tab = await webims_browser(gateway)
    assert tab.welcome["protocol"] == 1
    assert set(tab.welcome["services"]) == {"echo", "faulty", "locked"}
    assert tab.welcome["services"]["echo"]["version"] == "1.0"
    assert tab.welcome["limits"]["max_frame_bytes"] == 8192


async def test_a_request_reaches_its_service_and_the_reply_echoes_the_id(gateway, webims_browser):
    tab = await webims_browser(gateway)
    await tab.send_raw(json.dumps({"v": 1, "kind": "request", "service": "echo", "type": "say", "id": "abc",
                                   "session": "call-1", "body": {"text": "héllo ✓"}}))
    reply = await tab.next_frame()
    assert reply == {"v": 1, "kind": "response", "service": "echo", "type": "say", "id": "abc",
                     "session": "call-1", "body": {"said": "héllo ✓"}}


async def test_a_slow_request_does_not_hold_up_the_next(gateway, webims_browser, nursery):
    tab = await webims_browser(gateway)
    nursery.start_soon(lambda: tab.request("echo", "slow", timeout=60))
    assert await tab.request("echo", "say", {"text": "quick"}) == {"said": "quick"}


@pytest.mark.parametrize("frame, code", [
    ("{not json", "bad_json"),
    ("[" * 3000 + "]" * 3000, "bad_json"),
    ('{"v": 1, "kind": "request", "service": "echo", "type": "say", "id": "1", "body": {"n": ' + "9" * 5000 + "}}",
     "bad_json"),
    ("[1, 2]", "bad_envelope"),
    ('{"v": 1, "kind": "request", "service": "echo", "type": "say", "body": {}}', "bad_envelope"),
    ('{"v": 1, "kind": "request", "service": "echo", "type": "say", "id": "1", "body": []}', "bad_envelope"),
    ('{"v": 1, "kind": "response", "service": "echo", "type": "say", "id": "1"}', "bad_envelope"),
    ('{"v": 1, "kind": "request", "service": "echo", "type": "say", "id": "1", "extra": 1}', "bad_envelope"),
    ('{"v": 2, "kind": "request", "service": "echo", "type": "say", "id": "1"}', "unsupported_version"),
    ('{"v": 1, "kind": "request", "service": "fax", "type": "send", "id": "1"}', "unknown_service"),
    ('{"v": 1, "kind": "request", "service": "echo", "type": "shout", "id": "1"}', "unknown_type"),
    ('{"v": 1, "kind": "request", "service": "core", "type": "reboot", "id": "1"}', "unknown_type"),
    ('{"v": 1, "kind": "request", "service": "locked", "type": "open", "id": "1"}', "not_logged_in"),
])
async def test_bad_input_gets_a_clear_error_and_the_tab_stays_usable(gateway, webims_browser, frame, code):
    tab = await webims_browser(gateway)
    await tab.send_raw(frame)
    reply = await tab.next_frame()
    assert reply["kind"] == "error"
    assert reply["body"]["code"] == code
    assert len(reply["body"]["message"]) > 10
    assert await tab.request("echo", "say", {"text": "still here"}) == {"said": "still here"}


async def test_the_error_echoes_the_request_id_when_it_could_be_read(gateway, webims_browser):
    tab = await webims_browser(gateway)
    await tab.send_raw('{"v": 1, "kind": "request", "service": "fax", "type": "send", "id": "x7"}')
    assert (await tab.next_frame())["id"] == "x7"


async def test_services_refuse_a_tab_that_has_not_said_hello(gateway, webims_browser):
    tab = await webims_browser(gateway, hello=False)
    with pytest.raises(BrowserError) as error:
        await tab.request("echo", "say", {"text": "hi"})
    assert error.value.code == "hello_required"


async def test_a_binary_frame_is_refused_with_close_code_1003(gateway, webims_browser):
    tab = await webims_browser(gateway)
    await tab.send_raw(b"\x00\x01")
    reply = await tab.next_frame()
    assert reply["body"]["code"] == "bad_frame"
    with pytest.raises(trio_websocket.ConnectionClosed) as closed:
        with trio.fail_after(5):
            await tab.websocket.get_message()
    assert closed.value.reason.code == 1003


@pytest.mark.parametrize("size", [8193, 1 << 20, 16 << 20])
async def test_an_oversized_frame_closes_with_1009_not_a_reset(gateway, size, nursery):
    websocket = await trio_websocket.connect_websocket_url(nursery, gateway.url.replace("http", "ws") + "/ws",
                                                           max_message_size=1 << 25)
    await websocket.send_message(json.dumps({"v": 1, "kind": "request", "service": "core", "type": "hello",
                                             "id": "1"}))
    await websocket.get_message()
    with trio.fail_after(20):
        try:
            await websocket.send_message("x" * size)
        except trio_websocket.ConnectionClosed:
            pass
        with pytest.raises(trio_websocket.ConnectionClosed) as closed:
            await websocket.get_message()
    assert closed.value.reason.code == 1009


async def test_a_graceful_shutdown_tells_the_tabs_and_plugins_while_all_still_runs(gateway, webims_browser):
    tab = await webims_browser(gateway)
    await gateway.shutdown()
    with pytest.raises(trio_websocket.ConnectionClosed) as closed:
        with trio.fail_after(5):
            await tab.websocket.get_message()
    assert closed.value.reason.code == 1001
