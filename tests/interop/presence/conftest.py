"""Presence through the gateway and the lab IMS core (Kamailio: presence, presence_xml with pres-rules, its
XCAP server) to real peers. Helpers are fixtures: the interop tests import nothing from each other."""

from __future__ import annotations

import time

import pytest
import trio

from webims_presence.xcap_client import XcapClient

AUTH = {"keepalive_interval": 1, "grace_seconds": 10, "shutdown_seconds": 0.5}
PASSWORDS = {"mary": "mary-secret", "bob": "bob-secret", "carol": "carol-secret"}


@pytest.fixture(autouse=True)
async def no_saved_status(lab_core):
    """Each test's logins start from "available": the lab's XCAP server keeps the status an earlier test saved
    (her pidf-manipulation document), so it is removed first."""
    for username, password in PASSWORDS.items():
        client = XcapClient(f"http://{lab_core.host}:{lab_core.port}/xcap-root", username, password)
        path = client.document_path("pidf-manipulation", f"sip:{username}@{lab_core.domain}")
        assert (await client.request("DELETE", path)).status in (200, 404)


@pytest.fixture
def presence_settings(lab_core, tmp_path):
    """Contacts and decisions in the lab's XCAP server, so that the presence server enforces decisions."""
    return {"xcap_root": f"http://{lab_core.host}:{lab_core.port}/xcap-root", "shutdown_seconds": 0.5,
            "store_path": str(tmp_path / "unused.sqlite")}


@pytest.fixture
async def gateway(webims_gateway, lab_core, presence_settings):
    return await webims_gateway({"auth": True, "presence": True},
                                settings={"auth": AUTH, "presence": presence_settings},
                                ims={"proxy": lab_core.sip_uri, "domain": lab_core.domain})


@pytest.fixture
def login(webims_browser, lab_core):
    """``await login(gateway, "mary")``: a logged-in tab whose presence has started; her contacts and
    decisions from an earlier test of the module are cleared (the lab's XCAP server keeps them)."""
    async def start(gateway, username):
        tab = await webims_browser(gateway)
        await tab.request("auth", "login", {"username": username, "password": PASSWORDS[username]}, timeout=15)
        state = await tab.request("presence", "state", timeout=15)
        for contact in state["contacts"]:
            await tab.request("presence", "contact.remove", {"uri": contact["uri"]})
        return tab
    return start


@pytest.fixture
def presence_of():
    """``await presence_of(tab, uri, check)``: the first contact.presence of ``uri`` passing ``check``."""
    async def wait(tab, uri, check, timeout=10):
        state = await tab.request("presence", "state")
        for contact in state["contacts"]:
            if contact["uri"] == uri and contact["presence"] and check(contact["presence"]):
                return contact["presence"]
        with trio.fail_after(timeout):
            while True:
                event = await tab.next_event("presence", "contact.presence", timeout=timeout)
                if event["body"]["uri"] == uri and check(event["body"]["presence"]):
                    return event["body"]["presence"]
    return wait


@pytest.fixture
def eventually():
    """``await eventually(probe, timeout)``: call a blocking ``probe`` (a baresip query) until it is true."""
    async def wait(probe, timeout=10.0):
        def poll():
            deadline = time.monotonic() + timeout
            while True:
                value = probe()
                if value or time.monotonic() > deadline:
                    return value
                time.sleep(0.1)
        value = await trio.to_thread.run_sync(poll)
        assert value, "the condition did not become true in time"
        return value
    return wait
