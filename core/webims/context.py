"""The registration context: one per logged-in subscriber, shared by every plugin.

It is the single place that knows who the subscriber is in the IMS (private identity, the implicit registration
set of public identities and the default one), how her registration stands, which SIP agent speaks for her,
which IMS sessions (calls, chats, subscriptions) she has, and which browser tabs are attached. Plugins read it
and react to its changes; they never keep their own copy.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs
import trio

from webims.errors import IdentityError


class RegistrationState(enum.Enum):
    REGISTERING = "registering"
    REGISTERED = "registered"
    # The IMS core is unreachable or refused a refresh; the gateway keeps retrying with backoff.
    RECONNECTING = "reconnecting"
    DEREGISTERED = "deregistered"


@attrs.frozen
class PublicIdentity:
    """One public user identity (IMPU) of the implicit registration set, e.g. ``sip:mary@ims.test``."""

    uri: str
    display_name: str = ""


@attrs.frozen
class ContextChange:
    """Something that happened to a context. ``kind`` is one of the constants below; ``detail`` says more."""

    REGISTERED = "registered"
    REFRESHED = "refreshed"
    IDENTITIES = "identities"
    STATE = "state"
    SESSION_ADDED = "session_added"
    SESSION_REMOVED = "session_removed"
    BROWSER_ATTACHED = "browser_attached"
    BROWSER_DETACHED = "browser_detached"
    # Sent to plugins (awaited) just before the registration is removed: the last moment to unpublish or
    # unsubscribe while the IMS still knows her. ENDED follows once she is gone.
    ENDING = "ending"
    ENDED = "ended"

    kind: str
    detail: Any = None


@attrs.frozen
class DialogClaim:
    """Which service owns a dialog, so in-dialog requests (and stray ACKs/2xx) reach it."""

    service: str
    on_stray: Callable[[Any], Awaitable[None]] | None = None


@attrs.define(eq=False)
class RegistrationContext:
    private_identity: str
    public_identities: tuple[PublicIdentity, ...] = ()
    default_identity: PublicIdentity | None = None
    state: RegistrationState = RegistrationState.REGISTERING
    state_reason: str = ""
    # The per-subscriber SIP user agent (set by the auth service; other services send through it).
    user_agent: Any = None
    # IMS sessions by id: calls, chats, subscriptions. Values are owned by the plugin that created them.
    sessions: dict[str, Any] = attrs.field(factory=dict)
    browsers: set[Any] = attrs.field(factory=set)
    # (Call-ID, our tag) -> the service that owns that dialog.
    dialogs: dict[tuple[str, str], DialogClaim] = attrs.field(factory=dict)
    _watchers: list[trio.MemorySendChannel] = attrs.field(factory=list, init=False, repr=False)

    # --- identities ------------------------------------------------------------------------------------------

    def require_identity(self, uri: str | None) -> PublicIdentity:
        """The identity to act as: ``uri`` if it is hers, the default when ``uri`` is None; else IdentityError.

        Every plugin calls this before sending anything on the subscriber's behalf, so a browser can never act
        as someone else, and nothing is sent when it tries.
        """
        if uri is None:
            if self.default_identity is None:
                raise IdentityError("(none)")
            return self.default_identity
        for identity in self.public_identities:
            if identity.uri == uri:
                return identity
        raise IdentityError(uri)

    def set_identities(self, identities: Iterable[PublicIdentity], default: PublicIdentity | None = None) -> None:
        identities = tuple(identities)
        self.public_identities = identities
        self.default_identity = default or (identities[0] if identities else None)
        self.publish(ContextChange(ContextChange.IDENTITIES, identities))

    # --- state and sessions ----------------------------------------------------------------------------------

    def set_state(self, state: RegistrationState, reason: str = "") -> None:
        if state == self.state and reason == self.state_reason:
            return
        self.state, self.state_reason = state, reason
        self.publish(ContextChange(ContextChange.STATE, state))

    def add_session(self, session_id: str, session: Any) -> None:
        self.sessions[session_id] = session
        self.publish(ContextChange(ContextChange.SESSION_ADDED, session_id))

    def remove_session(self, session_id: str) -> None:
        if self.sessions.pop(session_id, None) is not None:
            self.publish(ContextChange(ContextChange.SESSION_REMOVED, session_id))

    def claim_dialog(self, call_id: str, local_tag: str, claim: DialogClaim) -> None:
        self.dialogs[(call_id, local_tag)] = claim

    def release_dialog(self, call_id: str, local_tag: str) -> None:
        self.dialogs.pop((call_id, local_tag), None)

    def dialog_claim(self, call_id: str, local_tag: str) -> DialogClaim | None:
        return self.dialogs.get((call_id, local_tag))

    # --- her tabs --------------------------------------------------------------------------------------------

    async def tell_tabs(self, service: str, event_type: str, body: dict[str, Any] | None = None, *,
                        session: str | None = None, tabs: Iterable[Any] | None = None) -> None:
        """Send ``service``'s event to every tab of hers (or only to ``tabs``). A tab that goes away meanwhile
        simply misses it: the others still get it, and a tab that comes back asks for the current state."""
        for tab in list(self.browsers if tabs is None else tabs):
            await tab.send_event(service, event_type, body, session=session)

    # --- change stream ---------------------------------------------------------------------------------------

    def publish(self, change: ContextChange) -> None:
        """Tell every watcher. A watcher whose buffer is full is dropped, never waited for."""
        for channel in list(self._watchers):
            try:
                channel.send_nowait(change)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                self._watchers.remove(channel)
                channel.close()

    def watch(self, buffer: float = 64) -> trio.MemoryReceiveChannel[ContextChange]:
        """A channel of the changes from now on (``async for change in context.watch()``).

        It closes after the ``ended`` change. Close it to stop watching; a watcher that falls ``buffer``
        changes behind is dropped (its channel closes), so a stuck plugin can never block the others.
        """
        send, receive = trio.open_memory_channel[ContextChange](buffer)
        self._watchers.append(send)
        return receive

    def end(self, reason: str) -> None:
        self.set_state(RegistrationState.DEREGISTERED, reason)
        self.publish(ContextChange(ContextChange.ENDED, reason))
        for channel in self._watchers:
            channel.close()
        self._watchers.clear()


class ContextRegistry:
    """All live registration contexts of a gateway, by private identity."""

    def __init__(self) -> None:
        self._by_private_identity: dict[str, RegistrationContext] = {}
        self._by_contact_user: dict[str, RegistrationContext] = {}  # every incoming request looks here

    def get(self, private_identity: str) -> RegistrationContext | None:
        return self._by_private_identity.get(private_identity)

    def add(self, context: RegistrationContext) -> RegistrationContext:
        if context.private_identity in self._by_private_identity:
            raise ValueError(f"a context for {context.private_identity} exists already")
        self._by_private_identity[context.private_identity] = context
        if context.user_agent is not None:
            self._by_contact_user[context.user_agent.contact_user] = context
        return context

    def remove(self, context: RegistrationContext) -> None:
        if self._by_private_identity.get(context.private_identity) is context:
            del self._by_private_identity[context.private_identity]
        if context.user_agent is not None and self._by_contact_user.get(context.user_agent.contact_user) is context:
            del self._by_contact_user[context.user_agent.contact_user]

    def for_public_identity(self, uri: str) -> RegistrationContext | None:
        for context in self._by_private_identity.values():
            if any(identity.uri == uri for identity in context.public_identities):
                return context
        return None

    def for_contact_user(self, user: str) -> RegistrationContext | None:
        """The context whose user agent registered a Contact with this user part (requests from the IMS)."""
        context = self._by_contact_user.get(user)
        if context is None or context.user_agent is None or context.user_agent.contact_user != user:
            return None
        return context

    def __iter__(self):
        return iter(list(self._by_private_identity.values()))

    def __len__(self) -> int:
        return len(self._by_private_identity)
