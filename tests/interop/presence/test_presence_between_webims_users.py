"""Two webims users watch each other; her decisions on watchers are enforced by the lab's presence server,
which reads them as pres-rules from its XCAP server."""

import pytest
import trio

pytestmark = pytest.mark.interop
MARY, BOB, CAROL = "sip:mary@ims.test", "sip:bob@ims.test", "sip:carol@ims.test"


async def watchers_where(tab, check, timeout=10):
    with trio.fail_after(timeout):
        while True:
            state = await tab.request("presence", "state")
            if check({w["uri"]: w for w in state["watchers"]}):
                return state["watchers"]
            await tab.next_event("presence", "watchers", timeout=timeout)


async def test_two_webims_users_watch_each_other(gateway, login, presence_of):
    mary, carol = await login(gateway, "mary"), await login(gateway, "carol")
    await mary.request("presence", "contact.add", {"uri": CAROL, "display_name": "Carol"})
    await carol.request("presence", "contact.add", {"uri": MARY, "display_name": "Mary"})
    await presence_of(mary, CAROL, lambda p: p["basic"] == "open")
    await mary.request("presence", "status.set", {"activity": "in-a-meeting", "note": "Budget review, back at 3"})
    seen = await presence_of(carol, MARY, lambda p: p["activity"] == "in-a-meeting")
    assert seen["note"] == "Budget review, back at 3"
    await carol.request("presence", "status.set", {"basic": "closed"})
    await presence_of(mary, CAROL, lambda p: p["basic"] == "closed")
    await carol.request("presence", "status.set", {"activity": "available", "note": ""})


async def test_a_blocked_watcher_gets_no_status_and_a_new_one_waits_for_her(gateway, login, presence_of):
    mary, carol, bob = await login(gateway, "mary"), await login(gateway, "carol"), await login(gateway, "bob")
    await carol.request("presence", "contact.add", {"uri": MARY})
    await presence_of(carol, MARY, lambda p: p["basic"] == "open")  # the lab's default rules: everyone may
    await watchers_where(mary, lambda w: w.get(CAROL, {}).get("status") == "active")
    decided = await mary.request("presence", "watcher.decide", {"watcher": CAROL, "decision": "block"})
    assert decided["enforced"] is True
    blocked = await presence_of(carol, MARY, lambda p: p["subscription"] == "terminated" and p["reason"])
    assert blocked["basic"] == "unknown" and blocked["reason"] == "Not sharing status with you."

    await bob.request("presence", "contact.add", {"uri": MARY})
    await presence_of(bob, MARY, lambda p: p["subscription"] == "pending")
    await watchers_where(mary, lambda w: w.get(BOB, {}).get("status") == "pending")
    await mary.request("presence", "watcher.decide", {"watcher": BOB, "decision": "allow"})
    await presence_of(bob, MARY, lambda p: p["basic"] == "open")
    await mary.request("presence", "status.set", {"activity": "busy", "note": ""})
    await presence_of(bob, MARY, lambda p: p["activity"] == "busy")


async def test_logging_out_leaves_no_subscription_in_the_ims(gateway, login):
    mary, carol = await login(gateway, "mary"), await login(gateway, "carol")
    await mary.request("presence", "contact.add", {"uri": CAROL})
    await watchers_where(carol, lambda w: w.get(MARY, {}).get("status") == "active")
    await mary.request("auth", "logout")
    await watchers_where(carol, lambda w: MARY not in w)  # the presence server saw her unsubscribe
