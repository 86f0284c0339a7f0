"""One browser tab's WebSocket: reading frames, routing requests to services, sending replies and events.

The session owns a nursery; each request runs as its own task in it (a call set-up must not hold up a chat
message), bounded per tab. Everything a service raises stops at :meth:`BrowserSession._run_request`: the tab
gets an error reply it can show, the log gets the traceback with a reference, and nothing else is disturbed.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import trio
import trio_websocket

from webims import log
from webims.context import ContextChange, RegistrationContext
from webims.errors import ServiceError
from webims.protocol import Envelope, ProtocolError, decode_request, event
from webims.protocol.codes import CLOSE_UNSUPPORTED_DATA

if TYPE_CHECKING:
    from webims.gateway.server import Gateway

MAX_REQUESTS_IN_FLIGHT = 32
_log = log.get("session")


class BrowserSession:
    """A connected browser tab. Services reach the tab through :meth:`send_event`."""

    def __init__(self, gateway: Gateway, websocket: trio_websocket.WebSocketConnection, peer: str):
        self.gateway = gateway
        self.id = secrets.token_urlsafe(9)
        self.peer = peer
        self.context: RegistrationContext | None = None
        self.greeted = False
        self._websocket = websocket
        self._in_flight = 0
        self._nursery: trio.Nursery | None = None

    # --- what services use -----------------------------------------------------------------------------------

    async def send(self, envelope: Envelope) -> bool:
        """Send one envelope; False if the tab has gone (callers treat that as "not delivered")."""
        try:
            await self._websocket.send_message(envelope.to_json())
            return True
        except trio_websocket.ConnectionClosed:
            return False

    async def send_event(self, service: str, type: str, body: dict[str, Any] | None = None,
                         session: str | None = None) -> bool:
        return await self.send(event(service, type, body, session))

    def attach(self, context: RegistrationContext) -> None:
        """Bind this tab to a subscriber's registration context (the auth service does this at login)."""
        if self.context is context:
            return
        self.detach()
        self.context = context
        context.browsers.add(self)
        context.publish(ContextChange(ContextChange.BROWSER_ATTACHED, self.id))

    def detach(self) -> None:
        if self.context is not None:
            context, self.context = self.context, None
            context.browsers.discard(self)
            context.publish(ContextChange(ContextChange.BROWSER_DETACHED, self.id))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._websocket.aclose(code, reason)

    # --- the read loop ---------------------------------------------------------------------------------------

    async def run(self) -> str:
        """Serve the tab until it goes; return why it ended (for the session-ended hook and the log)."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                while True:
                    frame = await self._websocket.get_message()
                    await self._handle_frame(frame)
            except trio_websocket.ConnectionClosed as closed:
                reason = closed.reason
                return f"closed ({reason.code}{': ' + reason.reason if reason.reason else ''})"
            finally:
                nursery.cancel_scope.cancel()

    async def _handle_frame(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.send(Envelope("error", "core", "error", body={
                "code": "bad_frame", "message": "binary frames are not part of protocol v1; send JSON text"}))
            await self.close(CLOSE_UNSUPPORTED_DATA, "binary frames are not supported")
            return
        try:
            request = decode_request(frame)
        except ProtocolError as error:
            _log.info("browser.bad_frame", session=self.id, code=error.code, reason=error.message)
            await self.send(error.reply)
            return
        problem = self.gateway.router.refusal(request, self)
        if problem is not None:
            await self.send(problem)
            return
        if request.service == "core":
            # In order, before the next frame is read: a request right after hello must see it done.
            await self.send(await self._answer(request))
            return
        if self._in_flight >= MAX_REQUESTS_IN_FLIGHT:
            await self.send(request.error("too_many_requests", f"{self._in_flight} requests of this tab are "
                                                               "still being handled; wait for their replies"))
            return
        self._in_flight += 1
        self._nursery.start_soon(self._run_request, request)

    async def _run_request(self, request: Envelope) -> None:
        try:
            reply = await self._answer(request)
        finally:
            self._in_flight -= 1
        await self.send(reply)

    async def _answer(self, request: Envelope) -> Envelope:
        try:
            body = await self.gateway.router.handle(request, self)
        except ServiceError as error:
            return request.error(error.code, error.message, **error.details)
        except Exception:
            reference = secrets.token_hex(4)
            _log.exception("service.failed", session=self.id, service=request.service, type=request.type,
                           ref=reference)
            return request.error("internal_error", f"The {request.service} service failed to handle "
                                                   f"{request.type}. The gateway logged it (reference {reference}).",
                                 reference=reference)
        if body is not None and not isinstance(body, dict):
            _log.error("service.bad_reply", service=request.service, type=request.type, got=type(body).__name__)
            return request.error("internal_error", f"The {request.service} service gave an invalid reply.")
        return request.response(body)
