"""The two ways a SIP exchange can go wrong: the peer broke the protocol, or we did.

Modelled on h11's ``RemoteProtocolError``/``LocalProtocolError``: the type says who is at
fault, so a caller knows whether to answer the peer (usually with ``status_hint``) or to fix
its own code.
"""

from __future__ import annotations

__all__ = ["SipError", "RemoteProtocolError", "LocalProtocolError"]


class SipError(Exception):
    """Base class of every error raised by :mod:`webims.sip`.

    ``reason`` is a sentence a person can act on ("Content-Length 120 exceeds the 80 bytes
    that follow the headers"), also used as the exception message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RemoteProtocolError(SipError):
    """The peer sent something malformed.

    This is the only exception the parser lets escape, whatever the input. ``status_hint`` is
    the status code a UAS should answer with when answering makes sense (RFC 3261 §21.4):
    400 for syntax, 413 for an oversized message, 505 for an unknown SIP version. It is
    ``None`` when nothing should be sent back, e.g. for a malformed *response*.
    """

    def __init__(self, reason: str, *, status_hint: int | None = 400) -> None:
        super().__init__(reason)
        self.status_hint = status_hint


class LocalProtocolError(SipError):
    """Our own code tried to build or send something invalid (a bug on this side)."""
