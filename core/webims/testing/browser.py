"""A browser at the protocol level: what a test (or a load generator) uses instead of a real tab."""

from __future__ import annotations

import itertools
import json
from typing import Any

import attrs
import trio
import trio_websocket

from webims.protocol import PROTOCOL_VERSION


class BrowserError(Exception):
    """The gateway answered a request with an error envelope."""

    def __init__(self, code: str, message: str, envelope: dict[str, Any]):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.envelope = envelope


@attrs.define
class BrowserClient:
    """Speaks protocol v1 over one WebSocket. Replies are matched to requests by id; events are queued."""

    websocket: trio_websocket.WebSocketConnection
    welcome: dict[str, Any] | None = None
    _ids: Any = attrs.field(factory=lambda: itertools.count(1))
    _waiting: dict[str, trio.MemorySendChannel] = attrs.field(factory=dict)
    _events: Any = None
    _event_source: Any = None

    def __attrs_post_init__(self) -> None:
        self._event_source, self._events = trio.open_memory_channel[dict](256)

    async def send_raw(self, frame: str | bytes) -> None:
        await self.websocket.send_message(frame)

    async def request(self, service: str, type: str, body: dict[str, Any] | None = None, *,
                      session: str | None = None, timeout: float = 10) -> dict[str, Any]:
        """Send a request and return the response body; raise BrowserError if the gateway answers an error."""
        request_id = f"r{next(self._ids)}"
        envelope: dict[str, Any] = {"v": PROTOCOL_VERSION, "kind": "request", "service": service, "type": type,
                                    "id": request_id, "body": body or {}}
        if session is not None:
            envelope["session"] = session
        send, receive = trio.open_memory_channel[dict](1)
        self._waiting[request_id] = send
        try:
            await self.websocket.send_message(json.dumps(envelope))
            with trio.fail_after(timeout):
                reply = await receive.receive()
        finally:
            self._waiting.pop(request_id, None)
        if reply["kind"] == "error":
            raise BrowserError(reply["body"]["code"], reply["body"]["message"], reply)
        return reply["body"]

    async def hello(self) -> dict[str, Any]:
        self.welcome = await self.request("core", "hello", {"client": "webims.testing"})
        return self.welcome

    async def next_event(self, service: str | None = None, type: str | None = None, *,
                         timeout: float = 10) -> dict[str, Any]:
        """The next event (optionally of one service/type; others are skipped), as the whole envelope."""
        with trio.fail_after(timeout):
            while True:
                envelope = await self._events.receive()
                if (service is None or envelope["service"] == service) and (type is None or envelope["type"] == type):
                    return envelope

    async def next_frame(self, *, timeout: float = 10) -> dict[str, Any]:
        """The next envelope of any kind that was not a reply to a request of ours (errors without id too)."""
        return await self.next_event(timeout=timeout)

    async def _read(self) -> None:
        try:
            while True:
                envelope = json.loads(await self.websocket.get_message())
                waiter = self._waiting.get(envelope.get("id")) if envelope.get("id") else None
                if waiter is not None and envelope["kind"] in ("response", "error"):
                    waiter.send_nowait(envelope)
                else:
                    await self._event_source.send(envelope)
        except trio_websocket.ConnectionClosed:
            self._event_source.close()


async def open_browser(nursery, url: str, *, origin: str | None = None, hello: bool = True) -> BrowserClient:
    """Connect to a gateway's ``/ws`` (``url`` is the gateway's http(s) URL) and say hello."""
    ws_url = url.replace("http", "ws", 1) + "/ws"
    headers = [("Origin", origin)] if origin else None
    websocket = await trio_websocket.connect_websocket_url(nursery, ws_url, extra_headers=headers)
    client = BrowserClient(websocket)
    nursery.start_soon(client._read)
    if hello:
        await client.hello()
    return client
