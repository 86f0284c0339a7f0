"""The SIP endpoint: carries out what the sans-IO transactions ask for, and runs their timers in one task.

Transactions (``webims.sip.transaction*``) return actions; :meth:`SipEndpoint._apply` is the one interpreter of
them: ``Send`` goes to the transports, ``StartTimer``/``StopTimer`` to the timer heap, ``Deliver``/``Timeout``
to whoever waits on the transaction. Requests that start a new server transaction go to ``on_request`` in a
task of their own; what no transaction claims (an ACK for a 2xx, a retransmitted 2xx) goes to ``on_stray``.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Awaitable, Callable

import trio

from webims import log
from webims.ims.transport import Address, Received, TransportError, Transports
from webims.sip import RemoteProtocolError, Request, Response, make_response
from webims.sip.timers import TimerConfig
from webims.sip.transaction import (
    Deliver,
    Send,
    StartTimer,
    StopTimer,
    Terminated,
    Timeout,
    Transaction,
    TransactionTable,
)
from webims.sip.transaction_client import InviteClientTransaction, NonInviteClientTransaction
from webims.sip.transaction_server import InviteServerTransaction, NonInviteServerTransaction

_log = log.get("sip.endpoint")


class ClientTransaction:
    """A request in flight. Iterate :meth:`responses` or await :meth:`final_response`."""

    def __init__(self, transaction: Transaction, destination: Address):
        self.transaction = transaction
        self.request: Request = transaction.request
        self.destination = destination
        self._send, self._receive = trio.open_memory_channel[Response](math.inf)
        self.finished = False  # its final response went up; later 2xx (RFC 6026 Accepted) are the UA core's

    async def responses(self):
        """Every response, provisional ones first; ends after the final one."""
        async for response in self._receive:
            yield response
            if response.status >= 200:
                return

    async def final_response(self, on_provisional: Callable[[Response], None] | None = None) -> Response:
        async for response in self.responses():
            if response.status >= 200:
                return response
            if on_provisional:
                on_provisional(response)
        raise AssertionError("a client transaction always ends with a final response")

    def _deliver(self, response: Response) -> None:
        self.finished |= response.status >= 200
        self._send.send_nowait(response)

    def _fail(self, status: int, reason: str) -> None:
        # RFC 3261 §8.1.3.1: a timeout is reported to the TU as a 408, a transport failure as a 503.
        self._send.send_nowait(make_response(self.request, status, reason))


class ServerTransaction:
    """An incoming request awaiting our answer. :meth:`respond` may be called for 1xx and then the final."""

    def __init__(self, endpoint: SipEndpoint, transaction: Transaction, source: Address):
        self.endpoint = endpoint
        self.transaction = transaction
        self.request: Request = transaction.request
        self.source = source
        self.cancelled = trio.Event()
        self.answered_event = trio.Event()

    @property
    def answered(self) -> bool:
        return self.answered_event.is_set()

    async def respond(self, response: Response) -> None:
        if response.status >= 200:
            self.answered_event.set()
        await self.endpoint._apply(self.transaction, self.transaction.send_response(response), self.source)

    async def reply(self, status: int, reason: str | None = None, **kwargs) -> Response:
        response = make_response(self.request, status, reason, **kwargs)
        await self.respond(response)
        return response


RequestHandler = Callable[[ServerTransaction], Awaitable[None]]
StrayHandler = Callable[[Received], Awaitable[None]]


class SipEndpoint:
    def __init__(self, transports: Transports, on_request: RequestHandler, on_stray: StrayHandler | None = None,
                 *, timers: TimerConfig = TimerConfig()):
        self.transports = transports
        self.timer_config = timers
        self._on_request = on_request
        self._on_stray = on_stray
        self._table = TransactionTable()
        self._owners: dict[int, ClientTransaction | ServerTransaction] = {}
        self._heap: list[tuple[float, int, Transaction, str, Address]] = []
        self._armed: dict[tuple[int, str], int] = {}
        self._timer_names: dict[int, set[str]] = {}  # transaction -> names it armed, so ending one is cheap
        self._sequence = itertools.count()
        self._wake = trio.Event()
        self._nursery: trio.Nursery | None = None

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._read)
            nursery.start_soon(self._run_timers)
            task_status.started(self)

    # --- sending -----------------------------------------------------------------------------------------------

    async def request(self, request: Request, destination: Address) -> ClientTransaction:
        """Start a client transaction; responses arrive on the returned handle."""
        kind = InviteClientTransaction if request.method == "INVITE" else NonInviteClientTransaction
        transaction = kind(request, destination.reliable, self.timer_config)
        handle = ClientTransaction(transaction, destination)
        self._table.add(transaction)
        self._owners[id(transaction)] = handle
        await self._apply(transaction, transaction.start(), destination)
        return handle

    async def send_stateless(self, message: Request | Response, destination: Address) -> None:
        """Send outside any transaction: an ACK for a 2xx, a 2xx retransmission (RFC 3261 §13.3.1.4)."""
        try:
            await self.transports.send(message, destination)
        except TransportError as error:
            _log.info("sip.send_failed", destination=str(destination), reason=str(error))

    # --- receiving ---------------------------------------------------------------------------------------------

    async def _read(self) -> None:
        async for received in self.transports.incoming:
            await self._receive(received)

    async def _receive(self, received: Received) -> None:
        message = received.message
        try:
            # The parser checks framing and the transaction fields; addresses are parsed on first read.
            message.from_, message.to, message.contacts
        except RemoteProtocolError as error:
            _log.info("sip.malformed", source=str(received.source), reason=error.reason)
            if isinstance(message, Request) and message.method != "ACK":
                await self.send_stateless(make_response(message, 400, f"Bad Request ({error.reason})"[:120]),
                                          received.source)
            return
        routed = self._table.route(message)
        if routed is not None:
            transaction, actions = routed
            await self._apply(transaction, actions, received.source)
            return
        if isinstance(message, Response) or message.method == "ACK":
            if self._on_stray is not None:
                self._nursery.start_soon(self._on_stray, received)
            return
        if message.method == "CANCEL":
            await self._cancel(message, received.source)
            return
        kind = InviteServerTransaction if message.method == "INVITE" else NonInviteServerTransaction
        transaction = kind(message, received.source.reliable, self.timer_config)
        handle = ServerTransaction(self, transaction, received.source)
        self._table.add(transaction)
        self._owners[id(transaction)] = handle
        await self._apply(transaction, transaction.start(), received.source)
        self._nursery.start_soon(self._serve, handle)

    async def _serve(self, handle: ServerTransaction) -> None:
        try:
            await self._on_request(handle)
        except Exception:
            _log.exception("sip.handler_failed", method=handle.request.method, call_id=handle.request.call_id)
        if not handle.answered:
            await handle.reply(500, "Server Internal Error",
                               headers=[("Warning", '399 webims "the request was not answered"')])

    async def _cancel(self, cancel: Request, source: Address) -> None:
        # RFC 3261 §9.2: answer the CANCEL itself, then let the INVITE's owner send 487.
        transaction = NonInviteServerTransaction(cancel, source.reliable, self.timer_config)
        self._table.add(transaction)
        await self._apply(transaction, transaction.start(), source)
        target = self._table.find_cancelled(cancel)
        owner = self._owners.get(id(target)) if target is not None else None
        if isinstance(owner, ServerTransaction) and not owner.answered:
            await self._apply(transaction, transaction.send_response(make_response(cancel, 200)), source)
            owner.cancelled.set()
        else:
            await self._apply(transaction, transaction.send_response(make_response(cancel, 481)), source)

    # --- the action interpreter and timers ---------------------------------------------------------------------

    async def _apply(self, transaction: Transaction, actions: list, destination: Address) -> None:
        owner = self._owners.get(id(transaction))
        for action in actions:
            if isinstance(action, Send):
                try:
                    await self.transports.send(action.message, destination)
                except TransportError as error:
                    _log.info("sip.send_failed", destination=str(destination), reason=str(error))
                    await self._apply(transaction, transaction.transport_error(), destination)
                    return
            elif isinstance(action, StartTimer):
                self._arm(transaction, str(action.name), action.seconds, destination)
            elif isinstance(action, StopTimer):
                self._armed.pop((id(transaction), str(action.name)), None)
            elif isinstance(action, Deliver) and isinstance(owner, ClientTransaction):
                if owner.finished and self._on_stray is not None:
                    # RFC 6026 §8.4: a 2xx after the first (retransmitted, or from another fork) goes to the UA
                    # core, which ACKs it (§13.2.2.4): the dialog's owner, as for a 2xx after Timer M.
                    self._nursery.start_soon(self._on_stray, Received(action.message, destination))
                else:
                    owner._deliver(action.message)
            elif isinstance(action, Timeout) and isinstance(owner, ClientTransaction):
                owner._fail(408, "Request Timeout (no answer from the IMS core)")
            elif isinstance(action, Terminated):
                self._forget(transaction, owner, action)

    def _forget(self, transaction: Transaction, owner, action: Terminated) -> None:
        self._table.discard(transaction)
        self._owners.pop(id(transaction), None)
        for name in self._timer_names.pop(id(transaction), ()):
            self._armed.pop((id(transaction), name), None)
        if isinstance(owner, ClientTransaction) and action.reason == "transport-error":
            owner._fail(503, "Service Unavailable (the IMS core cannot be reached)")

    def _arm(self, transaction: Transaction, name: str, seconds: float, destination: Address) -> None:
        sequence = next(self._sequence)
        self._armed[(id(transaction), name)] = sequence
        self._timer_names.setdefault(id(transaction), set()).add(name)
        heapq.heappush(self._heap, (trio.current_time() + seconds, sequence, transaction, name, destination))
        self._wake.set()

    async def _run_timers(self) -> None:
        while True:
            deadline = self._heap[0][0] if self._heap else math.inf
            with trio.move_on_at(deadline):
                await self._wake.wait()
                self._wake = trio.Event()
                continue
            _, sequence, transaction, name, destination = heapq.heappop(self._heap)
            if self._armed.get((id(transaction), name)) != sequence:
                continue  # stopped or re-armed since: a stale entry
            del self._armed[(id(transaction), name)]
            await self._apply(transaction, transaction.timer_fired(name), destination)
