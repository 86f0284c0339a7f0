"""One subscription of hers (RFC 6665): SUBSCRIBE, its dialog, the NOTIFYs, refreshes and renewals. Trio layer.

The same shape serves every package webims watches: a contact's ``presence``, her own ``presence.winfo``, a
resource list. What a NOTIFY body means is the owner's business (``on_notify``); this module keeps the dialog
alive and says how the subscription stands (``pending``, ``active``, ``terminated``) through ``on_state``.

A subscription runs as a task. It acts when it is due: a refresh at 50-70 % of the granted interval, a renewal
when the IMS forgot the dialog (481) or ended it (NOTIFY terminated, with the RFC 6665 reason deciding when,
:mod:`webims_presence.resubscribe`). Cancelling the task unsubscribes (Expires: 0) within a bound: nothing is
left subscribed in the IMS when a contact is removed or she logs out.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable

import attrs
import trio

from webims import log
from webims.context import DialogClaim, RegistrationContext
from webims.errors import IdentityError
from webims.ims.alarm import Alarm
from webims.ims.endpoint import ServerTransaction
from webims.sip import RemoteProtocolError, Request, Response, SubscriptionState, new_tag
from webims.sip.dialog import Dialog
from webims.sip.headers import EventHeader
from webims_presence import resubscribe
from webims_presence.goodbye import say_goodbye
from webims_presence.xmldoc import DocumentError

SERVICE = "presence"
_log = log.get("presence.subscription")

NotifyHandler = Callable[[Request, SubscriptionState], Awaitable[None]]
StateHandler = Callable[[str, str], Awaitable[None]]


class NotifyRoutes:
    """Which subscription a NOTIFY belongs to, by (Call-ID, our tag): also before the SUBSCRIBE's 2xx is in,
    since a NOTIFY may overtake it (RFC 6665 §4.1.2.4)."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Subscription] = {}

    def add(self, key: tuple[str, str], subscription: Subscription) -> None:
        self._by_key[key] = subscription

    def remove(self, key: tuple[str, str]) -> None:
        self._by_key.pop(key, None)

    def find(self, request: Request) -> Subscription | None:
        return self._by_key.get((request.call_id, request.to_tag or ""))

    def __len__(self) -> int:
        return len(self._by_key)


@attrs.frozen
class SipSide:
    """What every subscription of one subscriber shares: her context, the NOTIFY routes, and a limit on the
    SUBSCRIBEs in flight (a login with a thousand contacts must not flood the IMS core at once)."""

    context: RegistrationContext
    routes: NotifyRoutes
    limiter: trio.CapacityLimiter
    unsubscribe_within: float = 2.0

    @property
    def agent(self):
        return self.context.user_agent


@attrs.frozen
class Watched:
    """What is watched, and how: the resource, the package, the Accept list and extra SUBSCRIBE headers."""

    target: str
    event: str
    accept: tuple[str, ...]
    expires: int
    headers: tuple[tuple[str, str], ...] = ()


class Subscription:
    def __init__(self, sip: SipSide, watched: Watched, identity: str | None,
                 on_notify: NotifyHandler, on_state: StateHandler):
        self.sip = sip
        self.watched = watched
        self.identity = identity  # hers to subscribe as; None: her default identity
        self.on_notify = on_notify
        self.on_state = on_state
        self.dialog: Dialog | None = None
        self.key: tuple[str, str] | None = None
        self.state, self.reason = "init", ""
        self.failures = 0
        self._alarm = Alarm(0.0)  # the next SUBSCRIBE; due inf: none planned
        self._generation = 0  # bumped by every outside change of plan, so a late response cannot undo it
        self._state_changed = trio.Event()

    # --- the task ----------------------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while True:
                await self._alarm.ring()
                generation = self._generation
                due = await self._subscribe()
                if generation == self._generation:
                    self._alarm.due = due
        finally:
            await say_goodbye(self._unsubscribe, self.sip.unsubscribe_within, f"{self.watched.event} subscription")
            self._forget_dialog()

    async def fetch(self, within: float) -> bool:
        """A fetch instead of a subscription (RFC 6665 §4.4.3): one SUBSCRIBE with Expires: 0 and the one
        NOTIFY it brings (to ``on_notify``). False if that NOTIFY did not come ``within`` seconds."""
        try:
            await self._subscribe()
            with trio.move_on_after(within):
                while self.state != "terminated":
                    await self._state_changed.wait()
            return self.state == "terminated"
        finally:
            self._forget_dialog()

    def renew(self, *, anew: bool = False, after: float = 0.0) -> None:
        """Subscribe again soon (``anew``: in a new dialog, e.g. once the IMS core came back)."""
        if anew:
            self._forget_dialog()
        self._plan(trio.current_time() + after)

    def _plan(self, due: float) -> None:
        self._generation += 1
        self._alarm.set(due)

    # --- SUBSCRIBE -------------------------------------------------------------------------------------------

    async def _subscribe(self) -> float:
        """Refresh (or start) the subscription; the trio time of the next SUBSCRIBE."""
        if self.dialog is not None:
            response = await self._send(self._refresh_request())
            if response is not None and 200 <= response.status < 300:
                return self._refresh_due(response)
            self._forget_dialog()  # 481, 408...: the notifier lost it; start over in a new dialog
        request = self._new_request()
        response = await self._send(request)
        if response is None:
            return math.inf  # her identity left her set: nothing to subscribe as any more
        if 200 <= response.status < 300:
            self.failures = 0
            # A NOTIFY that overtook this 2xx may have ended the subscription already: then no dialog.
            if self.dialog is None and response.to_tag and self.key == (request.call_id, request.from_tag):
                self.dialog = Dialog.from_uac(request, response)
            return self._refresh_due(response)
        self.failures += 1
        retry_after = _int(response.headers.get("Retry-After"))
        plan = resubscribe.after_failure(response.status, retry_after, self.failures)
        self._forget_dialog()
        await self._set_state("terminated", plan.reason)
        _log.info("subscribe.failed", target=self.watched.target, event=self.watched.event, status=response.status)
        return trio.current_time() + plan.after if plan.retry else math.inf

    def _new_request(self) -> Request | None:
        agent, watched = self.sip.agent, self.watched
        try:
            identity = self.sip.context.require_identity(self.identity).uri
        except IdentityError:
            return None
        tag = new_tag()
        request = agent.build_request(
            "SUBSCRIBE", watched.target, from_uri=identity, to_uri=watched.target, from_tag=tag,
            headers=[*self._headers(), ("Contact", f"<{agent.contact_uri()}>"),
                     ("P-Preferred-Identity", f"<{identity}>")])
        self._route((request.call_id, tag))
        return request

    def _refresh_request(self) -> Request:
        return self.sip.agent.with_via(self.dialog.create_request("SUBSCRIBE", headers=self._headers()))

    def _headers(self) -> list[tuple[str, str]]:
        watched = self.watched
        return [("Event", watched.event), ("Expires", str(watched.expires)),
                ("Accept", ", ".join(watched.accept)), *watched.headers]

    async def _send(self, request: Request | None) -> Response | None:
        if request is None:
            return None
        in_dialog = request.to_tag is not None
        async with self.sip.limiter:
            response = await self.sip.agent.send(request, authenticate=not in_dialog)
        if in_dialog and self.dialog is not None:
            self.dialog.receive_response(response)
        return response

    def _refresh_due(self, response: Response) -> float:
        granted = response.expires if response.expires is not None else self.watched.expires
        return trio.current_time() + max(1.0, granted * random.uniform(0.5, 0.7))

    # --- the dialog and its routing ------------------------------------------------------------------------

    def _route(self, key: tuple[str, str]) -> None:
        self._forget_dialog()
        self.key = key
        self.sip.routes.add(key, self)
        self.sip.context.claim_dialog(*key, DialogClaim(SERVICE))

    def _forget_dialog(self) -> None:
        if self.key is not None:
            self.sip.routes.remove(self.key)
            self.sip.context.release_dialog(*self.key)
        self.dialog, self.key = None, None

    async def _unsubscribe(self) -> None:
        if self.dialog is None:
            return
        request = self.sip.agent.with_via(self.dialog.create_request(
            "SUBSCRIBE", headers=[("Event", self.watched.event), ("Expires", "0")]))
        await self.sip.agent.send(request, authenticate=False)

    # --- NOTIFY ----------------------------------------------------------------------------------------------

    async def handle_notify(self, transaction: ServerTransaction) -> None:
        notify = transaction.request
        try:
            state = self._check_notify(notify)
            await self.on_notify(notify, state)
        except DocumentError as error:
            await transaction.reply(error.status, _reason(error.reason), headers=self._accept_header(error))
            return
        await transaction.reply(200)
        await self._apply_state(state)

    def _check_notify(self, notify: Request) -> SubscriptionState:
        """Vet a NOTIFY as RFC 6665 §4.1.3 asks; DocumentError says how to refuse it."""
        try:
            event = EventHeader.parse(notify.headers.get("Event") or "")
        except RemoteProtocolError:
            raise DocumentError("NOTIFY without a valid Event header") from None
        if event.package != self.watched.event:
            raise DocumentError(f"this subscription is to {self.watched.event}, not {event.package}", 489)
        if self.dialog is not None:
            rejection = self.dialog.receive_request(notify)
            if rejection is not None:
                raise DocumentError(rejection.reason, rejection.status)
        value = notify.headers.get("Subscription-State")
        try:
            state = SubscriptionState.parse(value or "")
        except RemoteProtocolError:
            raise DocumentError("NOTIFY without a valid Subscription-State (RFC 6665 §8.2.3)") from None
        if notify.body and notify.media_type not in self.watched.accept:
            raise DocumentError(f"{notify.media_type} was not asked for", 415)
        return state

    def _accept_header(self, error: DocumentError) -> list[tuple[str, str]]:
        return [("Accept", ", ".join(self.watched.accept))] if error.status == 415 else []

    async def _apply_state(self, state: SubscriptionState) -> None:
        if state.state in ("active", "pending"):
            await self._set_state(state.state, "")
            due = trio.current_time() + max(1.0, state.expires * 0.8) if state.expires is not None else math.inf
            if due < self._alarm.due:  # the notifier shortened the subscription (RFC 6665 §4.1.3)
                self._plan(due)
            return
        plan = resubscribe.after_termination(state.reason, state.retry_after)
        self._forget_dialog()
        await self._set_state("terminated", plan.reason)
        self._plan(trio.current_time() + plan.after if plan.retry else math.inf)

    async def _set_state(self, state: str, reason: str) -> None:
        if (state, reason) != (self.state, self.reason):
            self.state, self.reason = state, reason
            self._state_changed.set()
            self._state_changed = trio.Event()
            await self.on_state(state, reason)


def _int(value: str | None) -> int | None:
    value = (value or "").split(";", 1)[0].strip()
    return int(value) if value.isdigit() else None


def _reason(text: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)[:120]
