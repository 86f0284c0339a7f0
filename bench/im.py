"""Page-mode bench: MESSAGEs through the gateway and the lab, and the same load straight into the lab with SIPp.

    .venv/bin/python bench/im.py                          # 2000 messages at 200 and 500 /s
    .venv/bin/python bench/im.py --rate 1000 --messages 5000

Both paths end at the same receiver: a SIPp UAS registered as Bob in a lab IMS core (Kamailio) started here.

- ``gateway``: a protocol-level browser tab logged in as Mary sends ``im/message.send`` requests at the rate;
  latency is from the request to its response, which the gateway sends once Bob's 200 came back through the
  lab (so it includes the gateway's store writes, CPIM, the SIP round trip). The tabs run in the gateway's own
  process, sharing its core: the figures are a lower bound of the gateway's capacity.
- ``sipp``: SIPp sends the same MESSAGE (the same CPIM body) from Mary's registered contact to Bob at the same
  rate; latency is SIPp's response time (rtd). It is what the lab alone costs.

Prints one JSON object per rate (numbers, never pass/fail), with the interpreter it ran on.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from webims.testing import open_browser, start_gateway
from webims.testing.peers.kamailio import LabCore
from webims.testing.peers.ports import free_port
from webims.testing.peers.sipp import Sipp
from webims_im import content

TABS = 4  # protocol v1 allows 32 requests in flight per tab
TEXT = "Bench message: the quick brown fox jumps over the lazy dog."
SIPP_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="im bench message">
  <send retrans="500" start_rtd="1">
    <![CDATA[

      MESSAGE sip:bob@[domain] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:mary@[domain]>;tag=[pid]SIPpTag[call_number]
      To: <sip:bob@[domain]>
      Call-ID: [call_id]
      CSeq: 1 MESSAGE
      P-Preferred-Identity: <sip:mary@[domain]>
      Content-Type: message/cpim
      Content-Length: [len]

{body}
    ]]>
  </send>
  <recv response="200" rtd="1"/>
</scenario>
"""


def percentiles(latencies_ms: list[float]) -> dict:
    if not latencies_ms:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(latencies_ms)
    return {"p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
            "max_ms": round(ordered[-1], 2)}


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# --- the gateway path ---------------------------------------------------------------------------------------------

async def gateway_run(lab: LabCore, store: Path, rate: float, messages: int) -> dict:
    async with trio.open_nursery() as nursery:
        gateway = await start_gateway(nursery, {"auth": True, "im": True}, ims={"proxy": lab.sip_uri},
                                      settings={"im": {"store_path": str(store), "shutdown_seconds": 0.5},
                                                "auth": {"shutdown_seconds": 0.5}})
        tabs = [await open_browser(nursery, gateway.url) for _ in range(TABS)]
        for tab in tabs:
            await tab.request("auth", "login", {"username": "mary", "password": "mary-secret"})
            nursery.start_soon(_drain_events, tab)
        latencies, failures = [], []
        started, cpu = trio.current_time(), cpu_seconds()
        async with trio.open_nursery() as senders:
            for index, tab in zip(range(messages), itertools.cycle(tabs)):
                await trio.sleep_until(started + index / rate)
                senders.start_soon(_send_one, tab, latencies, failures)
        elapsed, cpu = trio.current_time() - started, cpu_seconds() - cpu
        nursery.cancel_scope.cancel()
    return {"path": "gateway", "sent": messages, "ok": len(latencies), "failed": len(failures),
            "failures": sorted(set(failures))[:3], "msgs_per_s": round(len(latencies) / elapsed, 1),
            "cpu_pct_of_one_core": round(100 * cpu / elapsed, 1), **percentiles(latencies)}


async def _drain_events(tab) -> None:
    # Every message also comes back as events (message, message.status); a tab must read them, or its
    # client's event queue fills and stops it reading responses too.
    while True:
        await tab.next_event(timeout=math.inf)


async def _send_one(tab, latencies: list, failures: list) -> None:
    begin = time.monotonic()
    try:
        reply = await tab.request("im", "message.send", {"to": "sip:bob@ims.test", "text": TEXT}, timeout=40)
    except Exception as error:  # the bench reports what went wrong, it does not stop on it
        failures.append(f"{type(error).__name__}: {error}"[:120])
        return
    if reply["message"]["status"] == "sent":
        latencies.append((time.monotonic() - begin) * 1000)
    else:
        failures.append(reply["message"]["status"] + ": " + reply["message"].get("reason", ""))


# --- the SIPp path ------------------------------------------------------------------------------------------------

def sipp_run(lab: LabCore, sipp: Sipp, workdir: Path, rate: float, messages: int) -> dict:
    _, body = content.compose_text(TEXT, wrap=True, sender="sip:mary@ims.test", recipient="sip:bob@ims.test",
                                   imdn_id="0123456789abcdef0123456789abcdef",
                                   notifications=frozenset({"positive-delivery", "negative-delivery", "display"}))
    scenario = workdir / "im_message.xml"
    scenario.write_text(SIPP_SCENARIO.replace("{body}", body.decode().replace("\r\n", "\n")))
    port = free_port()
    # The lab trusts a UDP request from where one of the sender's contacts registered (docs/lab.md).
    sipp.register("sip:mary@ims.test", "mary", "mary-secret", contact_port=port)
    run_dir = workdir / f"sipp-{rate:g}"
    run_dir.mkdir()
    command = [sipp.binary, f"{lab.host}:{lab.port}", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port),
               "-m", str(messages), "-r", str(rate), "-l", "1000", "-key", "domain", lab.domain, "-nostdin",
               "-trace_rtt", "-rtt_freq", "1", "-timeout", f"{messages / rate + 30:.0f}s"]
    started = time.monotonic()
    completed = subprocess.run(command, cwd=run_dir, capture_output=True, timeout=messages / rate + 60)
    elapsed = time.monotonic() - started
    latencies = _rtt_milliseconds(run_dir)
    return {"path": "sipp", "sent": messages, "ok": len(latencies), "failed": messages - len(latencies),
            "exit_code": completed.returncode, "msgs_per_s": round(len(latencies) / elapsed, 1),
            **percentiles(latencies)}


def _rtt_milliseconds(run_dir: Path) -> list[float]:
    latencies = []
    for path in run_dir.glob("*_rtt.csv"):
        for line in path.read_text().splitlines()[1:]:
            fields = line.split(";")
            if len(fields) >= 2:
                latencies.append(float(fields[1]))
    return latencies


def serve_bob(lab: LabCore, sipp: Sipp, messages: int, seconds: float):
    uas = sipp.start("uas_message.xml", uas=True, calls=messages, timeout=seconds)
    sipp.register("sip:bob@ims.test", "bob", "bob-secret", contact_port=uas.port)
    return uas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", default="200,500", help="messages per second, comma-separated")
    parser.add_argument("--messages", type=int, default=2000, help="messages per run")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="im-bench-") as temp:
        workdir = Path(temp)
        lab = LabCore.start(workdir / "lab")
        try:
            sipp = Sipp(lab, workdir / "sipp")
            for rate in (float(r) for r in arguments.rate.split(",")):
                row = {"rate": rate, "messages": arguments.messages, "python": sys.executable,
                       "implementation": platform.python_implementation(), "version": platform.python_version()}
                seconds = arguments.messages / rate + 30
                uas = serve_bob(lab, sipp, arguments.messages, seconds)
                row["gateway"] = trio.run(gateway_run, lab, workdir / f"im-{rate:g}.sqlite", rate,
                                          arguments.messages)
                uas.stop()
                uas = serve_bob(lab, sipp, arguments.messages, seconds)
                row["sipp"] = sipp_run(lab, sipp, workdir, rate, arguments.messages)
                uas.stop()
                print(json.dumps(row), flush=True)
            sipp.close()
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
