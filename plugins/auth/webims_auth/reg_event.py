"""The reg event subscription (RFC 3680, TS 24.229 §5.1.1.3): the IMS tells us when it drops our registration.

Subscribed after each successful registration; refreshed before it expires; renewed from scratch when the
IMS forgets it (481 on refresh, or a NOTIFY with Subscription-State: terminated).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import trio

from webims import log
from webims.context import DialogClaim, RegistrationContext
from webims.ims.agent import UserAgent
from webims.ims.endpoint import ServerTransaction
from webims.sip import RemoteProtocolError, SubscriptionState
from webims.sip.dialog import Dialog
from webims_auth.reginfo import RegInfoError, ended_with, parse_reginfo, registered_with

SUBSCRIBE_EXPIRES = 600
RETRY_DELAY = 5.0
_log = log.get("auth.reg_event")


class RegEventSubscription:
    def __init__(self, context: RegistrationContext, agent: UserAgent,
                 on_deregistered: Callable[[str], Awaitable[None]], service: str = "auth"):
        self.context = context
        self.agent = agent
        self.on_deregistered = on_deregistered
        self.service = service
        self.dialog: Dialog | None = None
        self.call_id: str | None = None
        self.expires = SUBSCRIBE_EXPIRES
        self._renew = trio.Event()
        self.notifies = 0  # NOTIFYs taken (logs and tests: the first says what the IMS knows of her set)
        self._announced = trio.Event()
        self._asked: set[str] = set()  # identities a NOTIFY announced that we registered again to learn of
        self._subscribed_to: str | None = None  # the identity our subscription is for (her default then)

    async def run(self) -> None:
        """Keep the subscription alive until cancelled."""
        while True:
            if not await self._subscribe():
                await trio.sleep(RETRY_DELAY)
                continue
            with trio.move_on_after(self.expires * random.uniform(0.5, 0.7)):
                await self._renew.wait()
            if self._renew.is_set():
                self._renew = trio.Event()
                self._forget_dialog()

    async def _subscribe(self) -> bool:
        if self.dialog is not None:
            request = self.agent.with_via(self.dialog.create_request(
                "SUBSCRIBE", headers=[("Event", "reg"), ("Expires", str(SUBSCRIBE_EXPIRES)),
                                      ("Accept", "application/reginfo+xml")]))
            response = await self.agent.send(request, authenticate=False)
            if 200 <= response.status < 300:
                self.expires = response.expires or SUBSCRIBE_EXPIRES
                return True
            self._forget_dialog()  # 481 and friends: the IMS lost it; start a new one
        identity = self.context.require_identity(None).uri
        self._subscribed_to = identity
        request = self.agent.build_request(
            "SUBSCRIBE", identity, from_uri=identity,
            headers=[("Event", "reg"), ("Expires", str(SUBSCRIBE_EXPIRES)), ("Accept", "application/reginfo+xml"),
                     ("Contact", f"<{self.agent.contact_uri()}>"),
                     ("P-Preferred-Identity", f"<{identity}>")])
        self.call_id = request.call_id
        response = await self.agent.send(request)
        if not 200 <= response.status < 300:
            _log.warning("reg_event.refused", status=response.status, reason=response.reason)
            return False
        self.expires = response.expires or SUBSCRIBE_EXPIRES
        self.dialog = Dialog.from_uac(request, response)
        self.context.claim_dialog(self.dialog.call_id, self.dialog.local_tag, DialogClaim(self.service))
        return True

    def owns(self, call_id: str) -> bool:
        return call_id == self.call_id

    async def handle_notify(self, transaction: ServerTransaction) -> None:
        notify = transaction.request
        if self.dialog is not None and self.dialog.call_id == notify.call_id:
            rejection = self.dialog.receive_request(notify)
            if rejection is not None:
                await transaction.reply(rejection.status, rejection.reason)
                return
        try:
            info = parse_reginfo(notify.body) if notify.body else None
            state = SubscriptionState.parse(notify.headers.get("Subscription-State") or "active")
        except (RegInfoError, RemoteProtocolError) as error:
            await transaction.reply(400, f"Bad Request ({error})"[:100])
            return
        await transaction.reply(200)
        self.notifies += 1
        ended = ended_with(info, self.agent.contact_uri()) if info else {}
        if ended and self._ends_the_login(ended):
            event = ended.get(self._subscribed_to) or next(iter(ended.values()))
            _log.info("reg_event.deregistered", impi=self.agent.credentials.username, event=event)
            await self.on_deregistered(event)
            return
        if ended:
            self._drop(ended)
        if info is not None:
            self._note_announced(registered_with(info, self.agent.contact_uri()))
        if state.state == "terminated":
            self._renew.set()

    def _ends_the_login(self, ended: dict[str, str]) -> bool:
        """Her registration as a whole ended: the identity we subscribed with (her default when we did) or her
        default now, or every identity she has."""
        default = self.context.default_identity.uri if self.context.default_identity else None
        return (self._subscribed_to in ended or default in ended
                or all(identity.uri in ended for identity in self.context.public_identities))

    def _drop(self, ended: dict[str, str]) -> None:
        """Some identities of her set were deregistered by the network (an operator took them away): they are
        unusable from now on, and her tabs are told. The rest of her login goes on."""
        known = self.context.public_identities
        remaining = [identity for identity in known if identity.uri not in ended]
        if len(remaining) == len(known):
            return  # identities she does not have (already dropped, or never hers): nothing changes
        _log.info("reg_event.identities_deregistered", impi=self.agent.credentials.username,
                  identities={uri: event for uri, event in ended.items() if uri in {i.uri for i in known}})
        self._asked.difference_update(ended)  # announced again later, they are asked about again
        self.context.set_identities(remaining, self.context.default_identity)

    def _note_announced(self, registered: tuple[str, ...]) -> None:
        """An identity registered with us that her set lacks (the operator added it): the set itself is taken from
        the registrar's answer to a REGISTER (P-Associated-URI), never from a NOTIFY, so a forged NOTIFY cannot
        give her an identity. Each is asked about once, so a core that names it differently cannot loop us."""
        known = {identity.uri for identity in self.context.public_identities}
        new = [uri for uri in dict.fromkeys(registered) if uri not in known and uri not in self._asked]
        if new:
            self._asked.update(new)
            _log.info("reg_event.identities_announced", impi=self.agent.credentials.username, identities=new)
            self._announced.set()

    async def identities_announced(self) -> None:
        """Wait until a NOTIFY names an identity registered with us that her set does not have yet."""
        await self._announced.wait()
        self._announced = trio.Event()

    def _forget_dialog(self) -> None:
        if self.dialog is not None:
            self.context.release_dialog(self.dialog.call_id, self.dialog.local_tag)
        self.dialog = None

    async def unsubscribe(self) -> None:
        if self.dialog is None:
            return
        with trio.move_on_after(3):
            request = self.agent.with_via(self.dialog.create_request(
                "SUBSCRIBE", headers=[("Event", "reg"), ("Expires", "0")]))
            await self.agent.send(request, authenticate=False)
        self._forget_dialog()
