"""A scriptable SIP peer for tests, built on webims' own SIP stack.

    peer = await sip_peer()                       # listening on a free loopback UDP+TCP port
    incoming = await peer.expect("MESSAGE")       # the next request (of that method)
    await incoming.reply(200)
    response = await peer.agent().send(peer.agent().build_request("OPTIONS", target, from_uri=...))

Requests the test does not answer within ``answer_within`` seconds get a 500 from the endpoint, so a test that
forgets to answer fails on its own assertions instead of hanging.
"""

from __future__ import annotations

import math

import attrs
import trio

from webims.ims.agent import Credentials, UserAgent
from webims.ims.endpoint import ServerTransaction, SipEndpoint
from webims.ims.transport import Address, Received, Transports
from webims.sip import Request


@attrs.frozen
class StrayRequest:
    """An ACK for a 2xx (or another request outside any transaction): nothing to answer."""

    request: Request
    source: Address


class SipPeer:
    def __init__(self, answer_within: float = 30):
        self.answer_within = answer_within
        self._send, self._receive = trio.open_memory_channel[ServerTransaction | StrayRequest](math.inf)
        self.endpoint: SipEndpoint | None = None

    @property
    def address(self) -> Address:
        return self.endpoint.transports.local()

    def uri(self, user: str = "peer", transport: str = "UDP") -> str:
        local = self.endpoint.transports.local(transport)
        suffix = "" if transport == "UDP" else f";transport={transport.lower()}"
        return f"sip:{user}@{local.host}:{local.port}{suffix}"

    async def start(self, nursery: trio.Nursery) -> SipPeer:
        transports = await nursery.start(Transports("127.0.0.1", 0).serve)
        self.endpoint = await nursery.start(SipEndpoint(transports, self._on_request, self._on_stray).run)
        return self

    def agent(self, proxy: Address, *, username: str = "peer", password: str = "", domain: str = "ims.test",
              contact_user: str | None = None) -> UserAgent:
        return UserAgent(self.endpoint, proxy, domain, Credentials(username, password, domain),
                         contact_user=contact_user)

    async def expect(self, method: str | None = None, *, timeout: float = 10) -> ServerTransaction | StrayRequest:
        """The next incoming request; requests of other methods on the way are answered 200 and skipped."""
        with trio.fail_after(timeout):
            while True:
                incoming = await self._receive.receive()
                if method is None or incoming.request.method == method:
                    return incoming
                if isinstance(incoming, ServerTransaction):
                    await incoming.reply(200)

    async def _on_request(self, transaction: ServerTransaction) -> None:
        await self._send.send(transaction)
        with trio.move_on_after(self.answer_within):
            await transaction.answered_event.wait()

    async def _on_stray(self, received: Received) -> None:
        if isinstance(received.message, Request):
            await self._send.send(StrayRequest(received.message, received.source))
