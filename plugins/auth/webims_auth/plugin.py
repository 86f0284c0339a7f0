"""The auth service: operator credentials in, one IMS registration per subscriber shared by all her tabs.

Browser messages (docs/auth.md): ``login``, ``resume``, ``logout``; events ``registration`` (state and
identities changed) and ``logged_out`` (with the reason). The IMS side: REGISTER with digest, the reg event
subscription, and a keep-alive that notices an IMS core outage.
"""

from __future__ import annotations

import hmac
from pathlib import Path

import trio

import webims_auth
from webims import log
from webims.config import Setting, in_range
from webims.context import ContextChange, RegistrationContext
from webims.errors import ServiceError
from webims.hookspecs import hookimpl
from webims.ims.agent import Credentials, UserAgent
from webims.service import PortalAssets, Service, SipRoute
from webims_auth.reg_event import RegEventSubscription
from webims_auth.registration import Registration, RegistrationFailed, RegistrationPolicy
from webims_auth.resume import ResumeTokens
from webims_auth.throttle import LoginThrottle, ThrottlePolicy

STATIC = Path(__file__).parent / "static"
# One text for every credential failure: it must not tell which of username and password was wrong.
LOGIN_FAILED = "The username or password is not correct."
MAX_FIELD = 256
_log = log.get("auth")


class Subscriber:
    """What the auth service keeps per logged-in private identity."""

    def __init__(self, context: RegistrationContext, agent: UserAgent, password: str,
                 registration: Registration, reg_event: RegEventSubscription):
        self.context = context
        self.agent = agent
        self.password = password
        self.registration = registration
        self.reg_event = reg_event
        self.scope = trio.CancelScope()
        self.grace: trio.CancelScope | None = None

    async def run(self) -> None:
        with self.scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.registration.maintain)
                nursery.start_soon(self.reg_event.run)
                nursery.start_soon(self._follow_announced_identities)

    async def _follow_announced_identities(self) -> None:
        """An identity the reg event names that her set lacks: register again, and the registrar's answer (its
        P-Associated-URI) brings the set, which every tab is then told of."""
        while True:
            await self.reg_event.identities_announced()
            await self.registration.reregister("identities announced")


class AuthPlugin:
    def __init__(self) -> None:
        self.gateway = None
        self.settings = None
        self.subscribers: dict[str, Subscriber] = {}
        self.tokens = ResumeTokens()
        self.throttle: LoginThrottle | None = None
        self._login_locks: dict[str, trio.Lock] = {}

    # --- declarations ------------------------------------------------------------------------------------------

    @hookimpl
    def webims_service(self):
        return Service(name="auth", version=webims_auth.__version__,
                       summary="Log in with operator credentials; IMS registration",
                       messages={"login", "resume", "logout"}, requires_login=False)

    @hookimpl
    def webims_settings_schema(self):
        return {
            "register_expires": Setting(int, 600, "registration interval asked for, s", in_range(60, 86400)),
            "keepalive_interval": Setting((int, float), 30, "seconds between IMS core reachability checks",
                                          lambda v: None if 0.2 <= v <= 3600 else "must be 0.2 to 3600"),
            "grace_seconds": Setting(int, 60, "how long a registration outlives its last tab", in_range(0, 3600)),
            "identity_template": Setting(str, "sip:{username}@{domain}", "public identity a REGISTER is for"),
            "max_failures": Setting(int, 5, "failed logins before a lockout", in_range(1, 1000)),
            "failure_window_seconds": Setting(int, 300, "window the failures are counted in", in_range(1, 86400)),
            "lockout_seconds": Setting(int, 60, "how long a lockout lasts", in_range(1, 86400)),
            "shutdown_seconds": Setting((int, float), 2, "how long shutdown waits for de-registrations",
                                        lambda v: None if 0 <= v <= 60 else "must be 0 to 60"),
        }

    @hookimpl
    def webims_portal_assets(self):
        return PortalAssets(STATIC, modules=["auth.js"], styles=["auth.css"])

    @hookimpl
    def webims_sip_routes(self):
        return [SipRoute("NOTIFY", event="reg")]

    @hookimpl
    def webims_gateway_started(self, gateway, settings):
        self.gateway = gateway
        self.settings = settings
        self.throttle = LoginThrottle(ThrottlePolicy(settings["max_failures"], settings["failure_window_seconds"],
                                                     settings["lockout_seconds"]))

    @hookimpl
    async def webims_gateway_stopping(self, gateway):
        # De-register everyone at once, within a bound: a dead IMS core must not hold the shutdown up.
        with trio.move_on_after(self.settings["shutdown_seconds"]):
            async with trio.open_nursery() as nursery:
                for subscriber in list(self.subscribers.values()):
                    nursery.start_soon(self._end, subscriber, "The gateway is shutting down.")

    # --- browser requests --------------------------------------------------------------------------------------

    @hookimpl
    async def webims_handle_message(self, request, session):
        if request.type == "login":
            return await self._login(request.body, session)
        if request.type == "resume":
            return self._resume(request.body, session)
        return await self._logout(session)

    async def _login(self, body, session):
        username, password = body.get("username"), body.get("password")
        if not (_text(username) and _text(password)):
            raise ServiceError("bad_request", "Enter your username and password.")
        now = trio.current_time()
        keys = [f"user:{username.lower()}", f"addr:{session.peer.rpartition(':')[0]}"]
        wait = self.throttle.retry_after(keys, now)
        if wait:
            raise ServiceError("too_many_attempts", f"Too many failed logins. Try again in {wait} s.",
                               retry_after=wait)
        # One login per username at a time, so two tabs logging in at once share one registration.
        lock = self._login_locks.setdefault(username, trio.Lock())
        try:
            async with lock:
                subscriber = self.subscribers.get(username)
                if subscriber is not None:
                    if not hmac.compare_digest(password.encode(), subscriber.password.encode()):
                        self.throttle.failed(keys, now)
                        raise ServiceError("login_failed", LOGIN_FAILED)
                else:
                    subscriber = await self._register_new(username, password, keys, now)
        finally:
            if not lock.statistics().tasks_waiting and not lock.locked():
                self._login_locks.pop(username, None)  # made-up usernames must not pile up locks
        self.throttle.succeeded(keys[:1])
        session.attach(subscriber.context)
        _log.info("login", impi=username, session=session.id)
        return self._login_result(subscriber)

    async def _register_new(self, username: str, password: str, keys: list[str], now: float) -> Subscriber:
        gateway, settings = self.gateway, self.settings
        context = RegistrationContext(private_identity=username)
        credentials = Credentials(username, password, gateway.config.ims.realm)
        agent = UserAgent(gateway.sip.endpoint, gateway.sip.proxy, gateway.config.ims.domain, credentials,
                          instance_id=gateway.sip.instance_id(username),
                          feature_tags=gateway.plugins.capabilities.feature_tags)
        context.user_agent = agent
        policy = RegistrationPolicy(settings["register_expires"], settings["keepalive_interval"],
                                    settings["identity_template"])
        registration = Registration(context, agent, policy)
        try:
            await registration.register()
        except RegistrationFailed as failure:
            if failure.wrong_credentials:
                self.throttle.failed(keys, now)
                _log.info("login.refused", impi=username, status=failure.status)
                raise ServiceError("login_failed", LOGIN_FAILED) from None
            raise ServiceError("ims_unreachable", f"The IMS network could not register you right now "
                                                  f"({failure.status} {failure.reason}). Try again in a moment.")
        subscriber = Subscriber(context, agent, password, registration, None)
        registration.on_ended = lambda reason: self._end_soon(subscriber, reason)
        subscriber.reg_event = RegEventSubscription(
            context, agent, lambda event: self._end_soon(subscriber, _deregistered_text(event)))
        self.subscribers[username] = subscriber
        gateway.add_context(context)
        gateway.nursery.start_soon(subscriber.run)
        return subscriber

    def _resume(self, body, session):
        token = body.get("token")
        private_identity = self.tokens.redeem(token) if _text(token) else None
        subscriber = self.subscribers.get(private_identity) if private_identity else None
        if subscriber is None:
            raise ServiceError("resume_failed", "Your session has ended; please log in again.")
        session.attach(subscriber.context)
        _log.info("resume", impi=private_identity, session=session.id)
        return self._login_result(subscriber)

    async def _logout(self, session):
        context = session.context
        subscriber = self.subscribers.get(context.private_identity) if context else None
        if subscriber is not None:
            await self._end(subscriber, "You logged out.")
        return {}

    def _login_result(self, subscriber: Subscriber) -> dict:
        context = subscriber.context
        return {
            "private_identity": context.private_identity,
            **_identities(context),
            "state": context.state.value,
            "resume_token": self.tokens.issue(context.private_identity),
            "grace_seconds": self.settings["grace_seconds"],
        }

    # --- lifetime ----------------------------------------------------------------------------------------------

    async def _end_soon(self, subscriber: Subscriber, reason: str) -> None:
        """The IMS ended the registration: log out from a task of the gateway's, not the subscriber's own."""
        self.gateway.nursery.start_soon(self._end, subscriber, reason, False)

    async def _end(self, subscriber: Subscriber, reason: str, deregister: bool = True) -> None:
        """Log the subscriber out: de-register (unless the IMS did), tell every tab why, end the context (once)."""
        context = subscriber.context
        if self.subscribers.get(context.private_identity) is not subscriber:
            return
        del self.subscribers[context.private_identity]
        self.tokens.revoke(context.private_identity)
        subscriber.scope.cancel()
        if deregister:
            # Other services say goodbye first (unpublish, unsubscribe), while she is still registered.
            await self.gateway.broadcast("webims_context_changed", context=context,
                                         change=ContextChange(ContextChange.ENDING, reason))
            await subscriber.reg_event.unsubscribe()
            await subscriber.registration.deregister()
        for tab in list(context.browsers):
            await tab.send_event("auth", "logged_out", {"reason": reason})
            tab.detach()
        context.end(reason)
        _log.info("logout", impi=context.private_identity, reason=reason)

    @hookimpl
    async def webims_session_ended(self, session, reason):
        context = session.context
        subscriber = self.subscribers.get(context.private_identity) if context else None
        if subscriber is None or context.browsers - {session}:
            return
        self.gateway.nursery.start_soon(self._grace_period, subscriber)

    async def _grace_period(self, subscriber: Subscriber) -> None:
        """With no tab left, keep the registration ``grace_seconds`` for a reload or a short drop, then end it."""
        with trio.CancelScope() as subscriber.grace:
            await trio.sleep(self.settings["grace_seconds"])
            if not subscriber.context.browsers:
                await self._end(subscriber, f"No tab was open for {self.settings['grace_seconds']} s.")

    @hookimpl
    async def webims_context_changed(self, context, change):
        subscriber = self.subscribers.get(context.private_identity)
        if change.kind == ContextChange.BROWSER_ATTACHED and subscriber and subscriber.grace:
            subscriber.grace.cancel()
        if change.kind in (ContextChange.STATE, ContextChange.IDENTITIES):
            body = {"state": context.state.value, "reason": context.state_reason, **_identities(context)}
            await context.tell_tabs("auth", "registration", body)

    # --- the IMS side ------------------------------------------------------------------------------------------

    @hookimpl
    async def webims_handle_sip_request(self, request, context, transaction):
        subscriber = self.subscribers.get(context.private_identity)
        if subscriber is None:
            await transaction.reply(481)
            return
        await subscriber.reg_event.handle_notify(transaction)


def _text(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_FIELD


def _identities(context: RegistrationContext) -> dict:
    default = context.default_identity
    return {
        "identities": [{"uri": identity.uri, "display_name": identity.display_name,
                        "default": identity == default} for identity in context.public_identities],
        "default": default.uri if default else None,
    }


def _deregistered_text(event: str) -> str:
    reasons = {
        "deactivated": "The IMS network ended your registration.",
        "unregistered": "The IMS network ended your registration.",
        "rejected": "The IMS network rejected your registration.",
        "expired": "Your registration expired.",
        "probation": "The IMS network asked to register again later.",
    }
    return reasons.get(event, f"The IMS network ended your registration ({event}).")
