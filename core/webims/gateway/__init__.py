"""The gateway's trio layer: HTTP front end, WebSocket sessions, request routing."""

from webims.gateway.server import Gateway
from webims.gateway.session import BrowserSession

__all__ = ["BrowserSession", "Gateway", "build_gateway", "serve_until_signalled"]


def build_gateway(config, *, instances=None) -> Gateway:
    """Load and check the services ``config`` enables, and return a gateway ready to ``serve()``.

    Raises :class:`webims.errors.ConfigError` listing every problem (missing plugin, version mismatch, bad
    settings) before anything listens.
    """
    from webims.plugins import load_services

    return Gateway(config, load_services(config.services, config.settings, instances=instances))


async def serve_until_signalled(gateway: Gateway, on_started) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully (tabs told, subscribers de-registered)."""
    import signal

    import trio

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(gateway.serve)
            on_started()
            async for _ in signals:
                await gateway.shutdown()
                nursery.cancel_scope.cancel()
                break
