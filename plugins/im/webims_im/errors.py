"""The im service's error type: content a peer sent that we refuse, with the SIP/MSRP status to answer it with."""

from __future__ import annotations


class ContentError(Exception):
    """A received body (CPIM, IMDN, is-composing, text) is unusable. ``status`` is what to answer: 400 for a
    malformed document, 413 for one too large, 415 for a type we do not take (RFC 3428 §7, RFC 4975 §7.3)."""

    def __init__(self, reason: str, status: int = 400):
        self.reason = reason
        self.status = status
        super().__init__(reason)
