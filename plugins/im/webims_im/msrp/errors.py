"""Who broke MSRP: the peer (:class:`RemoteProtocolError`: close the connection) or we (:class:`LocalProtocolError`)."""

from __future__ import annotations


class MsrpError(Exception):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class RemoteProtocolError(MsrpError):
    """The peer sent something that is not MSRP (RFC 4975 §9); the connection cannot be trusted any more."""


class LocalProtocolError(MsrpError):
    """We were asked to send something MSRP cannot carry (a bad URI, a message after the session closed)."""
