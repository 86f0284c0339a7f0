"""Call set-up time: from the page's call.start to "ringing", through the gateway and the lab IMS core.

    .venv/bin/python bench/call_setup.py --calls 10

The browser is an aiortc peer (its offer made before the clock starts, as a page makes it before the click
lands), the callee a baresip phone that rings without answering. The anchor, in the same run: baresip calling
the same phone through the same lab, from its `dial` command to its CALL_RINGING event. Numbers, never pass/fail;
printed as JSON with the interpreter that ran them.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aioice.ice
import trio

from webims.media.loop_thread import LoopThread
from webims.testing.browser import open_browser
from webims.testing.gateway import start_gateway
from webims.testing.peers.baresip import BaresipPhone, PhoneAccount
from webims.testing.peers.kamailio import LabCore
from webims.testing.webrtc import BrowserHandle, FakeBrowser


def phone(lab: LabCore, folder: Path, username: str, *, auto_answer: bool) -> BaresipPhone:
    subscription = lab.subscribers.by_username(username)
    credential = lab.subscribers.credential(username)
    account = PhoneAccount(subscription.canonical_aor, username, credential.password)
    return BaresipPhone.start(folder / username, lab, account, auto_answer=auto_answer)


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1), "min_ms": round(ordered[0] * 1000, 1)}


async def through_webims(lab: LabCore, callee: BaresipPhone, calls: int) -> list[float]:
    # aioice leaves 127.0.0.1 out of its candidates (NOTES): this bench stays on loopback.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    loop = LoopThread("bench-browsers")
    loop.start()
    times = []
    async with trio.open_nursery() as nursery:
        gateway = await start_gateway(
            nursery, {"auth": True, "voice": True}, ims={"proxy": lab.sip_uri, "domain": lab.domain},
            settings={"voice": {"browser_addresses": ["127.0.0.1"]}, "auth": {"shutdown_seconds": 0.5}})
        tab = await open_browser(nursery, gateway.url)
        await tab.request("auth", "login", {"username": "mary", "password": "mary-secret"})
        for _ in range(calls):
            browser = BrowserHandle(loop, FakeBrowser())
            offer = await browser.offer()
            started_at = time.perf_counter()
            started = await tab.request("voice", "call.start", {"target": "sip:bob@ims.test", "sdp": offer})
            while True:
                event = await tab.next_event("voice", timeout=10)
                if event["body"].get("call") == started["call"] and event["type"] == "call.progress":
                    times.append(time.perf_counter() - started_at)
                    break
            await tab.request("voice", "call.hangup", {"call": started["call"]})
            await tab.next_event("voice", "call.ended")
            await browser.close()
            await trio.to_thread.run_sync(lambda: callee.wait_event("CALL_CLOSED", 5))
        nursery.cancel_scope.cancel()
    await loop.stop()
    return times


def through_baresip(caller: BaresipPhone, callee: BaresipPhone, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        started_at = time.perf_counter()
        caller.dial("sip:bob@ims.test")
        caller.wait_event("CALL_RINGING", 10)
        times.append(time.perf_counter() - started_at)
        caller.hangup()
        callee.wait_event("CALL_CLOSED", 5)
        caller.wait_event("CALL_CLOSED", 5)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        lab = LabCore.start(Path(folder) / "lab")
        phones = []
        try:
            bob = phone(lab, Path(folder), "bob", auto_answer=False)
            carol = phone(lab, Path(folder), "carol", auto_answer=False)
            phones += [bob, carol]
            webims = trio.run(through_webims, lab, bob, args.calls)
            anchor = through_baresip(carol, bob, args.calls)
        finally:
            for each in phones:
                each.stop()
            lab.stop()
    print(json.dumps({
        "bench": "call set-up, call.start to ringing (loopback, lab IMS core, baresip callee)",
        "interpreter": f"{sys.executable} ({platform.python_version()})",
        "webims_gateway": summary(webims),
        "anchor_baresip_to_baresip": summary(anchor),
    }, indent=2))


if __name__ == "__main__":
    main()
