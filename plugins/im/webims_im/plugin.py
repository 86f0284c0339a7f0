"""The im service's hooks: browser requests (docs/im.md), incoming MESSAGE and chat INVITEs, the store's lifetime."""

from __future__ import annotations

from pathlib import Path

import trio

import webims_im
from webims import log
from webims.config import Setting, host_port, in_range
from webims.context import ContextChange, RegistrationContext
from webims.errors import ServiceError
from webims.hookspecs import hookimpl
from webims.service import Capabilities, FeatureTag, PortalAssets, Service, SipRoute
from webims_im import content, page, requests
from webims_im.chat.service import ChatService
from webims_im.errors import ContentError
from webims_im.mailbox import Mailbox
from webims_im.store import Store, StoreError

STATIC = Path(__file__).parent / "static"
MESSAGES = {"message.send", "composing", "conversation.list", "conversation.history", "conversation.read",
            "conversation.identity", "chat.start", "chat.end", "chat.list"}
PURGE_INTERVAL = 3600
_log = log.get("im")


def _msrp_relay(value: str) -> str | None:
    return None if not value or value.startswith(("msrp://", "msrps://")) else \
        f"must be an MSRP URI like msrp://relay.example.net:2855;tcp, not {value!r}"


SETTINGS = {
    "store_path": Setting(str, "run/im/messages.sqlite", "the SQLite file keeping message history"),
    "retention_days": Setting(int, 365, "days messages are kept; 0 keeps them forever", in_range(0, 36500)),
    # RFC 3428 §7: a MESSAGE over 1300 bytes may not fit a UDP path; longer text goes in a chat (MSRP).
    "max_page_bytes": Setting(int, 1300, "largest text sent as one page-mode MESSAGE", in_range(64, 65536)),
    "max_incoming_bytes": Setting(int, 65536, "largest MESSAGE body accepted (413 above)", in_range(1024, 1 << 20)),
    "max_chat_message_bytes": Setting(int, 1 << 20, "largest chat message sent or accepted (413 above)",
                                      in_range(1024, 64 << 20)),
    "msrp_chunk_bytes": Setting(int, 2048, "MSRP chunk size (RFC 4975 §7.1.1)", in_range(256, 65536)),
    "msrp_listen": Setting(str, "127.0.0.1:0", "address of the gateway's MSRP listener (direct chats)", host_port),
    "msrp_relay": Setting(str, "", "MSRP relay to AUTH with (RFC 4976); empty = peers connect directly",
                          _msrp_relay),
    "chat_setup_timeout": Setting(int, 30, "seconds a chat invitation may go unanswered", in_range(5, 300)),
    "msrp_timeout": Setting(int, 30, "seconds to wait for an MSRP response (RFC 4975 §7.1.1)", in_range(1, 300)),
    "shutdown_seconds": Setting((int, float), 2, "how long gateway shutdown waits for chats' BYEs"),
}


class ImPlugin:
    def __init__(self) -> None:
        self.gateway = None
        self.settings = None
        self.store: Store | None = None
        self.chats: ChatService | None = None
        self.mailboxes: dict[RegistrationContext, Mailbox] = {}

    # --- declarations ------------------------------------------------------------------------------------------

    @hookimpl
    def webims_service(self):
        return Service(name="im", version=webims_im.__version__, summary="Messages and chats to and from IMS",
                       messages=MESSAGES)

    @hookimpl
    def webims_settings_schema(self):
        return SETTINGS

    @hookimpl
    def webims_portal_assets(self):
        return PortalAssets(STATIC, modules=["im.js"], styles=["im.css"])

    @hookimpl
    def webims_sip_routes(self):
        return [SipRoute("MESSAGE"), SipRoute("INVITE", media="message")]

    @hookimpl
    def webims_capabilities(self):
        # OMA SIMPLE IM (as RCS chat): page-mode messages and MSRP chat sessions.
        return Capabilities([FeatureTag("+g.oma.sip-im")], accept=content.ACCEPTED)

    # --- lifetime ------------------------------------------------------------------------------------------------

    @hookimpl
    async def webims_gateway_started(self, gateway, settings):
        self.gateway, self.settings = gateway, settings
        try:
            self.store = await Store.open(settings["store_path"])
        except StoreError as error:
            raise RuntimeError(str(error)) from None
        self.chats = await gateway.nursery.start(ChatService(settings).run)
        gateway.nursery.start_soon(self._purge_old_messages)

    async def _purge_old_messages(self) -> None:
        while self.settings["retention_days"]:
            purged = await self.store.purge(self.settings["retention_days"])
            if purged:
                _log.info("store.purged", messages=purged)
            await trio.sleep(PURGE_INTERVAL)

    @hookimpl
    async def webims_gateway_stopping(self, gateway):
        with trio.move_on_after(self.settings["shutdown_seconds"]):
            async with trio.open_nursery() as nursery:
                for mailbox in list(self.mailboxes.values()):
                    nursery.start_soon(self.chats.end_all, mailbox, "The gateway is shutting down.")
        if self.store is not None:
            await self.store.close()

    @hookimpl
    async def webims_context_changed(self, context, change):
        if change.kind == ContextChange.ENDED and context in self.mailboxes:
            mailbox = self.mailboxes.pop(context)
            await self.chats.end_all(mailbox, "You were logged out.")

    def mailbox(self, context: RegistrationContext) -> Mailbox:
        mailbox = self.mailboxes.get(context)
        if mailbox is None:
            # One history per subscription: all her private identities share the implicit set's default.
            owner = context.default_identity.uri if context.default_identity else context.private_identity
            mailbox = Mailbox(context, self.store.history(owner), self.settings, self.gateway.nursery,
                              self.gateway.config.ims.domain)
            self.mailboxes[context] = mailbox
        return mailbox

    # --- browser requests ----------------------------------------------------------------------------------------

    @hookimpl
    async def webims_handle_message(self, request, session):
        mailbox = self.mailbox(session.context)
        handler = getattr(requests, request.type.replace(".", "_"))
        try:
            return await handler(mailbox, self.chats, request.body)
        except StoreError as error:
            _log.error("store.failed", reason=str(error))
            raise ServiceError("store_failed", "The message history is not available right now; try again "
                                               "later.") from None

    # --- the IMS side ------------------------------------------------------------------------------------------

    @hookimpl
    async def webims_handle_sip_request(self, request, context, transaction):
        mailbox = self.mailbox(context)
        if request.method == "MESSAGE":
            await self._incoming_message(mailbox, transaction)
        elif request.to_tag is not None:
            await self.chats.in_dialog(mailbox, transaction)
        else:
            await self.chats.incoming(mailbox, transaction)

    async def _incoming_message(self, mailbox: Mailbox, transaction) -> None:
        request = transaction.request
        try:
            meaning = content.interpret(request.content_type, request.body,
                                        max_bytes=self.settings["max_incoming_bytes"])
        except ContentError as error:
            _log.info("message.refused", status=error.status, reason=error.reason, call_id=request.call_id)
            await transaction.reply(error.status, headers=page.refusal_headers(error.status, error.reason))
            return
        peer_uri, peer_name = page.sender(request)
        identity = page.called_identity(request, mailbox.context)
        if isinstance(meaning, content.Text):
            try:
                stored = await mailbox.store_received(meaning, peer_uri=peer_uri, peer_name=peer_name,
                                                      identity=identity)
            except StoreError as error:
                _log.error("store.failed", reason=str(error))
                await transaction.reply(500, headers=page.refusal_headers(500, "the message could not be stored"))
                return
            await transaction.reply(200)
            if stored is not None:
                await mailbox.announce_received(stored, meaning)
            return
        await transaction.reply(200)
        if isinstance(meaning, content.Report):
            await mailbox.receive_report(meaning.notification)
        else:
            await mailbox.receive_typing(meaning, peer_uri=peer_uri, identity=identity)
