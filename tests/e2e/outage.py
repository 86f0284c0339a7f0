"""A network outage on one UDP port of this machine: its packets vanish, as on a network that went away.

nftables, in a table of our own that is deleted afterwards (it needs root, as CI and `make test` run).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from webims.testing.peers.errors import require_binary


def _nft(nft: str, command: str) -> None:
    done = subprocess.run([nft, *command.split()], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise RuntimeError(f"`nft {command}` failed ({done.stderr.strip()}): these tests drop packets with "
                           "nftables, which needs root (or CAP_NET_ADMIN)")


@contextmanager
def udp_dropped_at(port: int) -> Iterator[None]:
    """Every UDP packet to or from ``port`` on this machine is dropped until the block ends."""
    nft = require_binary("nft")
    table = f"webims_outage_{os.getpid()}"
    _nft(nft, f"add table inet {table}")
    try:
        _nft(nft, f"add chain inet {table} input {{ type filter hook input priority -300 ; }}")
        _nft(nft, f"add rule inet {table} input udp dport {port} drop")
        _nft(nft, f"add rule inet {table} input udp sport {port} drop")
        yield
    finally:
        _nft(nft, f"delete table inet {table}")
