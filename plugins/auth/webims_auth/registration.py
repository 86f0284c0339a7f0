"""One subscriber's IMS registration: REGISTER, refresh before expiry, recover, de-register.

The registration keeps the context's state honest: ``registered`` while the IMS core has our contact,
``reconnecting`` (with a reason the portal shows) while a refresh fails and we retry with backoff, and
``deregistered`` at the end. A keep-alive OPTIONS to the IMS core notices an outage between refreshes; when the
core answers again we register anew at once, because a restarted core may have forgotten us.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import attrs
import trio

from webims import log
from webims.context import PublicIdentity, RegistrationContext, RegistrationState
from webims.ims.agent import UserAgent
from webims.sip import Contact, Response, new_call_id

_log = log.get("auth.registration")
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0


@attrs.frozen
class RegistrationPolicy:
    expires: int = 600
    keepalive_interval: float = 30.0
    # the public identity a REGISTER is sent for: TS 23.003 §13.4B's temporary public identity of the IMPI
    identity_template: str = "sip:{username}@{domain}"


class RegistrationFailed(Exception):
    """REGISTER did not succeed. ``status`` is the SIP status (0 when nothing answered)."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason

    @property
    def wrong_credentials(self) -> bool:
        return self.status in (401, 403, 404)


class Registration:
    def __init__(self, context: RegistrationContext, agent: UserAgent, policy: RegistrationPolicy,
                 on_ended: Callable[[str], Awaitable[None]] | None = None):
        self.context = context
        # called when the IMS refuses us for good (credentials no longer accepted); ends the login
        self.on_ended = on_ended
        self.agent = agent
        self.policy = policy
        self.public_identity = policy.identity_template.format(username=agent.credentials.username,
                                                               domain=agent.domain)
        self.expires = policy.expires
        self.call_id = None
        self.gruu: str | None = None
        self.registers_sent = 0
        self._cancel = trio.CancelScope()

    # --- one REGISTER ------------------------------------------------------------------------------------------

    async def register(self, expires: int | None = None) -> Response:
        """Send REGISTER (following 423 Interval Too Brief); apply a 2xx to the context; raise on failure."""
        expires = self.policy.expires if expires is None else expires
        for _ in range(3):
            response = await self._send_register(expires)
            if response.status == 423 and expires:
                minimum = response.headers.get("Min-Expires") or ""
                if minimum.isdecimal() and int(minimum) > expires:
                    expires = int(minimum)
                    continue
            break
        if not 200 <= response.status < 300:
            raise RegistrationFailed(response.status, response.reason)
        if expires:
            self._apply(response)
        return response

    async def _send_register(self, expires: int) -> Response:
        self.call_id = self.call_id or new_call_id()  # one Call-ID for all REGISTERs of a binding (§10.2.4)
        request = self.agent.build_request(
            "REGISTER", f"sip:{self.agent.domain}", from_uri=self.public_identity, to_uri=self.public_identity,
            call_id=self.call_id,
            route=(),  # a REGISTER goes to the registrar without the Service-Route (RFC 3608 §6)
            headers=[("Contact", self.agent.contact(reg_id=1)), ("Expires", str(expires)),
                     ("Supported", "path, outbound, gruu")])
        self.registers_sent += 1
        _log.info("register.sent", impi=self.agent.credentials.username, expires=expires)
        return await self.agent.send(request)

    def _apply(self, response: Response) -> None:
        ours = self._our_binding(response)
        if ours is not None and ours.expires is not None:
            self.expires = ours.expires
        elif response.expires is not None:
            self.expires = response.expires
        self.gruu = ours.param("pub-gruu") if ours is not None else None
        self.agent.service_route = tuple(response.name_addrs("Service-Route"))
        identities = [PublicIdentity(str(address.uri), address.display_name or "")
                      for address in response.name_addrs("P-Associated-URI")]
        if not identities:  # a registrar without IMS headers: the registered identity is the only one
            identities = [PublicIdentity(self.public_identity)]
        if tuple(identities) != self.context.public_identities:
            self.context.set_identities(identities)
        self.context.set_state(RegistrationState.REGISTERED)

    def _our_binding(self, response: Response) -> Contact | None:
        for contact in response.contacts:
            if contact.sip_instance and contact.sip_instance.strip("<>\"") == self.agent.instance_id:
                return contact
            if contact.uri is not None and str(contact.uri).split(";")[0] == self.agent.contact_uri().split(";")[0]:
                return contact
        return None

    # --- keeping it ------------------------------------------------------------------------------------------

    async def maintain(self) -> None:
        """Refresh before expiry and watch the IMS core; runs until cancelled (logout, grace period over)."""
        with self._cancel:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._refresh_loop)
                nursery.start_soon(self._keepalive_loop)

    def stop(self) -> None:
        self._cancel.cancel()

    async def _refresh_loop(self) -> None:
        while True:
            # Refresh at 50-70% of the interval: early enough to survive a retry, jittered so that many
            # subscribers logged in at once do not refresh at once.
            await trio.sleep(self.expires * random.uniform(0.5, 0.7))
            await self.reregister("refresh")

    async def reregister(self, why: str) -> None:
        """Register again until it works, showing "reconnecting" meanwhile; wrong credentials end the session."""
        delay = BACKOFF_FIRST
        while True:
            try:
                await self.register()
                _log.info("register.renewed", impi=self.agent.credentials.username, why=why, expires=self.expires)
                return
            except RegistrationFailed as failure:
                if failure.wrong_credentials:
                    if self.on_ended is not None:
                        await self.on_ended("The IMS network no longer accepts your credentials.")
                    return
                self.context.set_state(RegistrationState.RECONNECTING,
                                       f"The IMS network did not answer ({failure.status} {failure.reason}); "
                                       f"retrying in {delay:.0f} s.")
                _log.warning("register.failed", impi=self.agent.credentials.username, status=failure.status,
                             retry_in=delay)
            await trio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, BACKOFF_MAX)

    async def _keepalive_loop(self) -> None:
        while True:
            await trio.sleep(self.policy.keepalive_interval)
            if not await self._core_answers():
                self.context.set_state(RegistrationState.RECONNECTING,
                                       "The IMS network is not reachable; reconnecting…")
                await self._wait_for_core()
                await self.reregister("IMS core back")

    async def _core_answers(self) -> bool:
        """An OPTIONS to the IMS core: any answer within the probe time means it is there."""
        request = self.agent.build_request("OPTIONS", f"sip:{self.agent.domain}", from_uri=self.public_identity,
                                           route=())
        # Not the transaction's 32 s Timer F: an outage should show within seconds.
        with trio.move_on_after(max(2.0, min(self.policy.keepalive_interval, 8.0))):
            response = await self.agent.send(request, authenticate=False)
            return response.status not in (408, 503)
        return False

    async def _wait_for_core(self) -> None:
        delay = BACKOFF_FIRST
        while not await self._core_answers():
            await trio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX / 4)

    async def deregister(self) -> None:
        """Remove our binding (Expires: 0). Best effort: the binding expires anyway if this is lost."""
        self.stop()
        with trio.move_on_after(5):
            try:
                await self.register(expires=0)
            except RegistrationFailed as failure:
                _log.info("deregister.failed", impi=self.agent.credentials.username, status=failure.status)

