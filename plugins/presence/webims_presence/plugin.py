"""The presence service's hooks: browser requests (docs/presence.md), NOTIFYs from the IMS, users' lifetimes.

One :class:`~webims_presence.user.PresenceUser` per logged-in subscriber, started when her first tab attaches
and ended with her registration context.
"""

from __future__ import annotations

from pathlib import Path

import trio

import webims_presence
from webims import log
from webims.config import Setting, in_range, one_of
from webims.context import ContextChange, RegistrationContext, RegistrationState
from webims.errors import ServiceError
from webims.hookspecs import hookimpl
from webims.service import PortalAssets, Service, SipRoute
from webims_presence import browser_api
from webims_presence.store import SqliteStore, UserStore
from webims_presence.store_xcap import XcapUserStore
from webims_presence.subscription import NotifyRoutes
from webims_presence.user import PresenceConfig, PresenceUser
from webims_presence.xcap_client import XcapClient

STATIC = Path(__file__).parent / "static"
READY_WITHIN = 10.0
_log = log.get("presence")


def _seconds(low: float, high: float):
    return lambda value: None if low <= value <= high else f"must be {low} to {high}"


def _list_uri(value: str) -> str | None:
    if value and not (value.startswith(("sip:", "sips:")) and "{user}" in value):
        return "must be a sip: URI template with {user} (and optionally {domain}), or empty"
    return None


def _http_url(value: str) -> str | None:
    return None if value == "" or value.startswith(("http://", "https://")) else "must be an http(s) URL or empty"


class PresencePlugin:
    def __init__(self) -> None:
        self.gateway = None
        self.config: PresenceConfig | None = None
        self.xcap_root = ""
        self.sqlite: SqliteStore | None = None
        self.limiter: trio.CapacityLimiter | None = None
        self.routes = NotifyRoutes()
        self.users: dict[str, PresenceUser] = {}

    # --- declarations ------------------------------------------------------------------------------------------

    @hookimpl
    def webims_service(self):
        return Service(name="presence", version=webims_presence.__version__,
                       summary="Her status published; her contacts' status watched; who may watch her",
                       messages=browser_api.MESSAGES)

    @hookimpl
    def webims_settings_schema(self):
        return {
            "publish_expires": Setting(int, 3600, "PUBLISH interval asked for, s", in_range(60, 86400)),
            "subscribe_expires": Setting(int, 3600, "SUBSCRIBE interval asked for, s", in_range(60, 86400)),
            "publish_for": Setting(str, "default", "identities published: default, or all of her set",
                                   one_of("default", "all")),
            "away_after_seconds": Setting((int, float), 30, "without a tab this long she shows away; 0: never",
                                          _seconds(0, 86400)),
            "store_path": Setting(str, "presence.sqlite",
                                  "SQLite file of contacts, decisions and saved status (no XCAP root)"),
            "xcap_root": Setting(str, "", "XCAP root URL for resource-lists and pres-rules; empty: SQLite",
                                 _http_url),
            "max_contacts": Setting(int, 1000, "longest contact list", in_range(1, 10000)),
            "max_document_bytes": Setting(int, 65536, "largest presence or XCAP document accepted",
                                          in_range(4096, 1 << 20)),
            "fetch_timeout": Setting((int, float), 5, "how long a one-time status fetch waits, s", _seconds(0.5, 60)),
            "subscribe_concurrency": Setting(int, 32, "SUBSCRIBEs in flight at once on this gateway",
                                             in_range(1, 1000)),
            "shutdown_seconds": Setting((int, float), 2, "how long unsubscribing and unpublishing may take",
                                        _seconds(0, 60)),
            "rls_uri": Setting(str, "", "her list URI at a resource list server, e.g. sip:{user}-list@{domain}; "
                                        "empty: one subscription per contact", _list_uri),
        }

    @hookimpl
    def webims_portal_assets(self):
        return PortalAssets(STATIC, modules=["presence.js"], styles=["presence.css"])

    @hookimpl
    def webims_sip_routes(self):
        return [SipRoute("NOTIFY", event="presence"), SipRoute("NOTIFY", event="presence.winfo")]

    # --- gateway lifetime ---------------------------------------------------------------------------------------

    @hookimpl
    def webims_gateway_started(self, gateway, settings):
        self.gateway = gateway
        self.config = PresenceConfig(
            publish_expires=settings["publish_expires"], subscribe_expires=settings["subscribe_expires"],
            publish_for=settings["publish_for"], away_after=float(settings["away_after_seconds"]),
            max_contacts=settings["max_contacts"], max_document_bytes=settings["max_document_bytes"],
            fetch_timeout=float(settings["fetch_timeout"]), shutdown_seconds=float(settings["shutdown_seconds"]),
            rls_uri=settings["rls_uri"])
        if settings["rls_uri"] and not settings["xcap_root"]:
            raise ValueError("settings.presence.rls_uri needs xcap_root: the list server reads her list from XCAP")
        self.limiter = trio.CapacityLimiter(settings["subscribe_concurrency"])
        self.xcap_root = settings["xcap_root"]
        if not self.xcap_root:
            self.sqlite = SqliteStore(settings["store_path"])

    @hookimpl
    async def webims_gateway_stopping(self, gateway):
        with trio.move_on_after(self.config.shutdown_seconds + 1):
            for user in list(self.users.values()):
                user.scope.cancel()
            for user in list(self.users.values()):
                await user.done.wait()
        if self.sqlite is not None:
            self.sqlite.close()

    # --- users ----------------------------------------------------------------------------------------------------

    def _user(self, context: RegistrationContext) -> PresenceUser:
        user = self.users.get(context.private_identity)
        if user is not None and user.context is context:
            return user
        if context.state == RegistrationState.DEREGISTERED:
            raise ServiceError("not_logged_in", "Your registration has ended; log in again.")
        user = PresenceUser(context, self.config, self._store(context), self.routes, self.limiter)
        self.users[context.private_identity] = user
        self.gateway.nursery.start_soon(self._run, user)
        return user

    async def _run(self, user: PresenceUser) -> None:
        """Her presence, contained: a failure in it ends her presence (logged), never the gateway."""
        try:
            await user.run()
        except Exception:
            _log.exception("user.failed", impi=user.context.private_identity)
            if self.users.get(user.context.private_identity) is user:
                del self.users[user.context.private_identity]

    def _store(self, context: RegistrationContext) -> UserStore:
        owner = context.require_identity(None).uri
        if not self.xcap_root:
            return self.sqlite.for_owner(owner)
        credentials = context.user_agent.credentials
        client = XcapClient(self.xcap_root, credentials.username, credentials.password)
        return XcapUserStore(client, owner, self.config.max_document_bytes)

    @hookimpl
    async def webims_context_changed(self, context, change):
        if change.kind in (ContextChange.ENDING, ContextChange.ENDED):
            user = self.users.pop(context.private_identity, None)
            if user is not None and user.context is context:
                user.scope.cancel()  # her tasks unsubscribe and unpublish as they end
                if change.kind == ContextChange.ENDING:
                    await user.done.wait()  # before auth removes her registration
            return
        if change.kind == ContextChange.BROWSER_ATTACHED:
            self._user(context)
        user = self.users.get(context.private_identity)
        if user is not None and user.context is context:
            await user.on_change(change)

    # --- browser requests -------------------------------------------------------------------------------------------

    @hookimpl
    async def webims_handle_message(self, request, session):
        user = self._user(session.context)
        with trio.move_on_after(READY_WITHIN):
            await user.ready.wait()
        if not user.ready.is_set():
            raise ServiceError("unavailable", "Your presence is still starting; try again in a moment.")
        return await browser_api.handle(user, request.type, request.body)

    # --- the IMS side -------------------------------------------------------------------------------------------------

    @hookimpl
    async def webims_handle_sip_request(self, request, context, transaction):
        subscription = self.routes.find(request)
        if subscription is None or subscription.sip.context is not context:
            await transaction.reply(481, "Subscription does not exist")
            return
        await subscription.handle_notify(transaction)
