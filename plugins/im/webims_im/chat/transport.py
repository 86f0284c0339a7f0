"""MSRP over TCP on trio: one :class:`Link` per connection, the gateway's listener, and AUTH to a relay.

The trio layer only moves bytes: frames come out of :class:`~webims_im.msrp.FrameReader`, and everything a
session wants written goes through :meth:`Link.send` (one writer at a time, so frames never interleave).
"""

from __future__ import annotations

import secrets
import trio

from webims_im.msrp import (
    FrameReader,
    Granted,
    MsrpUri,
    RelayAuthorization,
    RelayRefused,
    RemoteProtocolError,
    Request,
    Response,
)

RELAY_TIMEOUT = 10


class LinkClosed(Exception):
    """The connection is gone (closed, reset, or the peer broke MSRP framing); ``reason`` says which."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class Link:
    def __init__(self, stream: trio.SocketStream, max_frame_bytes: int):
        self.stream = stream
        self.reader = FrameReader(max_frame_bytes)
        self._send_lock = trio.Lock()

    @property
    def local_address(self) -> tuple[str, int]:
        host, port = self.stream.socket.getsockname()[:2]
        return host, port

    async def send(self, data: bytes) -> None:
        async with self._send_lock:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
                raise LinkClosed(f"sending failed: {error}") from None

    async def receive_frame(self) -> Request | Response:
        """The next frame; :class:`LinkClosed` when the connection ends or the peer breaks framing."""
        while True:
            try:
                frame = self.reader.next_frame()
                if frame is not None:
                    return frame
                data = await self.stream.receive_some(65536)
            except RemoteProtocolError as error:
                raise LinkClosed(f"the other side broke MSRP framing ({error.reason})") from None
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as error:
                raise LinkClosed(f"the connection failed ({error})") from None
            if not data:
                cut = " in the middle of a message" if self.reader.pending else ""
                raise LinkClosed(f"the other side closed the connection{cut}")
            self.reader.receive_data(data)

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)


def own_uri(host: str, port: int) -> MsrpUri:
    # §6: the session-id is random enough that nobody can guess their way into a session.
    return MsrpUri(host, port, secrets.token_urlsafe(12))


async def connect(uri: MsrpUri, max_frame_bytes: int) -> Link:
    host, port = uri.address
    try:
        stream = await trio.open_tcp_stream(host, port)
    except OSError as error:
        raise LinkClosed(f"cannot connect to {host}:{port} ({error.strerror or error})") from None
    return Link(stream, max_frame_bytes)


async def authenticate(link: Link, relay: MsrpUri, local: MsrpUri, username: str, password: str) -> Granted:
    """RFC 4976 §5: AUTH until the relay grants a Use-Path; :class:`RelayRefused` if it will not."""
    auth = RelayAuthorization(relay, local, username, password)
    request = auth.first_request()
    with trio.move_on_after(RELAY_TIMEOUT):
        await link.send(request.to_bytes())
        while True:
            frame = await link.receive_frame()
            if not isinstance(frame, Response) or frame.transaction_id != request.transaction_id:
                continue
            outcome = auth.receive(frame)
            if isinstance(outcome, Granted):
                return outcome
            request = outcome
            await link.send(request.to_bytes())
    raise RelayRefused(f"the relay did not answer AUTH within {RELAY_TIMEOUT} s")
