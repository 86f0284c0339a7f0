"""The lab IMS core: Kamailio configured as a small IMS core for trying and testing webims.

`webims lab` runs it in the foreground (`cli.py`); tests start it through
`webims.testing.peers.LabCore`. See docs/lab.md for what it does and does not do.
"""

from webims.lab.admin import Contact, LabAdmin, LabAdminError, LabUnreachable
from webims.lab.kamailio_cfg import LabPorts, LabSettings, render_config, write_runtime
from webims.lab.process import LabProcess, LabStartError
from webims.lab.subscribers import (
    DEFAULT_SUBSCRIBERS_FILE,
    PrivateIdentity,
    Subscribers,
    SubscribersError,
    Subscription,
    identity_key,
    load_subscribers,
)

__all__ = [
    "DEFAULT_SUBSCRIBERS_FILE", "Contact", "LabAdmin", "LabAdminError", "LabPorts", "LabProcess", "LabSettings",
    "LabStartError", "LabUnreachable", "PrivateIdentity", "Subscribers", "SubscribersError", "Subscription",
    "identity_key", "load_subscribers", "render_config", "write_runtime",
]
