"""What an MSRP session tells its owner, one small value per fact (see :class:`~.session.MsrpSession`)."""

from __future__ import annotations

import attrs


@attrs.frozen
class MessageReceived:
    """A whole message arrived (all its chunks, in order)."""

    message_id: str
    content_type: str
    body: bytes


@attrs.frozen
class MessageAborted:
    """A message being received will not complete: the sender abandoned it (``#``), it was too large (we
    answered 413), or the connection went away mid-message."""

    message_id: str
    reason: str


@attrs.frozen
class MessageAccepted:
    """Every chunk of a message we sent got a 200 from the next hop (the relay, or the peer itself)."""

    message_id: str


@attrs.frozen
class MessageFailed:
    """A message we sent did not get through: a non-200 response, a timeout, or the connection was lost."""

    message_id: str
    status: int
    reason: str


@attrs.frozen
class ReportReceived:
    """A REPORT about a message we sent (§7.1.2): ``status`` 200 for a success report, else a failure."""

    message_id: str
    status: int
    reason: str
    byte_range: str
