"""The gateway's trio layer: HTTP front end, WebSocket sessions, request routing."""

from webims.gateway.server import Gateway
from webims.gateway.session import BrowserSession

__all__ = ["BrowserSession", "Gateway", "build_gateway"]


def build_gateway(config, *, instances=None) -> Gateway:
    """Load and check the services ``config`` enables, and return a gateway ready to ``serve()``.

    Raises :class:`webims.errors.ConfigError` listing every problem (missing plugin, version mismatch, bad
    settings) before anything listens.
    """
    from webims.plugins import load_services

    return Gateway(config, load_services(config.services, config.settings, instances=instances))
