"""Keeps one of her identities' presence published (RFC 3903): sends what the :class:`Publication` asks for,
when it is due. Trio layer.

Cancelling the task removes the publication (Expires: 0) within a bound, so she shows as closed when she logs
out or her grace period ends, instead of staying open until the soft state expires.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable

import trio

from webims import log
from webims.context import RegistrationContext
from webims.errors import IdentityError
from webims.ims.alarm import Alarm
from webims_presence.goodbye import say_goodbye
from webims_presence.pidf import CONTENT_TYPE
from webims_presence.publication import Outcome, Publication, PublishRequest

_log = log.get("presence.publisher")

ProblemHandler = Callable[[str], Awaitable[None]]


class Publisher:
    def __init__(self, context: RegistrationContext, identity: str, expires: int,
                 on_problem: ProblemHandler, remove_within: float = 2.0):
        self.context = context
        self.identity = identity
        self.publication = Publication(expires)
        self.on_problem = on_problem
        self.remove_within = remove_within
        self.problem = ""
        self._alarm = Alarm()  # the next PUBLISH

    def publish(self, document: bytes | None) -> None:
        """Make ``document`` her published state (None: remove it); sent at once if it changed."""
        if document != self.publication.document:
            self.publication.document = document
            self._plan(0.0)

    def republish(self) -> None:
        """Publish anew: the IMS core restarted and has forgotten the entity-tag."""
        self.publication.forget()
        self._plan(0.0)

    def _plan(self, after: float) -> None:
        self._alarm.set(trio.current_time() + after)

    async def run(self) -> None:
        try:
            while True:
                await self._alarm.ring()
                self._alarm.due = math.inf
                await self._send_next()
        finally:
            self.publication.document = None
            await say_goodbye(self._send_next, self.remove_within, "publication")

    async def _send_next(self) -> None:
        request = self.publication.next_request()
        if request is None:
            return
        response = await self._send(request)
        if response is None:
            return
        headers = response.headers
        outcome = self.publication.response(
            request, response.status, etag=headers.get("SIP-ETag"), expires=response.expires,
            min_expires=_int(headers.get("Min-Expires")), retry_after=_int(headers.get("Retry-After")))
        await self._follow(outcome, response.status)

    async def _follow(self, outcome: Outcome, status: int) -> None:
        if outcome.after is not None:
            jitter = random.uniform(0.9, 1.0) if outcome.published else 1.0
            self._alarm.due = min(self._alarm.due, trio.current_time() + outcome.after * jitter)
        if outcome.problem or outcome.published:
            if outcome.problem:
                _log.warning("publish.failed", identity=self.identity, status=status)
            if outcome.problem != self.problem:
                self.problem = outcome.problem
                await self.on_problem(self.problem)

    async def _send(self, request: PublishRequest):
        agent = self.context.user_agent
        try:
            self.context.require_identity(self.identity)
        except IdentityError:
            return None  # no longer hers: nothing may be sent for it
        headers = [("Event", "presence"), ("Expires", str(request.expires)),
                   ("P-Preferred-Identity", f"<{self.identity}>")]
        if request.if_match:
            headers.append(("SIP-If-Match", request.if_match))
        message = agent.build_request(
            "PUBLISH", self.identity, from_uri=self.identity, to_uri=self.identity, headers=headers,
            body=request.body or b"", content_type=CONTENT_TYPE if request.body else None)
        return await agent.send(message)


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None
