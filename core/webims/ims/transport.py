"""SIP transports on trio: UDP, TCP and TLS on one local address, and the single place bytes leave.

Everything protocol-shaped (parsing, framing, keep-alive recognition) is :mod:`webims.sip`; this module only
moves bytes. Received messages come out of one channel tagged with where they came from, so responses can be
routed back symmetrically (RFC 3581) and over the same connection on streams (RFC 3261 §18.2.2).
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Callable

import attrs
import trio

from webims import log
from webims.sip import KeepAlive, Limits, RemoteProtocolError, StreamFramer, parse_message
from webims.sip.message import Message

CONNECT_TIMEOUT = 5.0
# RFC 5626 §4.4.1: a client pings a flow with a double CRLF every 95-120 s by default; we go faster because
# losing the flow means missing incoming calls, and loopback/LAN pings cost nothing.
KEEPALIVE_INTERVAL = 25.0
UDP_RECEIVE_BUFFER = 4 << 20
_log = log.get("sip.transport")


@attrs.frozen
class Address:
    """Where a message came from or goes to. ``transport`` is the Via token: UDP, TCP or TLS."""

    host: str
    port: int
    transport: str = "UDP"

    @property
    def reliable(self) -> bool:
        return self.transport != "UDP"

    def __str__(self) -> str:
        return f"{self.transport.lower()}:{self.host}:{self.port}"


@attrs.frozen
class Received:
    message: Message
    source: Address


class TransportError(Exception):
    """A message could not be sent (no route, connection refused or lost)."""


class Transports:
    """The gateway's SIP sockets. Start with :meth:`serve` in a nursery; read :attr:`incoming`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tls_server: ssl.SSLContext | None = None,
                 tls_client: ssl.SSLContext | None = None, limits: Limits = Limits()):
        """``tls_server`` makes the stream listener TLS (SIPS); ``tls_client`` verifies the TLS peers we connect
        to (the system's trust store by default)."""
        self.host = host
        self.port = port
        self.limits = limits
        self._tls_server = tls_server
        self._tls_client = tls_client
        self._udp: trio.socket.SocketType | None = None
        self._connections: dict[tuple[str, int, str], _Connection] = {}
        self._nursery: trio.Nursery | None = None
        self._incoming_send, self.incoming = trio.open_memory_channel[Received](math.inf)
        self.tcp_port: int | None = None

    def local(self, transport: str = "UDP") -> Address:
        """Our address for a transport: UDP, or the stream listener (TCP, or TLS with ``tls_server``)."""
        port = self.port if transport == "UDP" else self.tcp_port
        return Address(self.host, port, transport)

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self._udp = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        # NOTIFY fan-out arrives in bursts; the default ~208 KiB buffer dropped them (bench/presence.py). The
        # kernel caps this at net.core.rmem_max.
        self._udp.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
        await self._udp.bind((self.host, self.port))
        self.port = self._udp.getsockname()[1]
        # TCP listens on the same port number as UDP when it is free, as SIP endpoints usually do.
        listeners = await _listen_tcp(self.host, self.port)
        self.tcp_port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._read_udp)
            nursery.start_soon(trio.serve_listeners, self._accept_tcp, listeners)
            task_status.started(self)

    async def send(self, message: Message, destination: Address) -> None:
        data = message.to_bytes()
        try:
            if destination.transport == "UDP":
                await self._udp.sendto(data, (destination.host, destination.port))
            else:
                connection = await self._connection_to(destination)
                await connection.send(data)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError) as error:
            raise TransportError(f"cannot send to {destination}: {error}") from None

    # --- UDP ---------------------------------------------------------------------------------------------------

    async def _read_udp(self) -> None:
        while True:
            try:
                data, (host, port) = await self._udp.recvfrom(self.limits.max_message_size + 1)
            except ConnectionResetError:
                continue  # an ICMP port-unreachable for an earlier datagram: not our reader's problem
            if not data.strip(b"\r\n"):
                continue  # a CRLF keep-alive datagram (RFC 5626 §3.5.2 uses STUN, some peers send CRLF)
            self._deliver(data, Address(host, port, "UDP"), lambda: parse_message(data, limits=self.limits))

    def _deliver(self, data: bytes, source: Address, parse: Callable[[], Message]) -> None:
        try:
            message = parse()
        except RemoteProtocolError as error:
            # RFC 3261 §18.3: a malformed message is discarded; there is no reliable way to answer it.
            _log.info("sip.malformed", source=str(source), reason=error.reason, size=len(data))
            return
        self._incoming_send.send_nowait(Received(message, source))

    # --- TCP / TLS ---------------------------------------------------------------------------------------------

    async def _accept_tcp(self, stream: trio.SocketStream) -> None:
        host, port = stream.socket.getpeername()[:2]
        transport = "TCP"
        if self._tls_server is not None:
            stream = trio.SSLStream(stream, self._tls_server, server_side=True)
            transport = "TLS"
        connection = _Connection(stream, Address(host, port, transport), self)
        await connection.run(keepalive=False)

    async def _connection_to(self, destination: Address) -> _Connection:
        key = (destination.host, destination.port, destination.transport)
        connection = self._connections.get(key)
        if connection is not None:
            return connection
        with trio.fail_after(CONNECT_TIMEOUT):
            stream = await trio.open_tcp_stream(destination.host, destination.port)
            if destination.transport == "TLS":
                context = self._tls_client or ssl.create_default_context()
                stream = trio.SSLStream(stream, context, server_hostname=destination.host)
                await stream.do_handshake()
        connection = _Connection(stream, destination, self)
        self._connections[key] = connection
        self._nursery.start_soon(connection.run, True)
        return connection


class _Connection:
    """One TCP/TLS flow: a framer for what comes in, a lock for what goes out, keep-alive pings (RFC 5626)."""

    def __init__(self, stream: trio.abc.Stream, peer: Address, transports: Transports):
        self.stream = stream
        self.peer = peer
        self._transports = transports
        self._framer = StreamFramer(limits=transports.limits)
        self._send_lock = trio.Lock()

    async def send(self, data: bytes) -> None:
        async with self._send_lock:
            await self.stream.send_all(data)

    async def run(self, keepalive: bool) -> None:
        key = (self.peer.host, self.peer.port, self.peer.transport)
        self._transports._connections.setdefault(key, self)
        try:
            async with trio.open_nursery() as nursery:
                if keepalive:
                    nursery.start_soon(self._ping)
                await self._read()
                nursery.cancel_scope.cancel()
        finally:
            if self._transports._connections.get(key) is self:
                del self._transports._connections[key]
            await trio.aclose_forcefully(self.stream)

    async def _read(self) -> None:
        while True:
            try:
                data = await self.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError):
                data = b""
            self._framer.receive_data(data)
            try:
                while (item := self._framer.next_message()) is not None:
                    if isinstance(item, KeepAlive):
                        if item.ping:
                            await self.send(b"\r\n")  # RFC 5626 §3.5.1: answer a ping with a pong
                        continue
                    self._transports._incoming_send.send_nowait(Received(item, self.peer))
            except RemoteProtocolError as error:
                # A stream cannot be resynchronised after a framing error: drop the connection.
                _log.info("sip.stream_broken", peer=str(self.peer), reason=error.reason)
                return
            if not data:
                return

    async def _ping(self) -> None:
        while True:
            await trio.sleep(KEEPALIVE_INTERVAL)
            try:
                await self.send(b"\r\n\r\n")
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                return


async def _listen_tcp(host: str, port: int) -> list[trio.SocketListener]:
    try:
        return await trio.open_tcp_listeners(port, host=host)
    except OSError:
        return await trio.open_tcp_listeners(0, host=host)
