"""SIP transactions (RFC 3261 §17, corrected by RFC 6026): what they have in common.

A transaction is a sans-IO state machine. Its owner feeds it inputs (``start()``, a received
message, a response from the TU, ``timer_fired(name)``, ``transport_error()``) and gets back
a list of actions to carry out, in order:

* :class:`Send` a message to the peer (first transmission or retransmission);
* :class:`StartTimer` / :class:`StopTimer` (restarting a running timer replaces it);
* :class:`Deliver` a message to the transaction user (TU);
* :class:`Timeout`, the TU's "408" when a client transaction gets no final response;
* :class:`Terminated`, always last: forget this transaction and its timers.

Each kind of transaction is one table, ``state -> input -> (next state, effects)``, in
``transaction_client`` and ``transaction_server``; :class:`Transaction` here interprets
effects. A pair absent from a table is absorbed: that is how §17 treats late
retransmissions and stray timers.

This module also holds the matching rules (§17.1.3, §17.2.3, §9.2) and
:class:`TransactionTable`, which routes received messages to transactions.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import ClassVar

import attrs

from .errors import LocalProtocolError
from .headers import Headers
from .message import BRANCH_MAGIC_COOKIE, Message, Request, Response
from .timers import Timer, TimerConfig

__all__ = [
    "Action",
    "ClientKey",
    "Deliver",
    "Send",
    "ServerKey",
    "StartTimer",
    "TransactionState",
    "StopTimer",
    "Terminated",
    "TerminationReason",
    "Timeout",
    "Transaction",
    "TransactionTable",
    "client_key",
    "make_cancel",
    "server_key",
    "cancel_target_key",
]


# --- actions --------------------------------------------------------------------------------


@attrs.frozen
class Send:
    message: Message


@attrs.frozen
class StartTimer:
    name: Timer
    seconds: float


@attrs.frozen
class StopTimer:
    name: Timer


@attrs.frozen
class Deliver:
    message: Message


@attrs.frozen
class Timeout:
    """No final response arrived in time; the TU acts as on a 408 (RFC 3261 §8.1.3.1)."""


class TerminationReason(enum.StrEnum):
    COMPLETED = "completed"
    TIMEOUT = "timeout"  # Timer B, F or H (for H: the ACK never came, §17.2.1)
    TRANSPORT_ERROR = "transport-error"  # §17.1.1.2, §17.2.1: inform the TU


@attrs.frozen
class Terminated:
    reason: TerminationReason


Action = Send | StartTimer | StopTimer | Deliver | Timeout | Terminated


# --- the table machinery ----------------------------------------------------------------------


class TransactionState(enum.Enum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    ACCEPTED = "Accepted"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    TERMINATED = "Terminated"


class Event(enum.Enum):
    """Inputs other than timers. For a client the responses come from the network, for a
    server from the TU; REQUEST and ACK are requests the server receives."""

    START = enum.auto()
    REQUEST = enum.auto()
    ACK = enum.auto()
    PROVISIONAL = enum.auto()
    SUCCESS = enum.auto()
    FAILURE = enum.auto()
    TRANSPORT_ERROR = enum.auto()


class Do(enum.Enum):
    """Effects named in the tables; a :class:`Timer` there means "start that timer"."""

    SEND_REQUEST = enum.auto()  # (client) transmit or retransmit the request
    SEND_ACK = enum.auto()  # (INVITE client) ACK the non-2xx just received, §17.1.1.3
    SEND_RESPONSE = enum.auto()  # (server) the response the TU just passed
    RESEND_RESPONSE = enum.auto()  # (server) the latest response, again
    SEND_TRYING = enum.auto()  # (INVITE server) 100 Trying for the TU, §17.2.1
    DELIVER = enum.auto()  # pass the input message to the TU
    TIMEOUT = enum.auto()  # tell the TU no final response came
    STOP_TIMERS = enum.auto()  # stop every running timer
    BACKOFF = enum.auto()  # restart the timer that fired, interval doubled (capped)
    RETRY_AT_T2 = enum.auto()  # restart Timer E at T2 (§17.1.2.2, Proceeding)


Input = Event | Timer
Effect = Do | Timer
Table = Mapping[TransactionState, Mapping[Input, tuple[TransactionState, tuple[Effect, ...]]]]

_TIMEOUT_TIMERS = frozenset({Timer.B, Timer.F, Timer.H})


def classify_response(response: Response) -> Event:
    if response.status < 200:
        return Event.PROVISIONAL
    return Event.SUCCESS if response.status < 300 else Event.FAILURE


@attrs.define
class Transaction:
    """The interpreter shared by the four transaction kinds. Subclasses give ``TABLE``, the
    ``INITIAL`` state and the sending effects (``_perform_send``)."""

    TABLE: ClassVar[Table]
    INITIAL: ClassVar[TransactionState]

    request: Request
    reliable: bool
    timers: TimerConfig = TimerConfig()
    state: TransactionState = attrs.field(init=False)
    _running: dict[Timer, float] = attrs.field(factory=dict, init=False)  # timer -> interval
    _intervals: dict[Timer, float] = attrs.field(factory=dict, init=False)  # last interval
    _due_now: list[Timer] = attrs.field(factory=list, init=False)

    def __attrs_post_init__(self) -> None:
        self.state = self.INITIAL

    @property
    def key(self) -> ClientKey | ServerKey:
        raise NotImplementedError

    def start(self) -> list[Action]:
        return self._step(Event.START, self.request)

    def receive(self, message: Message) -> list[Action]:
        """A message from the network that matched this transaction."""
        raise NotImplementedError

    def timer_fired(self, name: Timer | str) -> list[Action]:
        timer = Timer(name)
        if self._running.pop(timer, None) is None:
            return []  # stopped or already fired: a stale callback
        return self._step(timer, None)

    def transport_error(self) -> list[Action]:
        return self._step(Event.TRANSPORT_ERROR, None)

    @property
    def terminated(self) -> bool:
        return self.state is TransactionState.TERMINATED

    def _step(self, event: Input, message: Message | None) -> list[Action]:
        transition = self.TABLE.get(self.state, {}).get(event)
        if transition is None:
            return []
        self.state, effects = transition
        actions: list[Action] = []
        for effect in effects:
            actions += self._perform(effect, event, message)
        if self.state is TransactionState.TERMINATED:
            self._due_now.clear()
            return actions + self._stop_timers() + [Terminated(_reason(event))]
        while self._due_now:
            actions += self._step(self._due_now.pop(0), None)
        return actions

    def _perform(self, effect: Effect, event: Input, message: Message | None) -> list[Action]:
        if isinstance(effect, Timer):
            return self._start_timer(effect, self.timers.initial(effect, reliable=self.reliable))
        match effect:
            case Do.STOP_TIMERS:
                return self._stop_timers()
            case Do.BACKOFF:
                assert isinstance(event, Timer)
                return self._start_timer(event, self.timers.backoff(event, self._intervals[event]))
            case Do.RETRY_AT_T2:
                return self._start_timer(Timer.E, self.timers.t2)
            case Do.DELIVER:
                assert message is not None
                return [Deliver(message)]
            case Do.TIMEOUT:
                return [Timeout()]
        return self._perform_send(effect, message)

    def _perform_send(self, effect: Do, message: Message | None) -> list[Action]:
        raise NotImplementedError

    def _start_timer(self, timer: Timer, seconds: float | None) -> list[Action]:
        if seconds is None:
            return []  # a retransmit timer, not run over a reliable transport
        if seconds == 0:
            self._due_now.append(timer)  # table 4's "0s": fires within this same input
            return []
        self._running[timer] = self._intervals[timer] = seconds
        return [StartTimer(timer, seconds)]

    def _stop_timers(self) -> list[Action]:
        stopped: list[Action] = [StopTimer(timer) for timer in self._running]
        self._running.clear()
        return stopped


def _reason(event: Input) -> TerminationReason:
    if event is Event.TRANSPORT_ERROR:
        return TerminationReason.TRANSPORT_ERROR
    if event in _TIMEOUT_TIMERS:
        return TerminationReason.TIMEOUT
    return TerminationReason.COMPLETED


# --- matching (§17.1.3, §17.2.3, §9.2) -------------------------------------------------------


@attrs.frozen
class ClientKey:
    """§17.1.3: a response belongs to the client transaction whose request had the same top
    Via branch and CSeq method (so a CANCEL, same branch as its INVITE, has its own)."""

    branch: str
    method: str


@attrs.frozen
class ServerKey:
    """§17.2.3: a request belongs to the server transaction with the same top Via branch,
    sent-by and method, ACK counting as INVITE. ``legacy`` carries the RFC 2543 fallback
    fields when the branch lacks the magic cookie."""

    branch: str | None
    sent_by: tuple[str, int | None]
    method: str
    legacy: tuple[object, ...] = ()


def client_key(message: Message) -> ClientKey:
    return ClientKey(message.branch or "", message.cseq.method)


def server_key(request: Request, *, method: str | None = None) -> ServerKey:
    """The key of the server transaction ``request`` creates or belongs to.

    For an RFC 2543 peer (no magic cookie) §17.2.3 compares Request-URI, From tag, Call-ID,
    CSeq number and top Via; we leave out its To-tag test for ACKs, which only matters when
    one INVITE was answered with several final responses.
    """
    via = request.top_via
    method = method or ("INVITE" if request.method == "ACK" else request.method)
    sent_by = (via.host.lower(), via.port)
    branch = via.branch
    if branch is not None and branch.startswith(BRANCH_MAGIC_COOKIE):
        return ServerKey(branch, sent_by, method)
    legacy = (str(request.uri), request.from_tag, request.call_id, request.cseq.seq, str(via))
    return ServerKey(None, sent_by, method, legacy)


def cancel_target_key(cancel: Request) -> ServerKey:
    """§9.2: a CANCEL is matched to the INVITE server transaction it cancels by the rules
    of §17.2.3 with its method taken as INVITE."""
    return server_key(cancel, method="INVITE")


def make_cancel(invite: Request) -> Request:
    """A CANCEL for ``invite`` (§9.1): same Request-URI, Call-ID, From, To and CSeq number,
    only the INVITE's top Via (same branch), its Route set, and no body."""
    headers = Headers([("Via", invite.headers.get_all("Via")[0]), ("Max-Forwards", "70")])
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    for name in ("From", "To", "Call-ID"):
        headers.add(name, invite.headers.get(name) or "")
    headers.add("CSeq", f"{invite.cseq.seq} CANCEL")
    return Request("CANCEL", invite.uri, headers)


@attrs.define
class TransactionTable:
    """The live transactions of one SIP endpoint, by key.

    :meth:`route` hands a received message to its transaction. ``None`` means no match and
    the core decides: a new request gets a server transaction, an ACK for a 2xx goes to its
    dialog, a 2xx retransmission after Timer M goes to the dialog to re-ACK (RFC 6026 §7.2),
    any other response is dropped (§18.1.2).
    """

    _by_key: dict[ClientKey | ServerKey, Transaction] = attrs.field(factory=dict, init=False)

    def add(self, transaction: Transaction) -> None:
        if transaction.key in self._by_key:
            raise LocalProtocolError(f"a transaction with key {transaction.key} already exists")
        self._by_key[transaction.key] = transaction

    def discard(self, transaction: Transaction) -> None:
        if self._by_key.get(transaction.key) is transaction:
            del self._by_key[transaction.key]

    def find(self, message: Message) -> Transaction | None:
        if isinstance(message, Response):
            return self._by_key.get(client_key(message))
        return self._by_key.get(server_key(message))

    def find_cancelled(self, cancel: Request) -> Transaction | None:
        """The INVITE server transaction that ``cancel`` targets, if it is still live."""
        return self._by_key.get(cancel_target_key(cancel))

    def route(self, message: Message) -> tuple[Transaction, list[Action]] | None:
        """Feed ``message`` to its transaction; drop the transaction once terminated."""
        transaction = self.find(message)
        if transaction is None:
            return None
        actions = transaction.receive(message)
        if transaction.terminated:
            self.discard(transaction)
        return transaction, actions

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, transaction: object) -> bool:
        if not isinstance(transaction, Transaction):
            return False
        return self._by_key.get(transaction.key) is transaction
