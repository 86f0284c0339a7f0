"""Reliable provisional responses (RFC 3262): RSeq and RAck, the UAS sending a 1xx until its
PRACK arrives, and the UAC's in-order check before it sends a PRACK."""

from __future__ import annotations

import secrets

import attrs

from .errors import LocalProtocolError, RemoteProtocolError
from .message import Request, Response
from .retransmission import Retransmission
from .timers import Timer, TimerConfig
from .transaction import Action

__all__ = [
    "RAck",
    "ReliableProvisionalSender",
    "is_reliable_provisional",
    "rseq_of",
]

_MAX_RSEQ = 2**32 - 1


def rseq_of(response: Response) -> int | None:
    """The RSeq of a response (RFC 3262 §7.1), None if absent."""
    value = response.headers.get("RSeq")
    if value is None:
        return None
    if not value.isdecimal() or not 1 <= int(value) <= _MAX_RSEQ:
        raise RemoteProtocolError(f"RSeq {value!r} is not a number in 1..2**32-1", status_hint=None)
    return int(value)


def is_reliable_provisional(response: Response) -> bool:
    """RFC 3262 §4: a 101-199 with ``Require: 100rel`` and an RSeq must be PRACKed."""
    return (
        100 < response.status < 200
        and "100rel" in response.tokens("Require")
        and rseq_of(response) is not None
    )


@attrs.frozen
class RAck:
    """RAck (RFC 3262 §7.2): which reliable provisional response a PRACK acknowledges."""

    rseq: int
    cseq: int
    method: str

    @classmethod
    def for_response(cls, response: Response) -> RAck:
        rseq = rseq_of(response)
        if rseq is None:
            raise LocalProtocolError(f"a {response.status} without RSeq cannot be PRACKed")
        return cls(rseq, response.cseq.seq, response.cseq.method)

    @classmethod
    def parse(cls, text: str) -> RAck:
        fields = text.split()
        if len(fields) != 3 or not (fields[0].isdecimal() and fields[1].isdecimal()):
            raise RemoteProtocolError(f"malformed RAck: {text!r}")
        return cls(int(fields[0]), int(fields[1]), fields[2])

    def __str__(self) -> str:
        return f"{self.rseq} {self.cseq} {self.method}"


@attrs.define
class ReliableProvisionalSender:
    """UAS side for one INVITE: stamps provisional responses with ``Require: 100rel`` and
    RSeq, and resends each until its PRACK (RFC 3262 §3). Only one may be unacknowledged at a
    time. On :class:`~webims.sip.transaction.Timeout` (no PRACK in 64*T1) the TU should
    reject the INVITE with a 5xx."""

    timers: TimerConfig = TimerConfig()
    next_rseq: int = attrs.field(factory=lambda: 1 + secrets.randbelow(2**31 - 1))
    _pending: Response | None = attrs.field(default=None, init=False)
    _sending: Retransmission | None = attrs.field(default=None, init=False)

    @property
    def unacknowledged(self) -> Response | None:
        return self._pending

    def send(self, response: Response) -> list[Action]:
        """Send ``response`` (101-199) reliably."""
        if not 100 < response.status < 200:
            raise LocalProtocolError(f"only 101-199 can be sent reliably, not {response.status}")
        if self._pending is not None:
            raise LocalProtocolError("RFC 3262 §3: the previous reliable 1xx is not PRACKed yet")
        stamped = response.copy()
        if "100rel" not in stamped.tokens("Require"):
            stamped.headers.add("Require", "100rel")
        stamped.headers.set("RSeq", str(self.next_rseq))
        self.next_rseq += 1
        self._pending = stamped
        self._sending = Retransmission(stamped, Timer.RETRANSMIT_1XX, Timer.WAIT_PRACK, self.timers)
        return self._sending.start()

    def matches(self, prack: Request) -> bool:
        """Whether ``prack`` acknowledges the pending response; if not, answer it 481."""
        rack = prack.headers.get("RAck")
        return (
            self._pending is not None
            and rack is not None
            and RAck.parse(rack) == RAck.for_response(self._pending)
        )

    def receive_prack(self, prack: Request) -> list[Action]:
        """Stop resending once a matching PRACK arrives (answer it 200)."""
        if not self.matches(prack):
            return []
        return self._stop()

    def may_send_final(self, status: int) -> bool:
        """RFC 3262 §3: no 2xx while an unacknowledged reliable 1xx carries a session
        description; any other final response may go at once."""
        return not (200 <= status < 300 and self._pending is not None and self._pending.body)

    def final_response_sent(self) -> list[Action]:
        """A final response ends the need to resend provisional ones."""
        return self._stop()

    def timer_fired(self, name: Timer | str) -> list[Action]:
        if self._sending is None:
            return []
        actions = self._sending.timer_fired(name)
        if not self._sending.running:
            self._pending = self._sending = None
        return actions

    def _stop(self) -> list[Action]:
        actions = self._sending.acknowledged() if self._sending else []
        self._pending = self._sending = None
        return actions
