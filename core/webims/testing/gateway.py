"""Building and running a gateway in-process, for tests of the core and of single plugins."""

from __future__ import annotations

from typing import Any

from webims.config import parse_config
from webims.errors import ConfigError
from webims.gateway import Gateway, build_gateway


# Every gateway the kit starts is one gateway to the IMS core ([ims] instance), as if restarted for each test:
# a subscriber's login replaces the binding that the previous test's gateway, stopped without goodbyes, left.
KIT_INSTANCE = "webims-test-kit"


def make_config(services: dict[str, Any] | None = None, settings: dict[str, dict] | None = None,
                ims: dict[str, Any] | None = None, **gateway: Any):
    """A valid config for tests: loopback on a free port, the given services (``{"hello": "*"}``) and settings.

    ``ims`` overrides ``[ims]`` keys (``{"proxy": peer.uri()}``); two gateways that register the same subscriber
    at once need ``{"instance": ...}`` names of their own. Other keyword arguments override ``[gateway]`` keys
    (``max_frame_bytes=2048``, ``allowed_origins=[...]``).
    """
    document = {
        "gateway": {"listen": "127.0.0.1:0", **gateway},
        "portal": {"operator_name": "Test Telecom"},
        "ims": {"proxy": "sip:127.0.0.1:5060", "domain": "ims.test", "instance": KIT_INSTANCE, **(ims or {})},
        "services": {name: ("*" if constraint is True else constraint)
                     for name, constraint in (services or {}).items()},
        "settings": settings or {},
    }
    config, problems = parse_config(document)
    if problems:
        raise ConfigError(problems)
    return config


async def start_gateway(nursery, services: dict[str, Any] | None = None, *, instances: dict[str, Any] | None = None,
                        settings: dict[str, dict] | None = None, ims: dict[str, Any] | None = None,
                        **gateway: Any) -> Gateway:
    """Start a gateway in ``nursery`` and return it once it listens (``gateway.url`` is then set).

    ``instances`` maps service names to plugin objects that need not be installed; they are enabled too.
    """
    services = dict(services or {})
    for name in instances or {}:
        services.setdefault(name, "*")
    config = make_config(services, settings, ims, **gateway)
    return await nursery.start(build_gateway(config, instances=instances).serve)
