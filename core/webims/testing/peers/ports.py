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
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((LOOPBACK, port))
                except OSError:
                    continue
                return port


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports."""
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)
