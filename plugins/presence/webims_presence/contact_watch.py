"""One watched contact: its presence subscription (RFC 3856) and the status its NOTIFYs say. Trio layer.

A NOTIFY body is a whole PIDF, or, when the presence server does partial notifications (RFC 5263, offered in
Accept), a ``pidf-full`` followed by ``pidf-diff`` patches. An empty body says the presentity has published
nothing: closed once the subscription is active, unknown while it is pending.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from webims.sip import Request, SubscriptionState
from webims_presence import pidf, pidf_diff
from webims_presence.contacts import Contact
from webims_presence.pidf_diff import PartialPresence, PartialStateLost
from webims_presence.status import CLOSED, PresenceStatus
from webims_presence.subscription import SipSide, Subscription, Watched
from webims_presence.xmldoc import DocumentError

ACCEPT = (pidf.CONTENT_TYPE, pidf_diff.CONTENT_TYPE)


class ContactWatch:
    def __init__(self, contact: Contact, on_change: Callable[[ContactWatch], Awaitable[None]], max_bytes: int):
        self.contact = contact
        self.on_change = on_change
        self.max_bytes = max_bytes
        self.status: PresenceStatus | None = None  # None: no status known
        self.state, self.reason = "init", ""
        self.subscription: Subscription | None = None
        self.scope = trio.CancelScope()
        self._partial: PartialPresence | None = None

    def subscribe(self, sip: SipSide, expires: int) -> Subscription:
        """This contact's own presence subscription (not used when a resource list server watches the list)."""
        watched = Watched(self.contact.uri, "presence", ACCEPT, expires)
        self.subscription = Subscription(sip, watched, None, self._on_notify, self.set_state)
        return self.subscription

    async def run(self) -> None:
        with self.scope:
            await self.subscription.run()

    async def _on_notify(self, notify: Request, state: SubscriptionState) -> None:
        if state.state in ("active", "pending"):
            self.state, self.reason = state.state, ""  # one event for the page, not one per change
        try:
            self.take_document(notify.media_type, notify.body, state.state)
        except PartialStateLost:
            self.subscription.renew()  # a refresh brings a new pidf-full (RFC 5263 §4.2)
            return
        await self.on_change(self)

    def take_document(self, media_type: str | None, body: bytes, state: str) -> None:
        """The status a NOTIFY (or a resource list's part) carries; DocumentError if it is unreadable."""
        if not body:
            self.status = CLOSED if state == "active" else None
        elif media_type == pidf.CONTENT_TYPE:
            self.status = pidf.parse_pidf(body, self.max_bytes).status()
            self._partial = None
        elif media_type == pidf_diff.CONTENT_TYPE:
            self._partial = self._partial or PartialPresence()
            self.status = self._partial.apply(body, self.max_bytes).status()
        else:
            raise DocumentError(f"{media_type} is not a presence document", 415)

    async def update(self, state: str, reason: str, media_type: str | None, body: bytes) -> None:
        """The state a resource list notification gives this contact (list_watch.py)."""
        self.state, self.reason = state, reason
        self.take_document(media_type, body, state)
        if state != "active":
            self.status = None
        await self.on_change(self)

    async def set_state(self, state: str, reason: str) -> None:
        if (state, reason) == (self.state, self.reason):
            return
        self.state, self.reason = state, reason
        if state != "active":
            self.status = None
        await self.on_change(self)

    def presence_json(self) -> dict[str, Any]:
        """What the page shows for the contact: its status when the subscription is active, else why not."""
        if self.state == "active" and self.status is not None:
            return {**self.status.to_json(), "subscription": "active", "reason": ""}
        return {"basic": "unknown", "activity": None, "note": "", "subscription": self.state, "reason": self.reason}

    def to_json(self) -> dict[str, Any]:
        return {**self.contact.to_json(), "presence": self.presence_json()}
