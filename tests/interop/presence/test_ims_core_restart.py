"""The lab IMS core restarts, forgetting registrations, publications and subscriptions: presence comes back on
both sides without anyone doing anything."""

import pytest
import trio

from webims.lab.process import LabProcess

pytestmark = pytest.mark.interop
MARY, CAROL = "sip:mary@ims.test", "sip:carol@ims.test"


async def registered_again(tab):
    while (await tab.next_event("auth", "registration", timeout=20))["body"]["state"] != "registered":
        pass


async def test_presence_survives_an_ims_core_restart(gateway, login, presence_of, lab_core):
    mary, carol = await login(gateway, "mary"), await login(gateway, "carol")
    await carol.request("presence", "contact.add", {"uri": MARY})
    await mary.request("presence", "status.set", {"activity": "busy", "note": "before"})
    await presence_of(carol, MARY, lambda p: p["note"] == "before")

    await trio.to_thread.run_sync(lab_core.process.stop)
    await trio.sleep(2.5)  # down long enough for the auth service's keep-alive to notice
    lab_core.process = await trio.to_thread.run_sync(LabProcess.start, lab_core.process.settings,
                                                     lab_core.subscribers)
    await registered_again(mary)
    await registered_again(carol)

    with trio.fail_after(10):  # the new core knows her status: she published it anew
        while (await carol.request("presence", "contact.fetch", {"uri": MARY}))["presence"]["note"] != "before":
            await trio.sleep(0.2)
    await mary.request("presence", "status.set", {"activity": "available", "note": "after"})
    await presence_of(carol, MARY, lambda p: p["note"] == "after")  # and Carol subscribed anew
