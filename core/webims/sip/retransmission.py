"""End-to-end reliability a UA core provides itself, outside transactions (RFC 3261 §13.3.1.4,
§13.2.2.4; RFC 6026 §7.1): the UAS resends its 2xx until the ACK comes, the UAC answers
every 2xx retransmission with the same ACK.

Sans-IO like the transactions: inputs in, :mod:`webims.sip.transaction` actions out.
"""

from __future__ import annotations

import attrs

from .message import Message, Request, Response
from .timers import Timer, TimerConfig
from .transaction import (
    Action,
    Deliver,
    Send,
    StartTimer,
    StopTimer,
    Terminated,
    TerminationReason,
    Timeout,
)

__all__ = ["AckRepeater", "Retransmission", "SuccessRetransmitter"]


@attrs.define
class Retransmission:
    """Send ``message`` now and again on ``retransmit`` (T1, doubling per
    :meth:`TimerConfig.backoff`) until acknowledged, giving up on ``give_up`` (64*T1) with
    :class:`Timeout`. These timers run whatever the transport: the hops beyond the first
    may be UDP (§13.3.1.4)."""

    message: Message
    retransmit: Timer
    give_up: Timer
    timers: TimerConfig = TimerConfig()
    _interval: float | None = attrs.field(default=None, init=False)

    @property
    def running(self) -> bool:
        return self._interval is not None

    def start(self) -> list[Action]:
        self._interval = self.timers.initial(self.retransmit, reliable=False)
        give_up = self.timers.initial(self.give_up, reliable=False)
        assert self._interval is not None and give_up is not None
        return [
            Send(self.message),
            StartTimer(self.retransmit, self._interval),
            StartTimer(self.give_up, give_up),
        ]

    def acknowledged(self) -> list[Action]:
        """Stop: the peer has the message."""
        if not self.running:
            return []
        self._interval = None
        return [StopTimer(self.retransmit), StopTimer(self.give_up)]

    def timer_fired(self, name: Timer | str) -> list[Action]:
        if self._interval is None:
            return []
        if Timer(name) is self.retransmit:
            self._interval = self.timers.backoff(self.retransmit, self._interval)
            return [Send(self.message), StartTimer(self.retransmit, self._interval)]
        if Timer(name) is self.give_up:
            self._interval = None
            return [StopTimer(self.retransmit), Timeout(), Terminated(TerminationReason.TIMEOUT)]
        return []


@attrs.define
class SuccessRetransmitter:
    """UAS: a 2xx to an INVITE, resent until its ACK arrives (§13.3.1.4). On
    :class:`Timeout` the dialog is confirmed but the session should end with a BYE."""

    response: Response
    timers: TimerConfig = TimerConfig()
    _sending: Retransmission = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._sending = Retransmission(
            self.response, Timer.RETRANSMIT_2XX, Timer.WAIT_ACK, self.timers
        )

    def start(self) -> list[Action]:
        return self._sending.start()

    def receive_ack(self, ack: Request) -> list[Action]:
        """An ACK in this dialog: it acknowledges our 2xx when the CSeq numbers match
        (§13.2.2.4). The ACK goes to the TU, since it may carry the SDP answer."""
        if ack.cseq.seq != self.response.cseq.seq or not self._sending.running:
            return []
        stop = self._sending.acknowledged()
        return [*stop, Deliver(ack), Terminated(TerminationReason.COMPLETED)]

    def timer_fired(self, name: Timer | str) -> list[Action]:
        return self._sending.timer_fired(name)


@attrs.define
class AckRepeater:
    """UAC: the ACK for one 2xx, sent again for each retransmission of that 2xx (§13.2.2.4)
    until 64*T1 have passed, after which the UAS has given up retransmitting anyway."""

    ack: Request
    timers: TimerConfig = TimerConfig()
    done: bool = attrs.field(default=False, init=False)

    def start(self) -> list[Action]:
        keep = self.timers.initial(Timer.KEEP_ACK, reliable=False)
        assert keep is not None
        return [Send(self.ack), StartTimer(Timer.KEEP_ACK, keep)]

    def receive_2xx(self, response: Response) -> list[Action]:
        """A 2xx retransmission: answered when it is from this ACK's dialog and INVITE."""
        same_invite = response.cseq.seq == self.ack.cseq.seq and response.cseq.method == "INVITE"
        if self.done or not same_invite or response.to_tag != self.ack.to_tag:
            return []
        return [Send(self.ack)]

    def timer_fired(self, name: Timer | str) -> list[Action]:
        if self.done or Timer(name) is not Timer.KEEP_ACK:
            return []
        self.done = True
        return [Terminated(TerminationReason.COMPLETED)]
