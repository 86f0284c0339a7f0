"""The error a test fixture raises when a native peer is not installed."""

from __future__ import annotations

import shutil

from webims.lab.process import KAMAILIO_INSTALL

INSTALL_COMMANDS = {
    "kamailio": KAMAILIO_INSTALL,
    "baresip": "apt-get install baresip-core",
    "sipp": "apt-get install sip-tester",
    "nft": "apt-get install nftables",
    "turnserver": "apt-get install coturn",
}


class PeerMissing(RuntimeError):
    """A peer's binary is not on PATH; the message has the command that installs it."""

    def __init__(self, binary: str) -> None:
        super().__init__(f"{binary} not found: install it with `{INSTALL_COMMANDS[binary]}`")
        self.binary = binary


def require_binary(binary: str) -> str:
    """The path of `binary` on PATH, or PeerMissing."""
    found = shutil.which(binary)
    if found is None:
        raise PeerMissing(binary)
    return found
