"""Presence bench: NOTIFY fan-out to N watchers of one presentity and M contacts watched by one subscriber,
through the gateway and the lab IMS core; the same fan-out straight from the lab to SIPp, in the same run.

    .venv/bin/python bench/presence.py                          # N and M in 10, 100, 1000
    .venv/bin/python bench/presence.py --watchers 10,100 --contacts 10 --rounds 3
    .venv/bin/python bench/presence.py --json out.json          # also write the result to a file

A lab (Kamailio) is started here with generated subscribers: the presentity ``p``, watchers ``w0000``...,
contacts ``c0000``.... Every figure is a number, never pass/fail; each part stops at ``--part-seconds`` and
then says how far it got (``incomplete``). The output is one JSON object, with the interpreter it ran on.

- ``watchers`` (per N), path ``gateway``: N protocol-level tabs (this process) log in through the gateway, each
  adds ``p`` as a contact; ``setup_s`` is until all N see it active. Then ``p``'s tab changes its note
  ``--rounds`` times: the lab sends N NOTIFYs to the gateway, which sends N ``contact.presence`` events.
  ``fanout_per_s`` is N over the time from the ``status.set`` request to the last event, latencies per
  watcher. CPU is this process's (gateway and tabs together: an upper bound of the gateway's) and the lab's.
- ``watchers`` (per N), path ``sipp``: N watcher identities register SIPp's address as their contact, SIPp
  subscribes as each of them straight to the lab, and ``p`` (a UA of this bench) publishes ``--rounds`` times:
  N NOTIFYs each, timed by SIPp's message trace. What the lab alone costs for the same fan-out.
- ``contacts`` (per M): one subscriber with M contacts (put in the gateway's store beforehand) logs in:
  ``setup_s`` until all M subscriptions are active. Then the M contacts publish (a UA of this bench, with
  digest): ``fanin_per_s`` is M over the time until her tab saw them all. ``bytes_per_subscription`` is the
  Python memory (tracemalloc) the gateway holds per watched contact, in a second login.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

import trio

from webims.ims.transport import Address
from webims.testing import open_browser, start_gateway
from webims.testing.peers.kamailio import LabCore
from webims.testing.peers.ports import free_port
from webims.testing.sip_peer import SipPeer
from webims_presence.contacts import Contact
from webims_presence.pidf import build_pidf
from webims_presence.status import PresenceStatus
from webims_presence.store import SqliteStore

DOMAIN = "ims.test"
CONCURRENCY = 50  # logins, registrations and publications in flight at once from this bench
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MEMORY_MIN_CONTACTS = 100  # below, two logins differ by more than the subscriptions weigh
SIPP_WATCHER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="presence bench watcher">
  <send retrans="500">
    <![CDATA[

      SUBSCRIBE sip:p@[domain] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:[field0]@[domain]>;tag=[pid]SIPpTag[call_number]
      To: <sip:p@[domain]>
      Call-ID: [call_id]
      CSeq: 1 SUBSCRIBE
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Event: presence
      Accept: application/pidf+xml
      Expires: 600
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" rrs="true"/>
  {notifies}
  <pause milliseconds="{hold_ms}"/>
  <send retrans="500">
    <![CDATA[

      SUBSCRIBE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      From: <sip:[field0]@[domain]>;tag=[pid]SIPpTag[call_number]
      To: <sip:p@[domain]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 SUBSCRIBE
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Event: presence
      Expires: 0
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  {notifies_after}
</scenario>
"""
SIPP_NOTIFY = """<recv request="NOTIFY"/>
  <send><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]></send>"""


# --- the world -------------------------------------------------------------------------------------------------

def write_subscribers(path: Path, watchers: int, contacts: int) -> None:
    names = ["p", "u"] + [f"w{i:04d}" for i in range(watchers)] + [f"c{i:04d}" for i in range(contacts)]
    lines = [f'domain = "{DOMAIN}"']
    for name in names:
        lines += ["[[subscription]]", f'public_identities = ["sip:{name}@{DOMAIN}"]',
                  f'private_identities = [{{ username = "{name}", password = "pw-{name}" }}]']
    path.write_text("\n".join(lines) + "\n")


def percentiles(values_ms: list[float]) -> dict:
    if not values_ms:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values_ms)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
            "max_ms": round(ordered[-1], 1)}


def cpu_seconds(pids: list[int] | None = None) -> float:
    if pids is None:
        times = os.times()
        return times.user + times.system
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / CLOCK_TICKS


def udp_receive_buffer_errors() -> int:
    """The kernel's count of UDP datagrams dropped for a full receive buffer (all sockets of this machine)."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
    return int(dict(zip(lines[0], lines[1]))["RcvbufErrors"])


async def bounded(limit: int, items, action) -> None:
    """``action(item)`` for every item, at most ``limit`` at once."""
    limiter = trio.CapacityLimiter(limit)

    async def one(item):
        async with limiter:
            await action(item)
    async with trio.open_nursery() as nursery:
        for item in items:
            nursery.start_soon(one, item)


class Agents:
    """SIP user agents of lab subscribers, run by this bench itself (to register SIPp's address, to publish)."""

    def __init__(self, peer: SipPeer, lab: LabCore):
        self.peer, self.lab = peer, lab
        self.etags: dict[str, str] = {}

    def agent(self, name: str):
        return self.peer.agent(Address(self.lab.host, self.lab.port, "UDP"), username=name, password=f"pw-{name}",
                               domain=DOMAIN)

    async def register(self, name: str, contact_port: int) -> int:
        agent, aor = self.agent(name), f"sip:{name}@{DOMAIN}"
        request = agent.build_request("REGISTER", f"sip:{DOMAIN}", from_uri=aor, to_uri=aor, route=(),
                                      headers=[("Contact", f"<sip:{name}@127.0.0.1:{contact_port}>"),
                                               ("Expires", "600")])
        return (await agent.send(request)).status

    async def publish(self, name: str, note: str | None) -> int:
        """Publish (or modify) ``name``'s status with ``note``; None removes the publication."""
        agent, aor = self.agent(name), f"sip:{name}@{DOMAIN}"
        body = b"" if note is None else build_pidf(aor, PresenceStatus("open", "available", note),
                                                   tuple_id="bench", person_id="pb")
        headers = [("Event", "presence"), ("Expires", "0" if note is None else "600")]
        if name in self.etags:
            headers.append(("SIP-If-Match", self.etags[name]))
        request = agent.build_request("PUBLISH", aor, from_uri=aor, route=(), body=body, headers=headers,
                                      content_type="application/pidf+xml" if body else None)
        response = await agent.send(request)
        if response.status == 200 and note is not None:
            self.etags[name] = response.headers.get("SIP-ETag")
        return response.status


# --- the gateway path ------------------------------------------------------------------------------------------

class Tabs:
    """Logged-in protocol-level tabs and, per tab, when each contact.presence note arrived."""

    def __init__(self, nursery, gateway):
        self.nursery, self.gateway = nursery, gateway
        self.tabs = {}
        self.arrivals: dict[str, dict[str, float]] = {}  # note -> tab name -> trio time
        self.active: set[str] = set()
        self.changed = trio.Event()

    async def login(self, name: str):
        tab = await open_browser(self.nursery, self.gateway.url)
        await tab.request("auth", "login", {"username": name, "password": f"pw-{name}"}, timeout=60)
        await tab.request("presence", "state", timeout=60)
        self.tabs[name] = tab
        self.nursery.start_soon(self._read, name, tab)
        return tab

    async def _read(self, name: str, tab) -> None:
        while True:
            event = await tab.next_event("presence", "contact.presence", timeout=math.inf)
            presence = event["body"]["presence"]
            if presence["subscription"] == "active":
                self.active.add(f"{name} {event['body']['uri']}")
                self.arrivals.setdefault(presence["note"], {})[f"{name} {event['body']['uri']}"] = \
                    trio.current_time()
                self.changed.set()
                self.changed = trio.Event()

    async def until(self, check) -> None:
        while not check():
            await self.changed.wait()


async def gateway_watchers(lab: LabCore, workdir: Path, watchers: int, rounds: int, seconds: float) -> dict:
    result = {"path": "gateway", "watchers": watchers}
    names = [f"w{i:04d}" for i in range(watchers)]
    async with trio.open_nursery() as nursery:
        gateway = await _gateway(nursery, lab, workdir / f"watchers-{watchers}.sqlite")
        tabs = Tabs(nursery, gateway)
        presentity = await tabs.login("p")
        with trio.move_on_after(seconds) as scope:
            started = trio.current_time()

            async def watch(name):
                tab = await tabs.login(name)
                await tab.request("presence", "contact.add", {"uri": f"sip:p@{DOMAIN}"}, timeout=60)
            await bounded(CONCURRENCY, names, watch)
            await tabs.until(lambda: len(tabs.active) >= watchers)
            result["setup_s"] = round(trio.current_time() - started, 2)
            await _fanout(lab, tabs, presentity, watchers, rounds, result)
        result["incomplete"] = scope.cancelled_caught
        result["active"] = len(tabs.active)
        with trio.move_on_after(5):
            await presentity.request("auth", "logout")  # her publication must not stay for the next runs
        nursery.cancel_scope.cancel()
    return result


async def _fanout(lab, tabs: Tabs, presentity, watchers: int, rounds: int, result: dict) -> None:
    """``rounds`` status changes of ``p``: each round's figures go into ``result`` as soon as it ends."""
    latencies, rates, result["last_ms_per_round"] = [], [], []
    cpu, lab_cpu, drops = cpu_seconds(), cpu_seconds(lab.pids()), udp_receive_buffer_errors()
    token = secrets.token_hex(3)  # the lab may still hold notes of earlier runs
    for round_ in range(rounds):
        note = f"{token} round {round_}"
        started = trio.current_time()
        await presentity.request("presence", "status.set", {"note": note})
        await tabs.until(lambda: len(tabs.arrivals.get(note, {})) >= watchers)
        arrivals = tabs.arrivals[note].values()
        latencies += [(at - started) * 1000 for at in arrivals]
        rates.append(watchers / max(max(arrivals) - started, 1e-6))
        result["last_ms_per_round"].append(round((max(arrivals) - started) * 1000, 1))
        result.update({"fanout_per_s": round(statistics.median(rates), 1), **percentiles(latencies),
                       "cpu_s_per_notify_ms": round(1000 * (cpu_seconds() - cpu) / (watchers * (round_ + 1)), 3),
                       "lab_cpu_s_per_notify_ms": round(1000 * (cpu_seconds(lab.pids()) - lab_cpu)
                                                        / (watchers * (round_ + 1)), 3),
                       "udp_receive_buffer_drops": udp_receive_buffer_errors() - drops})


TRANSPORT = "udp"  # between the gateway and the lab: --transport


async def _gateway(nursery, lab: LabCore, store: Path):
    settings = {"auth": {"keepalive_interval": 3600, "shutdown_seconds": 1},
                "presence": {"store_path": str(store), "shutdown_seconds": 1, "away_after_seconds": 0,
                             "subscribe_concurrency": 64}}
    return await start_gateway(nursery, {"auth": True, "presence": True}, settings=settings,
                               ims={"proxy": f"{lab.sip_uri};transport={TRANSPORT}", "domain": DOMAIN})


async def gateway_contacts(lab: LabCore, workdir: Path, contacts: int, seconds: float) -> dict:
    result = {"path": "gateway", "contacts": contacts}
    names = [f"c{i:04d}" for i in range(contacts)]
    store = workdir / f"contacts-{contacts}.sqlite"
    mine = tuple(Contact(f"sip:{name}@{DOMAIN}") for name in names)
    await SqliteStore(store).for_owner(f"sip:u@{DOMAIN}").edit_contacts(lambda current: mine)
    async with trio.open_nursery() as nursery:
        gateway = await _gateway(nursery, lab, store)
        tabs = Tabs(nursery, gateway)
        agents = Agents(await SipPeer().start(nursery), lab)
        with trio.move_on_after(seconds) as scope:
            started = trio.current_time()
            await tabs.login("u")
            await tabs.until(lambda: len(tabs.active) >= contacts)
            result["setup_s"] = round(trio.current_time() - started, 2)
            started, note = trio.current_time(), f"published {secrets.token_hex(3)}"
            await bounded(CONCURRENCY, names, lambda name: agents.publish(name, note))
            await tabs.until(lambda: len(tabs.arrivals.get(note, {})) >= contacts)
            elapsed = max(tabs.arrivals[note].values()) - started
            result["fanin_per_s"] = round(contacts / max(elapsed, 1e-6), 1)
        result["incomplete"] = scope.cancelled_caught
        result["active"] = len(tabs.active)
        with trio.move_on_after(30):
            await bounded(CONCURRENCY, list(agents.etags), lambda name: agents.publish(name, None))
        nursery.cancel_scope.cancel()
    if not result["incomplete"] and contacts >= MEMORY_MIN_CONTACTS:
        result["bytes_per_subscription"] = await _memory_per_subscription(lab, store, contacts, seconds)
    return result


async def _memory_per_subscription(lab: LabCore, store: Path, contacts: int, seconds: float) -> int | None:
    """Python memory the gateway holds per watched contact: a login with M contacts minus one with none."""
    held = {}
    for who in ("p", "u"):  # p has no contacts, u has M
        async with trio.open_nursery() as nursery:
            gateway = await _gateway(nursery, lab, store)
            tabs = Tabs(nursery, gateway)
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            with trio.move_on_after(seconds):
                await tabs.login(who)
                await tabs.until(lambda: len(tabs.active) >= (contacts if who == "u" else 0))
                await trio.sleep(0.5)  # the last NOTIFYs answered, their transactions gone
                held[who] = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            nursery.cancel_scope.cancel()
    return round((held["u"] - held["p"]) / contacts) if len(held) == 2 else None


# --- the SIPp path -----------------------------------------------------------------------------------------------

async def sipp_watchers(lab: LabCore, workdir: Path, watchers: int, rounds: int, seconds: float) -> dict:
    result = {"path": "sipp", "watchers": watchers}
    names = [f"w{i:04d}" for i in range(watchers)]
    run_dir = workdir / f"sipp-{watchers}"
    run_dir.mkdir()
    port = free_port()
    (run_dir / "watchers.csv").write_text("SEQUENTIAL\n" + "".join(f"{name}\n" for name in names))
    hold_ms = int(seconds * 1000)
    scenario = (SIPP_WATCHER.replace("{notifies}", "\n  ".join([SIPP_NOTIFY] * (rounds + 1)))
                .replace("{notifies_after}", SIPP_NOTIFY))  # the last one: the subscription ended
    (run_dir / "watcher.xml").write_text(scenario.replace("{hold_ms}", str(hold_ms)))
    async with trio.open_nursery() as nursery:
        agents = Agents(await SipPeer().start(nursery), lab)
        # The lab trusts a UDP request from where one of the sender's contacts registered (docs/lab.md).
        await bounded(CONCURRENCY, names, lambda name: agents.register(name, port))
        await agents.publish("p", "initial")
        command = ["sipp", f"{lab.host}:{lab.port}", "-sf", "watcher.xml", "-inf", "watchers.csv", "-i",
                   "127.0.0.1", "-p", str(port), "-m", str(watchers), "-r", "500", "-l", str(watchers),
                   "-buff_size", str(4 << 20),  # SIPp's own UDP receive buffer must not be what drops NOTIFYs
                   "-key", "domain", DOMAIN, "-nostdin", "-trace_msg", "-timeout", f"{seconds + hold_ms / 1000:.0f}s"]
        process = subprocess.Popen(command, cwd=run_dir, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            with trio.move_on_after(seconds) as scope:
                started = trio.current_time()
                await _wait_notifies(run_dir, watchers, 1)
                result["setup_s"] = round(trio.current_time() - started, 2)
                await _sipp_fanout(lab, agents, run_dir, watchers, rounds, result)
            result["incomplete"] = scope.cancelled_caught
        finally:
            process.kill()
            process.wait()
        with trio.move_on_after(5):
            await agents.publish("p", None)
        nursery.cancel_scope.cancel()
    return result


async def _sipp_fanout(lab: LabCore, agents: Agents, run_dir: Path, watchers: int, rounds: int,
                       result: dict) -> None:
    latencies, rates, result["last_ms_per_round"] = [], [], []
    lab_cpu, drops = cpu_seconds(lab.pids()), udp_receive_buffer_errors()
    for round_ in range(rounds):
        started = time.time()
        await agents.publish("p", f"round {round_}")
        times = await _wait_notifies(run_dir, watchers, round_ + 2)
        latencies += [(at - started) * 1000 for at in times]
        rates.append(watchers / max(max(times) - started, 1e-6))
        result["last_ms_per_round"].append(round((max(times) - started) * 1000, 1))
        result.update({"fanout_per_s": round(statistics.median(rates), 1), **percentiles(latencies),
                       "lab_cpu_s_per_notify_ms": round(1000 * (cpu_seconds(lab.pids()) - lab_cpu)
                                                        / (watchers * (round_ + 1)), 3),
                       "udp_receive_buffer_drops": udp_receive_buffer_errors() - drops})


async def _wait_notifies(run_dir: Path, watchers: int, nth: int) -> list[float]:
    """Arrival times (epoch seconds) of each watcher's ``nth`` NOTIFY, from SIPp's message trace."""
    while True:
        by_call: dict[str, list[float]] = {}
        for stamp, call_id in _received_notifies(run_dir):
            by_call.setdefault(call_id, []).append(stamp)
        times = [stamps[nth - 1] for stamps in by_call.values() if len(stamps) >= nth]
        if len(times) >= watchers:
            return times
        await trio.sleep(0.2)


def _received_notifies(run_dir: Path):
    """(epoch seconds, Call-ID) of every NOTIFY SIPp received so far."""
    for trace in run_dir.glob("*_messages.log"):
        for match in _RECEIVED_NOTIFY.finditer(trace.read_text(errors="replace")):
            call_id = _CALL_ID.search(match["message"])
            if call_id:
                yield datetime.strptime(match["stamp"], "%Y-%m-%d %H:%M:%S.%f").timestamp(), call_id[1]


_RECEIVED_NOTIFY = re.compile(r"^-{20,} (?P<stamp>\S+ \S+)\n[^\n]*message received[^\n]*\n\n"
                              r"(?P<message>NOTIFY .*?)(?=^-{20,} |\Z)", re.MULTILINE | re.DOTALL)
_CALL_ID = re.compile(r"^Call-ID:\s*(\S+)", re.MULTILINE)


# --- the run --------------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", default="10,100,1000", help="N: watchers of one presentity, comma-separated")
    parser.add_argument("--contacts", default="10,100,1000", help="M: contacts of one subscriber, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="status changes per fan-out measurement")
    parser.add_argument("--part-seconds", type=float, default=120, help="time bound of each part")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp",
                        help="between the gateway and the lab (SIPp always uses UDP)")
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    arguments = parser.parse_args()
    global TRANSPORT
    TRANSPORT = arguments.transport
    watchers = [int(n) for n in arguments.watchers.split(",") if n]
    contacts = [int(m) for m in arguments.contacts.split(",") if m]
    result = {"python": sys.executable, "implementation": platform.python_implementation(),
              "version": platform.python_version(), "cpus": os.cpu_count(), "transport": TRANSPORT,
              "watchers": [], "contacts": []}
    with tempfile.TemporaryDirectory(prefix="presence-bench-") as temp:
        workdir = Path(temp)
        write_subscribers(workdir / "subscribers.toml", max(watchers, default=0), max(contacts, default=0))
        lab = LabCore.start(workdir / "lab", workdir / "subscribers.toml")
        try:
            for n in watchers:
                for run in (gateway_watchers, sipp_watchers):
                    result["watchers"].append(trio.run(run, lab, workdir, n, arguments.rounds, arguments.part_seconds))
                    print(json.dumps(result["watchers"][-1]), file=sys.stderr, flush=True)
            for m in contacts:
                result["contacts"].append(trio.run(gateway_contacts, lab, workdir, m, arguments.part_seconds))
                print(json.dumps(result["contacts"][-1]), file=sys.stderr, flush=True)
        finally:
            lab.stop()
    print(json.dumps(result, indent=1))
    if arguments.json:
        arguments.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
