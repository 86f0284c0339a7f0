"""Her contacts watched through a resource list server (RFC 4662): one subscription to her list URI instead of
one per contact. Trio layer.

Each NOTIFY is a list notification: an RLMI document naming the resources (with each instance's state) and a
PIDF part per resource whose state is known. They update the same :class:`ContactWatch` objects the per-contact
subscriptions would, so the page cannot tell the difference.
"""

from __future__ import annotations

from webims.sip import Request, SubscriptionState
from webims_presence import pidf, pidf_diff, rlmi
from webims_presence.contact_watch import ContactWatch
from webims_presence.rlmi import ListOutOfSync, ListState
from webims_presence.subscription import SipSide, Subscription, Watched
from webims_presence.xmldoc import DocumentError

ACCEPT = ("multipart/related", rlmi.RLMI_TYPE, pidf.CONTENT_TYPE, pidf_diff.CONTENT_TYPE)


class ListWatch:
    def __init__(self, watches: dict[str, ContactWatch], max_bytes: int):
        self.watches = watches  # her user's, by contact URI: the list server reports on the same URIs
        self.max_bytes = max_bytes
        self.list_state = ListState()
        self.subscription: Subscription | None = None

    def subscribe(self, sip: SipSide, list_uri: str, expires: int) -> Subscription:
        watched = Watched(list_uri, "presence", ACCEPT, expires, headers=(("Supported", "eventlist"),))
        self.subscription = Subscription(sip, watched, None, self._on_notify, self._on_state)
        return self.subscription

    async def _on_notify(self, notify: Request, state: SubscriptionState) -> None:
        if notify.media_type != "multipart/related":
            return  # a server without eventlist (RFC 4662 §4.1) sends the list URI's own state: not a contact
        notification = rlmi.parse_list_notification(notify.content_type, notify.body, self.max_bytes)
        try:
            if not self.list_state.accept(notification):
                return
        except ListOutOfSync:
            self.subscription.renew()  # a refresh brings the full list state (RFC 4662 §5.2)
            return
        for resource in notification.resources:
            watch = self.watches.get(resource.uri)
            if watch is not None:
                await self._update(watch, resource)

    @staticmethod
    async def _update(watch: ContactWatch, resource: rlmi.ResourceState) -> None:
        part = resource.part
        media = part.content_type.split(";", 1)[0].strip().lower() if part else None
        try:
            await watch.update(resource.state or "pending", resource.reason, media, part.body if part else b"")
        except DocumentError as error:  # one unreadable part must not hide the others
            await watch.update("terminated", f"Unreadable status: {error.reason}", None, b"")

    async def _on_state(self, state: str, reason: str) -> None:
        if state == "terminated":
            self.list_state = ListState()
            for watch in list(self.watches.values()):
                await watch.update("terminated", reason, None, b"")
