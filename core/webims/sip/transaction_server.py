"""Server transactions: INVITE (RFC 3261 §17.2.1 with RFC 6026's Accepted state) and
non-INVITE (§17.2.2). The tables read as the figures 7 and 8 of RFC 3261 and figure 5 of
RFC 6026. Responses come from the TU through :meth:`send_response`."""

from __future__ import annotations

from typing import ClassVar

import attrs

from .errors import LocalProtocolError
from .message import Message, Request, Response, make_response
from .timers import Timer
from .transaction import (
    Action,
    Do,
    Event,
    Send,
    ServerKey,
    TransactionState,
    Table,
    Transaction,
    classify_response,
    server_key,
)

__all__ = ["InviteServerTransaction", "NonInviteServerTransaction"]

_S = TransactionState
TRYING, PROCEEDING, ACCEPTED = _S.TRYING, _S.PROCEEDING, _S.ACCEPTED
COMPLETED, CONFIRMED, TERMINATED = _S.COMPLETED, _S.CONFIRMED, _S.TERMINATED
START, REQUEST, ACK = Event.START, Event.REQUEST, Event.ACK
PROVISIONAL, SUCCESS, FAILURE = Event.PROVISIONAL, Event.SUCCESS, Event.FAILURE
TRANSPORT_ERROR = Event.TRANSPORT_ERROR
SEND_RESPONSE, RESEND_RESPONSE, SEND_TRYING = Do.SEND_RESPONSE, Do.RESEND_RESPONSE, Do.SEND_TRYING
DELIVER, STOP_TIMERS, BACKOFF = Do.DELIVER, Do.STOP_TIMERS, Do.BACKOFF

# fmt: off
INVITE_SERVER: Table = {
    PROCEEDING: {
        START:           (PROCEEDING, (DELIVER, Timer.TRYING)),
        Timer.TRYING:    (PROCEEDING, (SEND_TRYING,)),
        REQUEST:         (PROCEEDING, (RESEND_RESPONSE,)),
        PROVISIONAL:     (PROCEEDING, (STOP_TIMERS, SEND_RESPONSE)),
        SUCCESS:         (ACCEPTED,   (STOP_TIMERS, SEND_RESPONSE, Timer.L)),
        FAILURE:         (COMPLETED,  (STOP_TIMERS, SEND_RESPONSE, Timer.G, Timer.H)),
        TRANSPORT_ERROR: (TERMINATED, ()),
    },
    ACCEPTED: {  # RFC 6026 §8.7: INVITE retransmissions absorbed, the TU retransmits 2xx
        SUCCESS:         (ACCEPTED,   (SEND_RESPONSE,)),
        ACK:             (ACCEPTED,   (DELIVER,)),
        Timer.L:         (TERMINATED, ()),
    },
    COMPLETED: {
        REQUEST:         (COMPLETED,  (RESEND_RESPONSE,)),
        Timer.G:         (COMPLETED,  (RESEND_RESPONSE, BACKOFF)),
        Timer.H:         (TERMINATED, ()),
        ACK:             (CONFIRMED,  (STOP_TIMERS, Timer.I)),
        TRANSPORT_ERROR: (TERMINATED, ()),
    },
    CONFIRMED: {  # ACK retransmissions are absorbed
        Timer.I:         (TERMINATED, ()),
    },
}

NON_INVITE_SERVER: Table = {
    TRYING: {  # request retransmissions are absorbed: there is nothing to resend yet
        START:           (TRYING,     (DELIVER,)),
        PROVISIONAL:     (PROCEEDING, (SEND_RESPONSE,)),
        SUCCESS:         (COMPLETED,  (SEND_RESPONSE, Timer.J)),
        FAILURE:         (COMPLETED,  (SEND_RESPONSE, Timer.J)),
    },
    PROCEEDING: {
        REQUEST:         (PROCEEDING, (RESEND_RESPONSE,)),
        PROVISIONAL:     (PROCEEDING, (SEND_RESPONSE,)),
        SUCCESS:         (COMPLETED,  (SEND_RESPONSE, Timer.J)),
        FAILURE:         (COMPLETED,  (SEND_RESPONSE, Timer.J)),
        TRANSPORT_ERROR: (TERMINATED, ()),
    },
    COMPLETED: {
        REQUEST:         (COMPLETED,  (RESEND_RESPONSE,)),
        Timer.J:         (TERMINATED, ()),
        TRANSPORT_ERROR: (TERMINATED, ()),
    },
}
# fmt: on


@attrs.define
class _ServerTransaction(Transaction):
    last_response: Response | None = attrs.field(default=None, init=False)

    @property
    def key(self) -> ServerKey:
        return server_key(self.request)

    def receive(self, message: Message) -> list[Action]:
        """A retransmission of the request, or (INVITE) the ACK for our final response."""
        if not isinstance(message, Request):
            raise LocalProtocolError(f"a server transaction gets requests, not {message.status}")
        return self._step(ACK if message.method == "ACK" else REQUEST, message)

    def send_response(self, response: Response) -> list[Action]:
        """A response from the TU; one arriving when no longer allowed (after a final
        response, except further 2xx to an INVITE) is discarded, as §17.2 says."""
        return self._step(classify_response(response), response)

    def _perform_send(self, effect: Do, message: Message | None) -> list[Action]:
        if effect is SEND_RESPONSE:
            assert isinstance(message, Response)
            self.last_response = message
        elif effect is SEND_TRYING:
            # §17.2.1: a To tag in a 100 is downgraded from MAY to SHOULD NOT.
            self.last_response = make_response(self.request, 100)
        if self.last_response is None:
            return []
        return [Send(self.last_response)]


@attrs.define
class InviteServerTransaction(_ServerTransaction):
    """Receives an INVITE. It answers 100 Trying itself unless the TU responds within
    200 ms; 2xx retransmission is the TU's job (see ``dialog.InviteSuccessRetransmitter``)."""

    TABLE: ClassVar[Table] = INVITE_SERVER
    INITIAL: ClassVar[TransactionState] = PROCEEDING


@attrs.define
class NonInviteServerTransaction(_ServerTransaction):
    """Receives any request but INVITE and ACK."""

    TABLE: ClassVar[Table] = NON_INVITE_SERVER
    INITIAL: ClassVar[TransactionState] = TRYING

    def __attrs_post_init__(self) -> None:
        if self.request.method in ("INVITE", "ACK"):
            raise LocalProtocolError(f"{self.request.method} has no non-INVITE transaction")
        super().__attrs_post_init__()
