"""Who watches her: the presence.winfo subscription (RFC 3857) and her decisions on each watcher. Trio layer.

Watchers come from watcherinfo NOTIFYs; her decisions (allow, block) are kept in the store, which writes them
as pres-rules (RFC 5025) when it is XCAP: the presence server then applies them. The page sees one list:
every watcher the presence server reports, and every watcher she decided on, with status and decision.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from webims.sip import Request, SubscriptionState
from webims_presence import winfo
from webims_presence.pres_rules import Decisions, watcher_key
from webims_presence.store import UserStore
from webims_presence.subscription import SipSide, Subscription, Watched
from webims_presence.winfo import WatcherInfoOutOfSync, WatcherTable


class Watchers:
    def __init__(self, store: UserStore, on_change: Callable[[], Awaitable[None]], max_bytes: int):
        self.store = store
        self.on_change = on_change
        self.max_bytes = max_bytes
        self.table = WatcherTable()
        self.decisions = Decisions()
        self.subscription: Subscription | None = None

    def subscribe(self, sip: SipSide, identity: str, expires: int) -> Subscription:
        watched = Watched(identity, "presence.winfo", (winfo.CONTENT_TYPE,), expires)
        self.subscription = Subscription(sip, watched, identity, self._on_notify, self._on_state)
        return self.subscription

    async def _on_notify(self, notify: Request, state: SubscriptionState) -> None:
        if not notify.body:
            return
        info = winfo.parse_watcherinfo(notify.body, self.max_bytes)
        try:
            changed = self.table.apply(info)
        except WatcherInfoOutOfSync:
            self.subscription.renew()  # a refresh brings a full document (RFC 3857 §4.4)
            return
        if changed:
            await self.on_change()

    async def _on_state(self, state: str, reason: str) -> None:
        if state == "terminated":
            self.table.reset()

    async def decide(self, watcher: str, decision: str) -> None:
        active = frozenset(w.uri for w in self.table.by_uri().values() if w.status == "active")
        self.decisions = await self.store.edit_decisions(lambda current: current.decide(watcher, decision, active))
        if self.store.enforced and self.subscription is not None:
            # Kamailio sends no watcherinfo NOTIFY for a rules change (NOTES); a refresh brings the new state.
            self.subscription.renew()
        await self.on_change()

    def to_json(self) -> list[dict[str, Any]]:
        listed = {watcher_key(w.uri): w for w in self.table.by_uri().values()}
        decided = self.decisions.allowed | self.decisions.blocked
        rows = [{"uri": w.uri, "display_name": w.display_name, "status": w.status,
                 "decision": self.decisions.decision(w.uri)} for w in listed.values()]
        rows += [{"uri": key, "display_name": "", "status": "none", "decision": self.decisions.decision(key)}
                 for key in sorted(decided - listed.keys())]
        return rows
