"""Routing browser requests: the core's own namespace (hello, ping) and every enabled service's."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import webims
from webims.protocol import PROTOCOL_VERSION, Envelope

if TYPE_CHECKING:
    from webims.gateway.server import Gateway
    from webims.gateway.session import BrowserSession

CORE_MESSAGES = frozenset({"hello", "ping"})


class Router:
    def __init__(self, gateway: Gateway):
        self.gateway = gateway

    def refusal(self, request: Envelope, session: BrowserSession) -> Envelope | None:
        """The error reply for a request that must not reach a service, or None if it may."""
        if request.service == "core":
            if request.type not in CORE_MESSAGES:
                return request.error("unknown_type", f"core has no message {request.type!r} "
                                                     f"(it has: {', '.join(sorted(CORE_MESSAGES))})")
            return None
        if not session.greeted:
            return request.error("hello_required", "send core/hello first")
        loaded = self.gateway.plugins.services.get(request.service)
        if loaded is None:
            enabled = ", ".join(sorted(self.gateway.plugins.services)) or "none"
            return request.error("unknown_service", f"no service {request.service!r} is enabled here "
                                                    f"(enabled: {enabled})")
        if request.type not in loaded.service.messages:
            return request.error("unknown_type", f"the {request.service} service has no message "
                                                 f"{request.type!r}")
        if loaded.service.requires_login and session.context is None:
            return request.error("not_logged_in", "log in first: this needs a registered subscriber")
        return None

    async def handle(self, request: Envelope, session: BrowserSession) -> dict[str, Any] | None:
        if request.service == "core":
            return await self._core(request, session)
        result = self.gateway.plugins.call_owner(request.service, "webims_handle_message",
                                                 request=request, session=session)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _core(self, request: Envelope, session: BrowserSession) -> dict[str, Any]:
        if request.type == "ping":
            return {}
        if not session.greeted:
            session.greeted = True
            await self.gateway.broadcast("webims_session_started", session=session)
        return self.welcome(session)

    def welcome(self, session: BrowserSession) -> dict[str, Any]:
        config = self.gateway.config
        return {
            "protocol": PROTOCOL_VERSION,
            "gateway": {"name": "webims", "version": webims.__version__},
            "session": session.id,
            "services": {name: {"version": loaded.service.version, "summary": loaded.service.summary,
                                "requires_login": loaded.service.requires_login}
                         for name, loaded in sorted(self.gateway.plugins.services.items())},
            "limits": {"max_frame_bytes": config.gateway.max_frame_bytes},
            "operator": {"name": config.portal.operator_name},
        }
