"""One subscriber's messaging: her history, her tabs, and what happens to each message in both directions.

Page mode and chat sessions both end here: a text that arrives is stored before it is acknowledged (nothing is
acknowledged that a restart could lose), then shown in every tab; a text she writes is stored as ``sending``,
then moves to sent / stored / delivered / displayed, or failed with a reason in words. Disposition
notifications (RFC 5438) are sent for what she received and applied to what she sent.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from webims import log
from webims.context import RegistrationContext
from webims.errors import ServiceError
from webims_im import content, imdn, page, reasons
from webims_im.store import History, StoredMessage, StoreError
from webims.addressing import peer_key

if TYPE_CHECKING:
    from webims_im.chat.session import Chat

SERVICE = "im"
_log = log.get("im.mailbox")
# RFC 3994 §6.2 suggests refreshing "active" every 90 s at most; our tabs re-send it while she types.
COMPOSING_REFRESH = 90


class Mailbox:
    def __init__(self, context: RegistrationContext, history: History, settings: Mapping[str, Any],
                 nursery: trio.Nursery, domain: str):
        self.context = context
        self.history = history
        self.settings = settings
        self.nursery = nursery
        self.domain = domain
        self.chats: dict[str, Chat] = {}

    async def notify(self, event_type: str, body: dict, *, session: str | None = None) -> None:
        """An event to every tab of hers; a tab that went away meanwhile simply misses it."""
        await self.context.tell_tabs(SERVICE, event_type, body, session=session)

    # --- what she sends ----------------------------------------------------------------------------------------

    async def identity_for(self, peer: str, requested: str | None) -> str:
        """The identity to write to ``peer`` as: the one asked for (remembered for the conversation), the one
        the conversation used last, or her default."""
        if requested is not None:
            identity = self.context.require_identity(requested).uri
            await self.history.set_preferences(peer, identity=identity)
            return identity
        remembered, _ = await self.history.preferences(peer)
        mine = {i.uri for i in self.context.public_identities}
        return self.context.require_identity(remembered if remembered in mine else None).uri

    async def send_text(self, target: str, identity: str, text: str, *, plain: bool = False) -> StoredMessage:
        peer = peer_key(target)
        chat = self.chat_with(peer, identity)
        limit = self.settings["max_chat_message_bytes"] if chat else self.settings["max_page_bytes"]
        if len(text.encode("utf-8")) > limit:
            raise ServiceError("too_large", f"This message is {len(text.encode('utf-8'))} bytes; "
                                            f"{'a chat' if chat else 'a single message'} carries at most {limit}."
                                            + ("" if chat else " Start a chat to send longer text."))
        message_id = uuid.uuid4().hex
        message = await self._store(StoredMessage(message_id, peer, identity, "out", text, "sending", time.time(),
                                                  imdn_id=message_id, chat=chat.id if chat else None))
        await self.notify("message", message.summary())
        if chat is not None:
            await chat.send_text(message)  # its statuses follow as the chat's responses and REPORTs come
            return message
        return await self._send_page(message, target, plain)

    async def _send_page(self, message: StoredMessage, target: str, plain: bool) -> StoredMessage:
        _, plain_peer = await self.history.preferences(message.peer)
        wrap = not (plain or plain_peer)
        response = await self._page(message, target, wrap)
        if response.status == 415 and wrap and "message/cpim" not in (response.headers.get("Accept") or ""):
            # RFC 3428 §7: the peer told us what it takes; plain text from now on, for this conversation.
            await self.history.set_preferences(message.peer, plain_text=True)
            response = await self._page(message, target, False)
        if response.status == 202:
            updated = await self.set_status(message, "stored", reasons.stored_note(message.peer))
        elif 200 <= response.status < 300:
            updated = await self.set_status(message, "sent")
        else:
            updated = await self.set_status(message, "failed", reasons.page_failure(response.status, message.peer))
        # A notification may have overtaken the response and moved the status further already.
        return updated or await self.history.get(message.id) or message

    async def _page(self, message: StoredMessage, target: str, wrap: bool):
        notifications = frozenset({imdn.POSITIVE_DELIVERY, imdn.NEGATIVE_DELIVERY, imdn.DISPLAY})
        content_type, body = content.compose_text(message.text, wrap=wrap, sender=message.identity,
                                                  recipient=target, imdn_id=message.imdn_id,
                                                  notifications=notifications)
        return await page.send(self.context, identity=message.identity, target=target, content_type=content_type,
                               body=body)

    async def send_typing(self, target: str, identity: str, active: bool) -> None:
        peer = peer_key(target)
        chat = self.chat_with(peer, identity)
        if chat is not None:
            await chat.send_typing(active)
            return
        if (await self.history.preferences(peer))[1]:
            return  # a plain-text phone (it refused CPIM): it would refuse is-composing too
        content_type, body = content.compose_typing(active, COMPOSING_REFRESH)
        response = await page.send(self.context, identity=identity, target=target, content_type=content_type,
                                   body=body)
        if response.status == 415:
            await self.history.set_preferences(peer, plain_text=True)

    async def set_status(self, message: StoredMessage, status: str, reason: str = "") -> StoredMessage | None:
        """Move a message forward and tell her tabs; None if it had moved as far already."""
        updated = await self.history.set_status(message.id, status, reason)
        if updated is not None:
            body = {"id": message.id, "peer": message.peer, "status": status}
            if reason:
                body["reason"] = reason
            await self.notify("message.status", body)
        return updated

    # --- what she receives -------------------------------------------------------------------------------------

    async def store_received(self, text: content.Text, *, peer_uri: str, peer_name: str, identity: str,
                             chat: Chat | None = None) -> StoredMessage | None:
        """Keep a received text; None when it is a duplicate (same IMDN Message-ID: a re-delivery).

        Raises :class:`StoreError` when it cannot be kept: the caller must then refuse it (500, or a failure
        REPORT), so that the sender knows it did not arrive. Acknowledge only after this returns.
        """
        if text.imdn_id and await self.history.by_imdn_id(text.imdn_id, "in") is not None:
            return None
        owed = "display" if imdn.DISPLAY in text.notifications else ""
        return await self.history.add(StoredMessage(
            uuid.uuid4().hex, peer_key(peer_uri), identity, "in", text.text, "delivered", time.time(),
            peer_name=peer_name, imdn_id=text.imdn_id, chat=chat.id if chat else None, notify=owed,
            report_to=text.sender or peer_uri))

    async def announce_received(self, message: StoredMessage, text: content.Text) -> None:
        """Show a stored text in every tab, and tell the sender it was delivered if it asked (RFC 5438)."""
        await self.notify("message", message.summary())
        # RFC 3994 §3: a message ends the sender's composing state.
        await self.notify("composing", {"peer": message.peer, "identity": message.identity, "active": False})
        if imdn.POSITIVE_DELIVERY in text.notifications:
            self.nursery.start_soon(self._disposition, message, "delivery", "delivered")

    async def receive_report(self, notification: imdn.Notification) -> None:
        message = await self.history.by_imdn_id(notification.message_id, "out")
        if message is None:
            return  # about a message we no longer keep (retention), or never sent
        if notification.status in ("delivered", "displayed"):
            await self.set_status(message, notification.status)
        elif notification.kind == "delivery" or notification.status == "forbidden":
            await self.set_status(message, "failed", reasons.notification_failure(notification.status, message.peer))

    async def receive_typing(self, typing: content.Typing, *, peer_uri: str, identity: str) -> None:
        await self.notify("composing", {"peer": peer_key(peer_uri), "identity": identity,
                                        "active": typing.composing.active,
                                        "expires": typing.composing.expires_after})

    async def mark_read(self, peer: str) -> None:
        """She has seen the conversation: tell her other tabs, and the senders who asked (RFC 5438 §7)."""
        for message in await self.history.mark_read(peer):
            self.nursery.start_soon(self._disposition, message, "display", "displayed")
        await self.notify("conversation.read", {"peer": peer})

    async def _disposition(self, message: StoredMessage, kind: str, status: str) -> None:
        """Send one notification about ``message`` back to its sender: in its chat if that is still up, else
        as a page-mode MESSAGE to the CPIM From (RFC 5438 §7.2.1.1)."""
        notification = imdn.Notification(message.imdn_id, kind, status, content.now(), message.identity)
        chat = self.chats.get(message.chat or "")
        try:
            if chat is not None and chat.is_active:
                await chat.send_report(notification)
                return
            content_type, body = content.compose_report(notification, sender=message.identity,
                                                        recipient=message.report_to, imdn_id=uuid.uuid4().hex)
            response = await page.send(self.context, identity=message.identity, target=message.report_to,
                                       content_type=content_type, body=body)
            _log.info("imdn.sent", kind=kind, status=response.status)
        except Exception:  # a lost notification is no reason to disturb anything else
            _log.exception("imdn.failed", kind=kind)

    # --- chats -------------------------------------------------------------------------------------------------

    def chat_with(self, peer: str, identity: str) -> Chat | None:
        """Her active chat session with ``peer`` as ``identity``, if there is one: texts then go through it."""
        return next((chat for chat in self.chats.values()
                     if chat.is_active and chat.peer == peer and chat.identity == identity), None)

    async def _store(self, message: StoredMessage) -> StoredMessage:
        try:
            return await self.history.add(message)
        except StoreError as error:
            _log.error("store.failed", reason=str(error))
            raise ServiceError("store_failed", "The message could not be kept on the gateway; it was not sent. "
                                              "Try again later.") from None
