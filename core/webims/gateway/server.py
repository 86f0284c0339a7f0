"""The gateway: one listener (portal + /ws), the enabled services, and every subscriber's context.

Lifetimes are nested nurseries: the gateway's nursery holds each connection's, which holds that tab's session
and its requests. Stopping the gateway cancels them all; plugins get ``webims_gateway_stopping`` first.
"""

from __future__ import annotations

import inspect
import math
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trio
import trio_websocket

from webims import log
from webims.config import Config
from webims.context import ContextRegistry, RegistrationContext
from webims.gateway.http import HttpRequest, HttpResponse, serve_http, static_file
from webims.gateway.router import Router
from webims.gateway.session import BrowserSession
from webims.gateway.sip import GatewaySip
from webims.gateway.streams import HandoverStream
from webims.plugins import PluginHost
from webims.protocol.codes import CLOSE_GOING_AWAY

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
TLS_HANDSHAKE_TIMEOUT = 10.0
SHUTDOWN_SECONDS = 10.0
_log = log.get("gateway")


class Gateway:
    def __init__(self, config: Config, plugins: PluginHost):
        self.config = config
        self.plugins = plugins
        self.contexts = ContextRegistry()
        self.sessions: dict[str, BrowserSession] = {}
        self.router = Router(self)
        self.sip = GatewaySip(self)
        self.nursery: trio.Nursery | None = None
        self.port: int | None = None
        self._ssl_context = _ssl_context(config) if config.gateway.tls else None
        self._stopped = False

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        host = self.config.gateway.host
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{self.port}"

    # --- running -----------------------------------------------------------------------------------------------

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled. ``task_status.started`` gets the gateway once it is listening."""
        gateway = self.config.gateway
        listeners = await trio.open_tcp_listeners(gateway.port, host=gateway.host)
        self.port = listeners[0].socket.getsockname()[1]
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                await self.sip.start(nursery)
                for name, loaded in self.plugins.services.items():
                    await _maybe_await(self.plugins.call_owner(name, "webims_gateway_started", gateway=self,
                                                               settings=loaded.settings))
                _log.info("gateway.listening", url=self.url, services=",".join(self.plugins.services))
                task_status.started(self)
                await trio.serve_listeners(self._serve_connection, listeners, handler_nursery=nursery)
        finally:
            if not self._stopped:  # cancelled from outside: stop as well as a cancelled gateway still can
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    await self._stop()

    async def shutdown(self) -> None:
        """Stop gracefully while everything still runs: tabs told, plugins' goodbyes (de-registrations,
        unpublications) sent through a SIP endpoint that is still up. Then cancel :meth:`serve`."""
        if not self._stopped:
            with trio.move_on_after(SHUTDOWN_SECONDS):
                await self._stop()
        self.nursery.cancel_scope.cancel()

    async def _stop(self) -> None:
        self._stopped = True
        for session in list(self.sessions.values()):
            with trio.move_on_after(1):
                await session.close(CLOSE_GOING_AWAY, "the gateway is shutting down")
        await self.broadcast("webims_gateway_stopping", gateway=self)
        _log.info("gateway.stopped")

    def add_context(self, context: RegistrationContext) -> RegistrationContext:
        """Register a subscriber's context; its changes are broadcast to plugins, in order, until it ends."""
        self.contexts.add(context)
        changes = context.watch(buffer=math.inf)  # the gateway's own watcher is never dropped

        async def forward() -> None:
            async with changes:
                async for change in changes:
                    await self.broadcast("webims_context_changed", context=context, change=change)
            self.contexts.remove(context)
        self.nursery.start_soon(forward)
        return context

    async def broadcast(self, hook_name: str, **kwargs: Any) -> None:
        """Call a broadcast hook on every plugin in turn; one plugin's failure is logged, not spread."""
        for name in list(self.plugins.services):
            try:
                await _maybe_await(self.plugins.call_owner(name, hook_name, **kwargs))
            except Exception:
                _log.exception("hook.failed", hook=hook_name, service=name)

    # --- connections -------------------------------------------------------------------------------------------

    async def _serve_connection(self, stream: trio.abc.Stream) -> None:
        peer = _peer_name(stream)
        try:
            if self._ssl_context is not None:
                stream = trio.SSLStream(stream, self._ssl_context, server_side=True)
                with trio.fail_after(TLS_HANDSHAKE_TIMEOUT):
                    await stream.do_handshake()
            await serve_http(stream, self._route, lambda request, s, raw: self._accept_websocket(s, raw, peer),
                             self._upgrade_refusal)
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError, ssl.SSLError, OSError) as err:
            _log.debug("connection.dropped", peer=peer, reason=f"{type(err).__name__}: {err}")
        finally:
            await trio.aclose_forcefully(stream)

    def _upgrade_refusal(self, request: HttpRequest) -> HttpResponse | None:
        if request.path != "/ws":
            return HttpResponse.text(404, "the WebSocket endpoint is /ws")
        origin = request.headers.get("origin")
        if not self._origin_allowed(origin, request.headers.get("host", "")):
            _log.warning("ws.origin_refused", origin=origin)
            return HttpResponse.text(403, f"Origin {origin} is not allowed to use this gateway")
        return None

    def _origin_allowed(self, origin: str | None, host: str) -> bool:
        if origin is None:
            # Non-browser clients (tests, native tools) send no Origin; browsers always do.
            return True
        allowed = self.config.gateway.allowed_origins
        if allowed:
            return origin in allowed
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()

    async def _accept_websocket(self, stream: trio.abc.Stream, already_read: bytes, peer: str) -> None:
        handover = HandoverStream(stream, already_read)
        try:
            async with trio.open_nursery() as nursery:
                request = await trio_websocket.wrap_server_stream(
                    nursery, handover, max_message_size=self.config.gateway.max_frame_bytes)
                websocket = await request.accept()
                session = BrowserSession(self, websocket, peer)
                self.sessions[session.id] = session
                _log.info("ws.accepted", session=session.id, peer=peer)
                reason = "closed"
                try:
                    reason = await session.run()
                finally:
                    del self.sessions[session.id]
                    with trio.CancelScope(shield=True):
                        if session.greeted:
                            await self.broadcast("webims_session_ended", session=session, reason=reason)
                        session.detach()
                    _log.info("ws.closed", session=session.id, reason=reason)
                nursery.cancel_scope.cancel()
        finally:
            await handover.aclose()

    # --- plain HTTP --------------------------------------------------------------------------------------------

    def _route(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponse.text(405, "only GET and HEAD are served here")
        path = request.path
        if path in ("/", "/index.html"):
            return static_file(STATIC_ROOT, "index.html")
        if path.startswith("/static/"):
            return static_file(STATIC_ROOT, path.removeprefix("/static/"))
        if path.startswith("/plugins/"):
            name, _, rest = path.removeprefix("/plugins/").partition("/")
            loaded = self.plugins.services.get(name)
            if loaded is None or loaded.assets is None:
                return HttpResponse.text(404, "not found")
            return static_file(loaded.assets.directory, rest)
        if path == "/portal.json":
            return HttpResponse.json(self.portal_manifest())
        if path == "/logo" and self.config.portal.logo:
            return static_file(self.config.portal.logo.parent, self.config.portal.logo.name)
        if path == "/healthz":
            return HttpResponse.json({"status": "ok", "sessions": len(self.sessions),
                                      "subscribers": len(self.contexts),
                                      "services": {name: loaded.service.version
                                                   for name, loaded in self.plugins.services.items()}})
        return HttpResponse.text(404, "not found")

    def portal_manifest(self) -> dict[str, Any]:
        """What the portal page needs before it connects: branding and each enabled service's browser files."""
        services = {}
        # In the order the operator's [services] table lists them: that is the order of the panels.
        for name, loaded in self.plugins.services.items():
            assets = loaded.assets
            services[name] = {
                "version": loaded.service.version,
                "modules": [f"/plugins/{name}/{module}" for module in (assets.modules if assets else ())],
                "styles": [f"/plugins/{name}/{style}" for style in (assets.styles if assets else ())],
            }
        portal = self.config.portal
        return {"operator": {"name": portal.operator_name, "logo": "/logo" if portal.logo else None},
                "services": services}


async def _maybe_await(result: Any) -> Any:
    # pluggy returns a list of results for broadcast hooks; our owner-only calls give at most one.
    if isinstance(result, list):
        return [await _maybe_await(item) for item in result]
    if inspect.isawaitable(result):
        return await result
    return result


def _ssl_context(config: Config) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.gateway.tls.cert, config.gateway.tls.key)
    return context


def _peer_name(stream: trio.abc.Stream) -> str:
    try:
        host, port = stream.socket.getpeername()[:2]
        return f"{host}:{port}"
    except (AttributeError, OSError):
        return "?"
