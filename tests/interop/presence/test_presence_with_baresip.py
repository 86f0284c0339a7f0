"""Presence between the gateway and a native phone (baresip's presence module) through the lab IMS core."""

import pytest
import trio

pytestmark = pytest.mark.interop
MARY, BOB = "sip:mary@ims.test", "sip:bob@ims.test"


async def test_baresip_publishes_and_mary_sees_it(gateway, login, presence_of, baresip_factory):
    bob = await trio.to_thread.run_sync(lambda: baresip_factory("bob", presence=True))
    mary = await login(gateway, "mary")
    await mary.request("presence", "contact.add", {"uri": BOB, "display_name": "Bob"})
    online = await presence_of(mary, BOB, lambda p: p["basic"] == "open")
    assert online["activity"] == "available"
    await trio.to_thread.run_sync(bob.set_presence, False)
    await presence_of(mary, BOB, lambda p: p["basic"] == "closed")


async def test_mary_publishes_and_baresip_sees_her_status_and_her_logout(gateway, login, eventually, baresip_factory):
    mary = await login(gateway, "mary")
    await mary.request("presence", "status.set", {"activity": "available", "note": ""})
    bob = await trio.to_thread.run_sync(lambda: baresip_factory("bob", presence=True, contacts=(MARY,)))
    await eventually(lambda: bob.contact_presence(MARY) == "Online")
    await mary.request("presence", "status.set", {"activity": "busy", "note": "Writing"})
    await eventually(lambda: bob.contact_presence(MARY) == "Busy")
    await mary.request("auth", "logout")
    await eventually(lambda: bob.contact_presence(MARY) == "Offline")
