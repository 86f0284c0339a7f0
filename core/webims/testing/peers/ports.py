"""Free loopback ports for peers started by tests: never a fixed, well-known port.

A port is free when both a TCP and a UDP socket can bind it on 127.0.0.1 (SIP uses
the same number for both). It is released before the peer binds it, so another
process could take it in between; ports come from the kernel's ephemeral range,
which makes that unlikely, and a peer that loses the race fails to start loudly.
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port number that is free on 127.0.0.1 for both UDP and TCP."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((LOOPBACK, 0))
            port = tcp.getsockname()[1]
            if _is_free(port, socket.SOCK_DGRAM):
                return port


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports."""
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports (SIPp binds its media port and the 3 after it)."""
    while True:
        first = free_port()
        if first + count <= 65536 and all(_is_free(first + i, kind) for i in range(1, count)
                                          for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM)):
            return first


def _is_free(port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
        return True
