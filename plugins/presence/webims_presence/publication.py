"""One PUBLISH soft state (RFC 3903 §4): which request to send next, and what its response means. Sans-IO.

An initial PUBLISH carries the document and gets an entity-tag (SIP-ETag) and a granted interval; a refresh
carries only SIP-If-Match; a modify carries a new document and SIP-If-Match; a removal has Expires: 0. A 412
to a conditional request means the presence server no longer knows the entity-tag (it expired, or the server
restarted): publish anew (§4.4). Kamailio 5.6 answers 500 instead (NOTES), so a 5xx to a conditional request
is taken the same way, once in a row.
"""

from __future__ import annotations

import attrs

REFRESH_AT = 0.8  # of the granted interval: early enough for a retry or two before it runs out
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0
REFUSED_RETRY = 300.0  # a refusal (403, 489...) is not retried sooner, unless the document changes


@attrs.frozen
class PublishRequest:
    expires: int
    if_match: str | None
    body: bytes | None  # None for a refresh or a removal


@attrs.frozen
class Outcome:
    """What to do after a response: send again after ``after`` seconds (None: only when the document changes)."""

    after: float | None
    published: bool
    problem: str = ""  # for the page when the publication is failing


@attrs.define
class Publication:
    expires: int
    document: bytes | None = None  # what should be published now; None: nothing
    etag: str | None = None
    published: bytes | None = None  # the document the entity-tag stands for
    failures: int = 0
    _anew: bool = False  # the last conditional request failed and we publish anew

    def next_request(self) -> PublishRequest | None:
        """The request that brings the server to ``document`` (or keeps it there); None if nothing is due."""
        if self.document is None:
            return PublishRequest(0, self.etag, None) if self.etag else None
        if self.etag is None:
            return PublishRequest(self.expires, None, self.document)
        if self.document != self.published:
            return PublishRequest(self.expires, self.etag, self.document)
        return PublishRequest(self.expires, self.etag, None)

    def forget(self) -> None:
        """The server lost our state (the IMS core restarted): the next request publishes anew."""
        self.etag = self.published = None

    def response(self, request: PublishRequest, status: int, *, etag: str | None = None,
                 expires: int | None = None, min_expires: int | None = None,
                 retry_after: int | None = None) -> Outcome:
        if 200 <= status < 300:
            return self._succeeded(request, etag, expires)
        if request.if_match and (status == 412 or 500 <= status < 600 and status != 503) and not self._anew:
            self.forget()
            self._anew = True
            return Outcome(0.0, False) if request.expires else Outcome(None, False)
        if status == 423 and min_expires and min_expires > self.expires:
            self.expires = min_expires
            return Outcome(0.0, False)
        self._anew = False
        if request.expires == 0:
            self.forget()  # a failed removal: the state expires on the server by itself
            return Outcome(None, False)
        if status in (408, 480, 500, 503, 504) or status >= 600:
            self.failures += 1
            delay = retry_after or min(BACKOFF_FIRST * 2 ** (self.failures - 1), BACKOFF_MAX)
            return Outcome(float(delay), False, f"The presence server did not take your status ({status}).")
        return Outcome(REFUSED_RETRY, False, f"The presence server refused your status ({status}).")

    def _succeeded(self, request: PublishRequest, etag: str | None, expires: int | None) -> Outcome:
        self._anew = False
        self.failures = 0
        if request.expires == 0:
            self.forget()
            return Outcome(None, False)
        if not etag:
            self.forget()
            return Outcome(REFUSED_RETRY, False, "The presence server sent no SIP-ETag (RFC 3903 §11.3).")
        self.etag = etag
        if request.body is not None:
            self.published = request.body
        granted = expires if expires is not None else request.expires
        return Outcome(max(1.0, granted * REFRESH_AT), True)
