"""The HTTP front end: one listener for the portal's files, ``/portal.json``, ``/healthz`` and the ``/ws`` upgrade.

HTTP/1.1 is parsed with h11 (sans-IO, like our SIP stack). A WebSocket upgrade is checked here (path, Origin)
and handed, with the bytes already read, to trio-websocket. Browsers open a fresh connection for a WebSocket,
so only the first request of a connection may upgrade; that keeps the hand-over exact.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import h11
import trio

HEAD_TIMEOUT = 10.0
MAX_STATIC_BYTES = 8 << 20
SECURITY_HEADERS = [
    # No inline script anywhere: remote text can never become code, even if a renderer slipped.
    ("content-security-policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: "
                                "blob:; media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; "
                                "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-cache"),
]
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")


@attrs.frozen
class HttpRequest:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def wants_websocket(self) -> bool:
        return (self.headers.get("upgrade", "").lower() == "websocket"
                and "upgrade" in self.headers.get("connection", "").lower())


@attrs.frozen
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def json(cls, document: Any, status: int = 200) -> HttpResponse:
        return cls(status, json.dumps(document, ensure_ascii=False).encode(), "application/json")

    @classmethod
    def text(cls, status: int, text: str) -> HttpResponse:
        return cls(status, text.encode() + b"\n")


def static_file(root: Path, relative: str) -> HttpResponse:
    """Serve ``relative`` from ``root``; anything that would leave ``root`` is a 404, never a file outside it."""
    try:
        path = (root / relative.lstrip("/")).resolve()
        path.relative_to(root.resolve())
    except (ValueError, OSError):
        return HttpResponse.text(404, "not found")
    if not path.is_file() or path.stat().st_size > MAX_STATIC_BYTES:
        return HttpResponse.text(404, "not found")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "application/json":
        content_type += "; charset=utf-8"
    return HttpResponse(200, path.read_bytes(), content_type)


Router = Callable[[HttpRequest], HttpResponse]
Upgrader = Callable[[HttpRequest, trio.abc.Stream, bytes], Any]  # async


async def serve_http(stream: trio.abc.Stream, route: Router, upgrade: Upgrader,
                     upgrade_refusal: Callable[[HttpRequest], HttpResponse | None]) -> None:
    """Serve one connection: plain requests through ``route``; a WebSocket upgrade through ``upgrade``."""
    connection = h11.Connection(h11.SERVER)
    first_request_bytes = bytearray()
    first = True
    while True:
        request = None
        # A client that does not finish its request head in time is dropped (slowloris).
        with trio.move_on_after(HEAD_TIMEOUT):
            request = await _read_request(connection, stream, first_request_bytes if first else None)
        if request is None:
            return
        if request.wants_websocket:
            refusal = upgrade_refusal(request) if first else HttpResponse.text(
                400, "open the WebSocket on a new connection")
            if refusal is None:
                await upgrade(request, stream, bytes(first_request_bytes))
            else:
                await _send_response(connection, stream, request, refusal)
            return
        await _send_response(connection, stream, request, route(request))
        if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
            return
        first = False
        connection.start_next_cycle()


async def _read_request(connection: h11.Connection, stream: trio.abc.Stream,
                        record: bytearray | None) -> HttpRequest | None:
    request = None
    while True:
        try:
            event = connection.next_event()
        except h11.RemoteProtocolError as error:
            await _send_raw_error(connection, stream, error.error_status_hint, str(error))
            return None
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return None
            if record is not None:
                record += data
            connection.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            headers: dict[str, str] = {}
            for name, value in event.headers:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
            request = HttpRequest(event.method.decode("ascii"), event.target.decode("latin-1"), headers)
        elif isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
            return request
        elif isinstance(event, h11.ConnectionClosed):
            return None


async def _send_response(connection: h11.Connection, stream: trio.abc.Stream, request: HttpRequest,
                         response: HttpResponse) -> None:
    body = b"" if request.method == "HEAD" else response.body
    headers = [("content-type", response.content_type), ("content-length", str(len(response.body)))]
    headers += SECURITY_HEADERS
    if request.wants_websocket:
        headers.append(("connection", "close"))
    try:
        data = connection.send(h11.Response(status_code=response.status, headers=headers))
        data += connection.send(h11.Data(data=body)) if body else b""
        data += connection.send(h11.EndOfMessage())
        await stream.send_all(data)
    except (h11.LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
        pass


async def _send_raw_error(connection: h11.Connection, stream: trio.abc.Stream, status: int, reason: str) -> None:
    if connection.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    response = HttpResponse.text(status, f"bad request: {reason}")
    headers = [("content-type", response.content_type), ("content-length", str(len(response.body))),
               ("connection", "close")]
    try:
        data = connection.send(h11.Response(status_code=status, headers=headers))
        data += connection.send(h11.Data(data=response.body)) + connection.send(h11.EndOfMessage())
        await stream.send_all(data)
    except (h11.LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
        pass
