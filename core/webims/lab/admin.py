"""Administer a running lab over Kamailio's JSON-RPC (jsonrpcs) UNIX datagram socket.

The socket is `rpc_socket_path(runtime_dir)`: in the runtime dir when that path is
short enough for a UNIX socket. Each client binds an abstract-namespace socket for
the replies, so it leaves nothing in the filesystem. Removing an AOR's contacts
(`ul.rm`) fires usrloc callbacks: pua_reginfo publishes the change and the `reg`
subscribers get a NOTIFY with the registration `terminated`, as after an operator's
de-registration (the contacts' event says `unregistered`, see docs/lab.md).
"""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path
from typing import Any

import attrs

from webims.lab.subscribers import identity_key

LOCATION_TABLE = "location"


class LabAdminError(RuntimeError):
    """The lab refused an RPC command (or did not answer: LabUnreachable)."""


class LabUnreachable(LabAdminError):
    """Nothing answers on the RPC socket: the lab is not running there."""


@attrs.frozen
class Contact:
    """One registered contact of a subscription, as the lab's usrloc holds it."""

    address: str
    expires: int
    received: str
    call_id: str
    user_agent: str


@attrs.frozen
class LabAdmin:
    rpc_socket: Path = attrs.field(converter=Path)
    timeout: float = 2.0

    def call(self, method: str, *params: str) -> Any:
        """Run one Kamailio RPC command and return its result."""
        request = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
            client.bind(f"\0webims-lab-admin-{secrets.token_hex(6)}")
            client.settimeout(self.timeout)
            try:
                client.sendto(json.dumps(request).encode(), str(self.rpc_socket))
                reply = json.loads(client.recv(1 << 20))
            except (OSError, ValueError) as error:
                raise LabUnreachable(
                    f"no lab answers on {self.rpc_socket} ({error}): is `webims lab` running with this runtime dir?"
                ) from error
        if "error" in reply:
            raise LabAdminError(f"{method} {' '.join(params)}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result")

    def canonical_aor(self, identity: str) -> str:
        """The canonical AOR (default public identity) of the subscription `identity` is in."""
        try:
            return self.call("htable.get", "lab", f"impu:{identity_key(identity)}")["item"]["value"]
        except LabUnreachable:
            raise
        except LabAdminError as error:
            raise LabAdminError(f"{identity} is not a public identity of any lab subscriber") from error

    def contacts(self, identity: str) -> list[Contact]:
        """The contacts registered for the subscription that `identity` belongs to."""
        aor = _usrloc_aor(self.canonical_aor(identity))
        try:
            record = self.call("ul.lookup", LOCATION_TABLE, aor)
        except LabAdminError as error:
            if "not found" in str(error):
                return []
            raise
        return [_contact(entry["Contact"]) for entry in record.get("Contacts", [])]

    def deregister(self, identity: str) -> list[Contact]:
        """Remove every contact of `identity`'s subscription; returns what was removed."""
        removed = self.contacts(identity)
        if removed:
            self.call("ul.rm", LOCATION_TABLE, _usrloc_aor(self.canonical_aor(identity)))
        return removed


def _usrloc_aor(canonical_aor: str) -> str:
    # usrloc keys records by user@domain (use_domain=1), without the scheme.
    return canonical_aor.removeprefix("sip:")


def _contact(fields: dict) -> Contact:
    def text(name: str) -> str:
        # usrloc's RPC says "[not set]" (or "n/a" for the user agent) for empty fields.
        value = fields.get(name, "")
        return "" if value in ("[not set]", "n/a") else value

    return Contact(
        address=fields["Address"],
        expires=int(fields["Expires"]),
        received=text("Received"),
        call_id=text("Call-ID"),
        user_agent=text("User-Agent"),
    )
