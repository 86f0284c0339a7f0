"""A stream wrapper for handing an HTTP connection over to the WebSocket layer.

The HTTP front end has already read the upgrade request (to route it and check its Origin), but trio-websocket
wants to read the handshake itself. :class:`HandoverStream` replays the bytes read so far, then reads on from the
socket. Its ``aclose`` lingers: it half-closes and drains what the peer is still sending before closing, so that
a close frame we sent (1009 after an oversized message, say) reaches the browser instead of being wiped out by
the TCP reset a kernel sends when unread data is discarded.
"""

from __future__ import annotations

import trio

LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 64 << 20


class HandoverStream(trio.abc.Stream):
    def __init__(self, stream: trio.abc.Stream, already_read: bytes):
        self._stream = stream
        self._replay = already_read
        self._closed = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._replay:
            size = len(self._replay) if max_bytes is None else max_bytes
            data, self._replay = self._replay[:size], self._replay[size:]
            return data
        return await self._stream.receive_some(max_bytes)

    async def send_all(self, data) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Not shielded: when the gateway is being cancelled there is nobody to linger for.
        with trio.move_on_after(LINGER_SECONDS):
            try:
                if hasattr(self._stream, "send_eof"):
                    await self._stream.send_eof()
                drained = 0
                while drained < LINGER_MAX_BYTES:
                    data = await self._stream.receive_some(65536)
                    if not data:
                        break
                    drained += len(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, trio.BusyResourceError, OSError):
                pass
        await trio.aclose_forcefully(self._stream)
