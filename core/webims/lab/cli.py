"""`webims lab`: run the lab IMS core in the foreground, or administer a running one.

    webims lab [--sip-port 5060] [--runtime-dir run/lab] ...   run until Ctrl-C (SIGINT) or SIGTERM
    webims lab [--runtime-dir DIR] admin contacts AOR            list a subscriber's contacts
    webims lab [--runtime-dir DIR] admin deregister AOR          remove them (reg-event NOTIFY)

The main CLI adds the command with `add_lab_command(subparsers)` and, for parsed
arguments of `lab`, calls `run_lab_command(args)` (also set as `args.handler`).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from webims.lab.admin import LabAdmin, LabAdminError
from webims.lab.kamailio_cfg import DIGEST_ALGORITHMS, LabPorts, LabSettings, rpc_socket_path
from webims.lab.process import LabProcess, LabStartError
from webims.lab.subscribers import DEFAULT_SUBSCRIBERS_FILE, Subscribers, SubscribersError, load_subscribers

DEFAULT_RUNTIME_DIR = Path("run/lab")


def add_lab_command(subparsers) -> argparse.ArgumentParser:
    """Add `lab` (and `lab admin ...`) to the main CLI's subparsers; returns the `lab` parser."""
    lab = subparsers.add_parser(
        "lab", help="run the lab IMS core (Kamailio) for trying webims without an IMS network",
        description="Run the lab IMS core in the foreground until Ctrl-C. See docs/lab.md.",
    )
    lab.add_argument("--subscribers", type=Path, default=DEFAULT_SUBSCRIBERS_FILE, help="subscribers TOML file")
    lab.add_argument("--runtime-dir", type=Path, default=DEFAULT_RUNTIME_DIR,
                     help="rendered config, database, log and RPC socket (default: %(default)s)")
    lab.add_argument("--sip-port", type=int, default=5060, help="SIP over UDP and TCP on 127.0.0.1")
    lab.add_argument("--msrp-port", type=int, default=2855, help="MSRP relay (TCP)")
    lab.add_argument("--websocket-port", type=int, default=5066, help="SIP over WebSocket; 0 disables it")
    lab.add_argument("--digest-algorithm", choices=DIGEST_ALGORITHMS, default="MD5",
                     help="digest algorithm of all challenges (Kamailio 5.6 offers one at a time)")
    lab.add_argument("--log-level", type=int, default=2, help="Kamailio debug level (2 info, 3 debug)")
    lab.set_defaults(handler=run_lab_command)

    actions = lab.add_subparsers(title="administer a running lab", dest="lab_action")
    admin = actions.add_parser("admin", help="administer the lab running with --runtime-dir")
    admin_actions = admin.add_subparsers(dest="admin_action", required=True)
    for name, text in (("contacts", "list the contacts registered for a subscriber"),
                       ("deregister", "remove all contacts of a subscriber (a reg-event NOTIFY goes out)")):
        action = admin_actions.add_parser(name, help=text)
        action.add_argument("aor", help="any public identity of the subscriber, e.g. tel:+15550100")
    return lab


def run_lab_command(args: argparse.Namespace) -> int:
    """Run what `args` (parsed by the parser add_lab_command built) asks for; an exit status."""
    try:
        if args.lab_action == "admin":
            return _administer(LabAdmin(rpc_socket_path(args.runtime_dir)), args.admin_action, args.aor)
        return _run_lab(args)
    except (LabStartError, LabAdminError, SubscribersError, OSError) as error:
        print(f"webims lab: {error}", file=sys.stderr)
        return 1


def _run_lab(args: argparse.Namespace) -> int:
    subscribers = load_subscribers(args.subscribers)
    ports = LabPorts(sip=args.sip_port, msrp=args.msrp_port, websocket=args.websocket_port or None)
    settings = LabSettings(ports, args.runtime_dir, digest_algorithm=args.digest_algorithm, log_level=args.log_level)
    lab = LabProcess.start(settings, subscribers)
    try:
        # Kamailio runs in a session of its own, so it stops only when we stop it. Both signals are ours to
        # handle: SIGTERM would otherwise end this process alone, and SIGINT may come in ignored (a shell's
        # background job), which left the lab running after Ctrl-C.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _interrupt)
        print(_banner(lab, subscribers), flush=True)
        status = lab.popen.wait()
    except KeyboardInterrupt:
        print("webims lab: stopped")
        return 0
    finally:
        lab.stop()
    print(f"webims lab: kamailio exited with {status}; {settings.log_file} ends with:\n{lab.log_tail()}",
          file=sys.stderr)
    return 1


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt


def _banner(lab: LabProcess, subscribers: Subscribers) -> str:
    ports, runtime = lab.settings.ports, lab.settings.runtime_dir
    lines = [
        f"webims lab IMS core running (kamailio pid {lab.pid}), domain and realm {subscribers.domain}",
        f"  SIP        sip:127.0.0.1:{ports.sip} (UDP, TCP): outbound proxy / registrar",
    ]
    if ports.websocket:
        lines.append(f"  WebSocket  ws://127.0.0.1:{ports.websocket} (SIP over WebSocket, RFC 7118)")
    lines += [
        f"  MSRP       msrp://127.0.0.1:{ports.msrp};tcp (relay, digest AUTH)",
        f"  runtime    {runtime} (kamailio.cfg, kamailio.log, lab.sqlite); RPC {lab.settings.rpc_socket}",
        f"  digest     {lab.settings.digest_algorithm}",
        "Demo logins (private identity / password: implicit set, default identity first):",
    ]
    for subscription in subscribers.subscriptions:
        for credential in subscription.private_identities:
            identities = ", ".join(subscription.public_identities)
            lines.append(f"  {credential.username} / {credential.password}: {identities}")
    lines.append("Ctrl-C stops the lab.")
    return "\n".join(lines)


def _administer(admin: LabAdmin, action: str, aor: str) -> int:
    contacts = admin.deregister(aor) if action == "deregister" else admin.contacts(aor)
    verb = "removed" if action == "deregister" else "registered"
    print(f"{len(contacts)} contact(s) {verb} for {admin.canonical_aor(aor)}")
    for contact in contacts:
        print(f"  {contact.address}  expires in {contact.expires}s  received {contact.received or '-'}"
              f"  {contact.user_agent}")
    return 0
