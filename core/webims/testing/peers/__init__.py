"""Native peers for interop tests: the lab IMS core (Kamailio), baresip phones, SIPp.

Fixtures live in `webims.testing.peers.fixtures`; see docs/lab.md.
"""

from webims.testing.peers.baresip import BaresipError, BaresipPhone, PhoneAccount, ReceivedMessage
from webims.testing.peers.errors import PeerMissing, require_binary
from webims.testing.peers.kamailio import LabCore
from webims.testing.peers.ports import free_port, free_port_block, free_ports
from webims.testing.peers.sipp import Sipp, SippError, SippProcess, SippRun
from webims.testing.peers.tones import contains_tone, dominant_frequency, tone_share, write_sine_wav

__all__ = [
    "BaresipError", "BaresipPhone", "LabCore", "PeerMissing", "PhoneAccount", "ReceivedMessage", "Sipp",
    "SippError", "SippProcess", "SippRun", "contains_tone", "dominant_frequency", "free_port", "free_port_block",
    "free_ports", "require_binary", "tone_share", "write_sine_wav",
]
