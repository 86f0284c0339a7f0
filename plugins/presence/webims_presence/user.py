"""Presence for one logged-in subscriber: her publications, her watched contacts, her watchers. Trio layer.

A :class:`PresenceUser` lives as long as her registration context, not as long as a tab: subscriptions keep
running through a reload, and end (unsubscribed, publications removed) when the context ends. It reacts to the
context: a call session of hers shows "on-the-phone", no tab for ``away_after`` seconds shows "away", the IMS
core coming back after an outage gets everything published and subscribed anew.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import attrs
import trio

from webims import log
from webims.context import ContextChange, RegistrationContext, RegistrationState
from webims.sip import parse_uri
from webims_presence import contacts as contact_list
from webims_presence.contact_watch import ContactWatch
from webims_presence.contacts import Contact
from webims_presence.list_watch import ListWatch
from webims_presence.pidf import build_pidf
from webims_presence.publisher import Publisher
from webims_presence.status import PresenceStatus, StatusError, chosen_from_browser, shown_status
from webims_presence.store import ContactsEdit, StoreError, UserStore
from webims_presence.subscription import NotifyRoutes, SipSide
from webims_presence.watchers import Watchers

SERVICE = "presence"
_log = log.get("presence.user")


@attrs.frozen
class PresenceConfig:
    """The plugin's settings (docs/presence.md), as the users need them."""

    publish_expires: int = 3600
    subscribe_expires: int = 3600
    publish_for: str = "default"
    away_after: float = 30.0
    max_contacts: int = 1000
    max_document_bytes: int = 65536
    fetch_timeout: float = 5.0
    shutdown_seconds: float = 2.0
    # Her list URI at a resource list server ({user} and {domain} of her default identity); "" for none.
    rls_uri: str = ""


class PresenceUser:
    def __init__(self, context: RegistrationContext, config: PresenceConfig, store: UserStore,
                 routes: NotifyRoutes, limiter: trio.CapacityLimiter):
        self.context = context
        self.config = config
        self.store = store
        self.sip = SipSide(context, routes, limiter, config.shutdown_seconds)
        self.chosen: dict[str, PresenceStatus] = {}
        self.publishers: dict[str, tuple[Publisher, trio.CancelScope]] = {}
        self.contacts: tuple[Contact, ...] = ()
        self.watches: dict[str, ContactWatch] = {}
        self.watchers = Watchers(store, self._watchers_changed, config.max_document_bytes)
        self.list_watch = ListWatch(self.watches, config.max_document_bytes) if config.rls_uri else None
        self.store_problem = ""
        self.away = False
        self.scope = trio.CancelScope()
        self.ready = trio.Event()
        self.done = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._away: trio.CancelScope | None = None
        self._reconnecting = False
        self._tuple_id = f"wi{secrets.token_hex(4)}"
        self._last_status: dict[str, Any] | None = None
        self._restored = PresenceStatus()  # what a login starts from: the status she chose last, if any

    # --- lifetime ----------------------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            with self.scope:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    await self._load()
                    await self._sync_publishers()
                    identity = self.context.require_identity(None).uri
                    self._start(self.watchers.subscribe(self.sip, identity, self.config.subscribe_expires).run)
                    self._sync_watches()
                    if self.list_watch is not None:
                        await self._watch_list(identity)
                    self.ready.set()
                    await self._tabs_changed()
        finally:
            self.done.set()

    async def _load(self) -> None:
        try:
            self.contacts = await self.store.contacts()
            self.watchers.decisions = await self.store.decisions()
            self._restored = _choosable(await self.store.saved_status())
        except StoreError as error:
            self.store_problem = error.reason
            _log.warning("store.load_failed", impi=self.context.private_identity, reason=error.reason)

    async def _watch_list(self, identity: str) -> None:
        uri = parse_uri(identity)
        list_uri = self.config.rls_uri.format(user=uri.user, domain=uri.host)
        try:
            await self.store.provide_list_service(list_uri)
        except StoreError as error:
            self.store_problem = error.reason
        self._start(self.list_watch.subscribe(self.sip, list_uri, self.config.subscribe_expires).run)

    def _start(self, run: Callable[[], Awaitable[None]]) -> trio.CancelScope:
        """Run a component in her nursery under a scope of its own, so it can be stopped alone."""
        scope = trio.CancelScope()

        async def scoped() -> None:
            with scope:
                await run()
        self._nursery.start_soon(scoped)
        return scope

    async def on_change(self, change: ContextChange) -> None:
        if self._nursery is None:
            return  # still starting: run() looks at the context itself
        if change.kind in (ContextChange.SESSION_ADDED, ContextChange.SESSION_REMOVED):
            await self._publish()
        elif change.kind in (ContextChange.BROWSER_ATTACHED, ContextChange.BROWSER_DETACHED):
            await self._tabs_changed()
        elif change.kind == ContextChange.IDENTITIES:
            await self._sync_publishers()
        elif change.kind == ContextChange.STATE:
            self._state_changed(self.context.state)

    def _state_changed(self, state: RegistrationState) -> None:
        """Back from an outage, the IMS core may have restarted and forgotten publications and subscriptions:
        publish anew and subscribe anew at once rather than wait for refreshes to fail."""
        if state == RegistrationState.RECONNECTING:
            self._reconnecting = True
        elif state == RegistrationState.REGISTERED and self._reconnecting:
            self._reconnecting = False
            _log.info("recover", impi=self.context.private_identity, contacts=len(self.watches))
            for publisher, _ in self.publishers.values():
                publisher.republish()
            for subscription in self._subscriptions():
                subscription.renew(anew=True)

    def _subscriptions(self):
        found = [watch.subscription for watch in self.watches.values()] + [self.watchers.subscription]
        found += [self.list_watch.subscription] if self.list_watch is not None else []
        return [subscription for subscription in found if subscription is not None]

    # --- her status ----------------------------------------------------------------------------------------------

    def _published_identities(self) -> list[str]:
        if self.config.publish_for == "all":
            return [identity.uri for identity in self.context.public_identities]
        default = self.context.default_identity
        return [default.uri] if default else []

    async def _sync_publishers(self) -> None:
        wanted = self._published_identities()
        for identity in [i for i in self.publishers if i not in wanted]:
            self.publishers.pop(identity)[1].cancel()  # its task removes the publication
        for identity in [i for i in wanted if i not in self.publishers]:
            publisher = Publisher(self.context, identity, self.config.publish_expires, self._publish_problem,
                                  self.config.shutdown_seconds)
            self.publishers[identity] = (publisher, self._start(publisher.run))
            # an identity added to her set shows what the others show
            self.chosen.setdefault(identity, next(iter(self.chosen.values()), self._restored))
        await self._publish()

    async def set_status(self, chosen: PresenceStatus, identity: str | None) -> None:
        for uri in [identity] if identity else self._published_identities():
            self.chosen[uri] = chosen
        await self._publish()
        try:
            await self.store.save_status(chosen)  # her next login starts from it
        except StoreError as error:
            _log.warning("store.status_not_saved", impi=self.context.private_identity, reason=error.reason)

    @property
    def on_the_phone(self) -> bool:
        # The voice service puts its calls among her sessions with kind "call" (no import of it needed).
        return any(getattr(session, "kind", None) == "call" for session in list(self.context.sessions.values()))

    async def _publish(self) -> None:
        for identity, (publisher, _) in self.publishers.items():
            shown, _ = shown_status(self.chosen[identity], on_the_phone=self.on_the_phone, away=self.away)
            publisher.publish(build_pidf(identity, shown, tuple_id=self._tuple_id, person_id=f"p{self._tuple_id}",
                                         timestamp=datetime.now(timezone.utc)))
        await self._status_changed()

    async def _publish_problem(self, problem: str) -> None:
        await self._status_changed()

    async def _status_changed(self) -> None:
        status = self.status_json()
        if status != self._last_status:  # her chats come and go among her sessions too: say only what changed
            self._last_status = status
            await self.broadcast("status", status)

    def status_json(self) -> dict[str, Any]:
        rows = []
        for identity, (publisher, _) in self.publishers.items():
            shown, why = shown_status(self.chosen[identity], on_the_phone=self.on_the_phone, away=self.away)
            rows.append({"identity": identity, "chosen": self.chosen[identity].to_json(), "shown": shown.to_json(),
                         "automatic": why, "problem": publisher.problem})
        return {"identities": rows}

    async def _tabs_changed(self) -> None:
        if self.context.browsers:
            if self._away is not None:
                self._away.cancel()
                self._away = None
            if self.away:
                self.away = False
                await self._publish()
        elif self._away is None and self.config.away_after > 0:
            self._away = self._start(self._away_later)

    async def _away_later(self) -> None:
        await trio.sleep(self.config.away_after)
        self._away = None
        self.away = True
        await self._publish()

    # --- her contacts -------------------------------------------------------------------------------------------

    async def edit_contacts(self, edit: ContactsEdit) -> tuple[Contact, ...]:
        self.contacts = await self.store.edit_contacts(edit)
        self._sync_watches()
        if self.list_watch is not None and self.list_watch.subscription is not None:
            self.list_watch.subscription.renew()  # the list server reports the new membership
        await self.broadcast("contacts", {"contacts": self.contacts_json()})
        return self.contacts

    async def add_contact(self, contact: Contact) -> tuple[Contact, ...]:
        return await self.edit_contacts(lambda current: contact_list.added(current, contact, self.config.max_contacts))

    def _sync_watches(self) -> None:
        wanted = {contact.uri: contact for contact in self.contacts}
        for uri in [uri for uri in self.watches if uri not in wanted]:
            self.watches.pop(uri).scope.cancel()  # its subscription unsubscribes
        for uri, contact in wanted.items():
            watch = self.watches.get(uri)
            if watch is not None:
                watch.contact = contact
                continue
            watch = self.watches[uri] = ContactWatch(contact, self._contact_changed, self.config.max_document_bytes)
            if self.list_watch is None:
                watch.subscribe(self.sip, self.config.subscribe_expires)
                self._nursery.start_soon(watch.run)

    async def _contact_changed(self, watch: ContactWatch) -> None:
        if self.watches.get(watch.contact.uri) is watch:
            await self.broadcast("contact.presence", {"uri": watch.contact.uri, "presence": watch.presence_json()})

    def contacts_json(self) -> list[dict[str, Any]]:
        return [self.watches[c.uri].to_json() if c.uri in self.watches else {**c.to_json(), "presence": None}
                for c in self.contacts]

    # --- her watchers ---------------------------------------------------------------------------------------------

    async def _watchers_changed(self) -> None:
        await self.broadcast("watchers", {"watchers": self.watchers.to_json()})

    # --- the page ---------------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {**self.status_json(), "contacts": self.contacts_json(), "watchers": self.watchers.to_json(),
                "rules_enforced": self.store.enforced, "store_problem": self.store_problem}

    async def broadcast(self, event_type: str, body: dict[str, Any]) -> None:
        await self.context.tell_tabs(SERVICE, event_type, body)


async def fetch_presence(user: PresenceUser, uri: str) -> dict[str, Any]:
    """Her contact's (or anyone's) status once, without watching it: a fetch (SUBSCRIBE with Expires: 0)."""
    fetched: list[PresenceStatus] = []

    async def keep(watch: ContactWatch) -> None:
        if watch.status is not None:
            fetched.append(watch.status)

    watch = ContactWatch(Contact(uri), keep, user.config.max_document_bytes)
    answered = await watch.subscribe(user.sip, 0).fetch(user.config.fetch_timeout)
    if fetched:
        return {**fetched[-1].to_json(), "subscription": "fetched", "reason": ""}
    reason = watch.reason or ("" if answered else "The presence server did not answer in time.")
    return {"basic": "unknown", "activity": None, "note": "", "subscription": watch.state, "reason": reason}


def _choosable(saved: PresenceStatus | None) -> PresenceStatus:
    """A saved status she could choose in the page; else (none saved, or written by another client with an
    activity the page does not offer) the default."""
    if saved is None:
        return PresenceStatus()
    try:
        return chosen_from_browser(saved.to_json(), PresenceStatus())
    except StatusError:
        return PresenceStatus()
