"""The HTTP front end: portal files with a strict CSP, the manifest, health, Origin checks on /ws."""

import json

import pytest
import trio
import trio_websocket



async def http_get(gateway, path, headers=()):
    stream = await trio.open_tcp_stream("127.0.0.1", gateway.port)
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{gateway.port}", "Connection: close", *headers, "", ""]
    await stream.send_all("\r\n".join(lines).encode())
    data = b""
    with trio.fail_after(5):
        while chunk := await stream.receive_some():
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    header_lines = head.decode("latin-1").split("\r\n")[1:]
    return status, {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}, body


async def test_the_portal_page_is_served_with_a_csp_that_forbids_inline_script(gateway):
    status, headers, body = await http_get(gateway, "/")
    assert status == 200 and b"/static/portal.js" in body
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"


async def test_javascript_modules_are_served_as_javascript(gateway):
    status, headers, body = await http_get(gateway, "/static/webims.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert b"class WebimsClient" in body


async def test_paths_outside_the_asset_folders_are_not_served(gateway):
    for path in ("/static/../config.py", "/static/%2e%2e/config.py", "/static//etc/passwd", "/plugins/echo/x"):
        status, _, _ = await http_get(gateway, path)
        assert status == 404, path


async def test_the_manifest_lists_services_and_their_modules(webims_gateway):
    from webims_hello.plugin import HelloPlugin
    gateway = await webims_gateway(instances={"hello": HelloPlugin()})
    status, _, body = await http_get(gateway, "/portal.json")
    manifest = json.loads(body)
    assert manifest["operator"]["name"] == "Test Telecom"
    assert manifest["services"]["hello"]["modules"] == ["/plugins/hello/hello.js"]
    status, headers, _ = await http_get(gateway, "/plugins/hello/hello.js")
    assert status == 200


async def test_health_reports_counts(gateway):
    status, _, body = await http_get(gateway, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"


async def test_a_malformed_request_gets_400_not_a_crash(gateway):
    stream = await trio.open_tcp_stream("127.0.0.1", gateway.port)
    await stream.send_all(b"BLAH\x00 / nonsense\r\n\r\n")
    with trio.fail_after(5):
        reply = await stream.receive_some()
    assert reply.startswith(b"HTTP/1.1 400")
    assert (await http_get(gateway, "/healthz"))[0] == 200


async def open_ws(gateway, origin):
    url = gateway.url.replace("http", "ws") + "/ws"
    async with trio_websocket.open_websocket_url(url, extra_headers=[("Origin", origin)]):
        pass


async def test_a_websocket_from_a_foreign_origin_is_refused(gateway):
    with pytest.raises(trio_websocket.ConnectionRejected) as refused:
        await open_ws(gateway, "https://evil.example")
    assert refused.value.status_code == 403
    assert b"not allowed" in refused.value.body


async def test_a_websocket_from_the_portals_own_origin_is_accepted(gateway, webims_browser):
    tab = await webims_browser(gateway, origin=f"http://127.0.0.1:{gateway.port}")
    assert tab.welcome["protocol"] == 1


async def test_configured_origins_replace_the_same_origin_rule(webims_gateway, webims_browser):
    from webims_hello.plugin import HelloPlugin
    gateway = await webims_gateway(instances={"hello": HelloPlugin()},
                                   allowed_origins=["https://portal.example.net"])
    assert (await webims_browser(gateway, origin="https://portal.example.net")).welcome
    with pytest.raises(trio_websocket.ConnectionRejected):
        await open_ws(gateway, f"http://127.0.0.1:{gateway.port}")


async def test_a_client_too_slow_to_send_its_request_is_dropped(gateway, autojump_clock):
    stream = await trio.open_tcp_stream("127.0.0.1", gateway.port)
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
    with trio.fail_after(60):
        assert await stream.receive_some() == b""
