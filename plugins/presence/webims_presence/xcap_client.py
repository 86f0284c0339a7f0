"""A small XCAP client (RFC 4825): GET, PUT and DELETE of whole documents, with HTTP digest. Trio + h11.

XCAP is HTTP; the Ut interface authenticates with the subscriber's own credentials (digest, as her SIP
registration does). Each request opens its own connection: documents change when she acts, not in bulk.
ETags are kept exactly as the server sent them (quotes included) for If-Match.
"""

from __future__ import annotations

import ssl
from urllib.parse import quote, urlsplit

import attrs
import h11
import trio

from webims.sip import DigestChallenge, DigestClient, RemoteProtocolError

MAX_BODY = 1 << 20
SERVER_ERROR_RETRIES = (0.1, 0.3, 0.0)  # waits after a 5xx; the last answer is final


class XcapError(Exception):
    """The XCAP server could not be reached or answered something unusable; ``reason`` is for a person."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class XcapResponse:
    status: int
    etag: str | None = None
    body: bytes = b""


class XcapClient:
    def __init__(self, root: str, username: str, password: str, *, timeout: float = 5.0):
        parts = urlsplit(root)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the XCAP root {root!r} is not an http(s) URL")
        self.host, self.tls = parts.hostname, parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.root_path = parts.path.rstrip("/")
        self.timeout = timeout
        self._digest = DigestClient(username, password)
        self._challenge: DigestChallenge | None = None

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}{path}"

    def document_path(self, auid: str, xui: str, document: str = "index") -> str:
        """RFC 4825 §6: ``<root>/<auid>/users/<xui>/<document>``."""
        return f"{self.root_path}/{auid}/users/{quote(xui, safe=':@+')}/{document}"

    async def get(self, path: str) -> XcapResponse:
        return await self.request("GET", path)

    async def put(self, path: str, body: bytes, content_type: str, *, if_match: str | None = None) -> XcapResponse:
        condition = ("If-Match", if_match) if if_match else ("If-None-Match", "*")
        return await self.request("PUT", path, body, [("Content-Type", content_type), condition])

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: list[tuple[str, str]] = ()) -> XcapResponse:
        """One request (GET, PUT and DELETE are idempotent): tried again after a 500 or 503, as a server
        whose database was busy answers (the lab's Kamailio on SQLite does, docs/lab.md)."""
        for delay in SERVER_ERROR_RETRIES:
            response = await self._authenticated(method, path, body, headers)
            if response.status not in (500, 503):
                break
            await trio.sleep(delay)
        return response

    async def _authenticated(self, method: str, path: str, body: bytes, headers) -> XcapResponse:
        """The request, with credentials for the last challenge seen. A new challenge is answered once; a
        refusal of credentials made for this very challenge is final, unless its nonce only went stale."""
        fresh = False
        for _ in range(3):
            authorization = self._authorization(method, path, body)
            status, fields, content = await self._exchange(method, path, body, [*headers, *authorization])
            if status != 401:
                return XcapResponse(status, fields.get("etag"), content)
            challenge = self._parse_challenge(fields.get("www-authenticate", ""))
            if authorization and fresh and not challenge.stale:
                return XcapResponse(status)
            self._challenge, fresh = challenge, True
        return XcapResponse(401)

    def _authorization(self, method: str, path: str, body: bytes) -> list[tuple[str, str]]:
        if self._challenge is None:
            return []
        return [("Authorization", self._digest.authorize(self._challenge, method, path, body))]

    @staticmethod
    def _parse_challenge(value: str) -> DigestChallenge:
        try:
            return DigestChallenge.parse(value)
        except RemoteProtocolError as error:
            raise XcapError(f"the XCAP server's challenge is unusable: {error.reason}") from None

    async def _exchange(self, method: str, path: str, body: bytes, headers) -> tuple[int, dict[str, str], bytes]:
        try:
            with trio.fail_after(self.timeout):
                stream = await self._connect()
                async with stream:
                    return await _http(stream, self._request_head(method, path, body, headers), body)
        except (OSError, trio.BrokenResourceError, trio.TooSlowError, h11.ProtocolError, ssl.SSLError) as error:
            raise XcapError(f"the XCAP server at {self.host}:{self.port} failed: {error or type(error).__name__}") \
                from None

    async def _connect(self) -> trio.abc.Stream:
        stream = await trio.open_tcp_stream(self.host, self.port)
        if not self.tls:
            return stream
        return trio.SSLStream(stream, ssl.create_default_context(), server_hostname=self.host)

    def _request_head(self, method: str, path: str, body: bytes, headers) -> h11.Request:
        fields = [("Host", f"{self.host}:{self.port}"), ("Connection", "close"),
                  ("Content-Length", str(len(body))), *headers]
        return h11.Request(method=method, target=path, headers=fields)


async def _http(stream: trio.abc.Stream, head: h11.Request, body: bytes) -> tuple[int, dict[str, str], bytes]:
    connection = h11.Connection(h11.CLIENT)
    await stream.send_all(connection.send(head) + connection.send(h11.Data(data=body))
                          + connection.send(h11.EndOfMessage()))
    status, fields, content = 0, {}, bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
            fields = {name.decode().lower(): value.decode("latin-1") for name, value in event.headers}
        elif isinstance(event, h11.Data):
            content += event.data
            if len(content) > MAX_BODY:
                raise h11.RemoteProtocolError(f"an XCAP document larger than {MAX_BODY} bytes")
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return status, fields, bytes(content)
