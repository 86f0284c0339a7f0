"""Client transactions: INVITE (RFC 3261 §17.1.1 with RFC 6026's Accepted state) and
non-INVITE (§17.1.2). The tables read as the figures 5 and 6 of RFC 3261."""

from __future__ import annotations

from typing import ClassVar

import attrs

from .errors import LocalProtocolError
from .headers import Headers
from .message import Message, Request, Response
from .timers import Timer
from .transaction import (
    Action,
    ClientKey,
    Do,
    Event,
    Send,
    TransactionState,
    Table,
    Transaction,
    classify_response,
    client_key,
)

__all__ = ["InviteClientTransaction", "NonInviteClientTransaction", "make_non_2xx_ack"]

_S = TransactionState
CALLING, TRYING, PROCEEDING = _S.CALLING, _S.TRYING, _S.PROCEEDING
ACCEPTED, COMPLETED, TERMINATED = _S.ACCEPTED, _S.COMPLETED, _S.TERMINATED
START, PROVISIONAL, SUCCESS = Event.START, Event.PROVISIONAL, Event.SUCCESS
FAILURE, TRANSPORT_ERROR = Event.FAILURE, Event.TRANSPORT_ERROR
SEND_REQUEST, SEND_ACK, DELIVER = Do.SEND_REQUEST, Do.SEND_ACK, Do.DELIVER
STOP_TIMERS, BACKOFF, TIMEOUT, RETRY_AT_T2 = Do.STOP_TIMERS, Do.BACKOFF, Do.TIMEOUT, Do.RETRY_AT_T2

# fmt: off
INVITE_CLIENT: Table = {
    CALLING: {
        START:           (CALLING,    (SEND_REQUEST, Timer.A, Timer.B)),
        Timer.A:         (CALLING,    (SEND_REQUEST, BACKOFF)),
        Timer.B:         (TERMINATED, (TIMEOUT,)),
        PROVISIONAL:     (PROCEEDING, (STOP_TIMERS, DELIVER)),
        SUCCESS:         (ACCEPTED,   (STOP_TIMERS, DELIVER, Timer.M)),
        FAILURE:         (COMPLETED,  (STOP_TIMERS, SEND_ACK, DELIVER, Timer.D)),
        TRANSPORT_ERROR: (TERMINATED, ()),
    },
    PROCEEDING: {
        PROVISIONAL:     (PROCEEDING, (DELIVER,)),
        SUCCESS:         (ACCEPTED,   (DELIVER, Timer.M)),
        FAILURE:         (COMPLETED,  (SEND_ACK, DELIVER, Timer.D)),
    },
    ACCEPTED: {  # RFC 6026 §8.4: every 2xx (retransmitted or forked) goes up to be ACKed
        SUCCESS:         (ACCEPTED,   (DELIVER,)),
        Timer.M:         (TERMINATED, ()),
    },
    COMPLETED: {  # a retransmitted final response means our ACK was lost
        FAILURE:         (COMPLETED,  (SEND_ACK,)),
        Timer.D:         (TERMINATED, ()),
        TRANSPORT_ERROR: (TERMINATED, ()),
    },
}

NON_INVITE_CLIENT: Table = {
    TRYING: {
        START:           (TRYING,     (SEND_REQUEST, Timer.E, Timer.F)),
        Timer.E:         (TRYING,     (SEND_REQUEST, BACKOFF)),
        Timer.F:         (TERMINATED, (TIMEOUT,)),
        PROVISIONAL:     (PROCEEDING, (DELIVER,)),
        SUCCESS:         (COMPLETED,  (STOP_TIMERS, DELIVER, Timer.K)),
        FAILURE:         (COMPLETED,  (STOP_TIMERS, DELIVER, Timer.K)),
        TRANSPORT_ERROR: (TERMINATED, ()),
    },
    PROCEEDING: {
        Timer.E:         (PROCEEDING, (SEND_REQUEST, RETRY_AT_T2)),
        Timer.F:         (TERMINATED, (TIMEOUT,)),
        PROVISIONAL:     (PROCEEDING, (DELIVER,)),
        SUCCESS:         (COMPLETED,  (STOP_TIMERS, DELIVER, Timer.K)),
        FAILURE:         (COMPLETED,  (STOP_TIMERS, DELIVER, Timer.K)),
        TRANSPORT_ERROR: (TERMINATED, ()),
    },
    COMPLETED: {  # response retransmissions are absorbed
        Timer.K:         (TERMINATED, ()),
    },
}
# fmt: on


@attrs.define
class _ClientTransaction(Transaction):
    @property
    def key(self) -> ClientKey:
        return client_key(self.request)

    def receive(self, message: Message) -> list[Action]:
        if not isinstance(message, Response):
            raise LocalProtocolError(f"a client transaction gets responses, not {message.method}")
        return self._step(classify_response(message), message)


@attrs.define
class InviteClientTransaction(_ClientTransaction):
    """Sends an INVITE and collects its responses. A non-2xx final response is ACKed here
    (§17.1.1.3); a 2xx is delivered and ACKed by the TU through the dialog (§13.2.2.4)."""

    TABLE: ClassVar[Table] = INVITE_CLIENT
    INITIAL: ClassVar[TransactionState] = CALLING

    @property
    def cancellable(self) -> bool:
        """§9.1: a CANCEL may only be sent once a provisional response has arrived."""
        return self.state is PROCEEDING

    def _perform_send(self, effect: Do, message: Message | None) -> list[Action]:
        if effect is SEND_REQUEST:
            return [Send(self.request)]
        assert effect is SEND_ACK and isinstance(message, Response)
        return [Send(make_non_2xx_ack(self.request, message))]


@attrs.define
class NonInviteClientTransaction(_ClientTransaction):
    """Sends any request but INVITE and ACK (which has no transaction, §17)."""

    TABLE: ClassVar[Table] = NON_INVITE_CLIENT
    INITIAL: ClassVar[TransactionState] = TRYING

    def __attrs_post_init__(self) -> None:
        if self.request.method in ("INVITE", "ACK"):
            raise LocalProtocolError(f"{self.request.method} has no non-INVITE transaction")
        super().__attrs_post_init__()

    def _perform_send(self, effect: Do, message: Message | None) -> list[Action]:
        assert effect is SEND_REQUEST
        return [Send(self.request)]


def make_non_2xx_ack(invite: Request, response: Response) -> Request:
    """§17.1.1.3: the ACK for a 300-699 has the INVITE's Request-URI, top Via, Route set,
    Call-ID, From and CSeq number, and the response's To (with its tag)."""
    headers = Headers([("Via", invite.headers.get_all("Via")[0]), ("Max-Forwards", "70")])
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.seq} ACK")
    return Request("ACK", invite.uri, headers)
