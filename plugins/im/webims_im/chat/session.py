"""One chat: a SIP dialog that set it up, and an MSRP session over one TCP link, on the gateway.

Like a call, a chat lives on the gateway, not in a tab: the browser talks protocol v1 to the gateway, the
gateway is the MSRP endpoint. Two tasks serve the link: a reader that feeds frames into the sans-IO
:class:`~webims_im.msrp.MsrpSession`, and a pump, the one consumer of what the session produces (bytes to
write, events to act on). Texts received are stored before the success REPORT goes out; texts sent move
through the mailbox's statuses as responses and REPORTs come back.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

import trio

from webims import log
from webims.ims.dialog_owner import InviteDialogOwner
from webims.sip import Request
from webims.sip.dialog import Dialog
from webims_im import content, imdn, iscomposing, reasons
from webims_im.chat.sdp import ACCEPT_TYPES, MessageMedia
from webims_im.chat.transport import Link, LinkClosed
from webims_im.errors import ContentError
from webims_im.msrp import (
    MessageAborted,
    MessageAccepted,
    MessageFailed,
    MessageReceived,
    MsrpSession,
    MsrpUri,
    RemoteProtocolError,
    ReportReceived,
)
from webims_im.store import StoredMessage, StoreError
from webims.addressing import peer_key

if TYPE_CHECKING:
    from webims_im.chat.service import ChatService
    from webims_im.mailbox import Mailbox

SERVICE = "im"
_log = log.get("im.chat")


class Chat(InviteDialogOwner):
    # Other services see chats among the context's sessions by this (presence could show "chatting").
    kind = "chat"
    service_name = SERVICE

    def __init__(self, service: ChatService, mailbox: Mailbox, chat_id: str, direction: str, identity: str,
                 peer_uri: str, peer_name: str = "", related_call: str | None = None):
        self.service = service
        self.mailbox = mailbox
        self.context = mailbox.context
        self.id = chat_id
        self.direction = direction  # "outgoing" | "incoming"
        self.identity = identity
        self.peer_uri = peer_uri
        self.peer_name = peer_name
        self.related_call = related_call
        self.state = "inviting" if direction == "outgoing" else "accepting"
        self.started_at = time.time()
        self.local: MsrpUri | None = None
        self.use_path: tuple[MsrpUri, ...] = ()  # our relay's, when there is one
        self.remote: MessageMedia | None = None
        self.msrp: MsrpSession | None = None
        self.link: Link | None = None
        self.dialog: Dialog | None = None
        self.invite: Request | None = None
        self.ok_runner = None
        self.ack_runner = None
        self.ended = trio.Event()
        self.end_reason = ""
        self.scope = trio.CancelScope()
        self._nursery: trio.Nursery | None = None
        self._wake = trio.Event()
        self._lost: str | None = None
        self._sending: dict[str, StoredMessage] = {}  # sent, not yet answered by the next hop
        self._reported: dict[str, StoredMessage] = {}  # answered, a success REPORT may still come

    @property
    def peer(self) -> str:
        return peer_key(self.peer_uri)

    @property
    def is_active(self) -> bool:
        return self.state == "active"

    def summary(self) -> dict:
        summary = {"chat": self.id, "direction": self.direction, "state": self.state, "identity": self.identity,
                   "peer": self.peer, "peer_uri": self.peer_uri, "peer_name": self.peer_name,
                   "call": self.related_call, "started_at": self.started_at}
        if self.end_reason:
            summary["reason"] = self.end_reason
        return summary

    async def notify_state(self) -> None:
        await self.mailbox.notify("chat.state", self.summary(), session=self.id)

    # --- the SIP dialog ----------------------------------------------------------------------------------------

    # --- MSRP --------------------------------------------------------------------------------------------------

    def open_session(self, remote: MessageMedia) -> None:
        self.remote = remote
        settings = self.service.settings
        self.msrp = MsrpSession(self.local, self.use_path + remote.path, accept_types=ACCEPT_TYPES,
                                chunk_bytes=settings["msrp_chunk_bytes"],
                                max_message_bytes=settings["max_chat_message_bytes"])

    async def serve(self, link: Link, first_frame=None) -> None:
        """Run the chat over ``link`` until it ends; a lost link ends the chat (RFC 4975 §5.4 leaves
        re-establishing it to a new offer, which we do not make)."""
        self.link = link
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._read, first_frame)
                self.state = "active"
                await self.notify_state()
                await self._pump()
        finally:
            await link.aclose()

    async def _read(self, first_frame) -> None:
        try:
            if first_frame is not None:
                self.msrp.receive_frame(first_frame)
                self._kick()
            while True:
                self.msrp.receive_frame(await self.link.receive_frame())
                self._kick()
        except LinkClosed as closed:
            self._lose(closed.reason)
        except RemoteProtocolError as error:
            self._lose(f"the other side broke MSRP ({error.reason})")

    def _lose(self, reason: str) -> None:
        if self._lost is None:
            self._lost = reason
            self.msrp.connection_lost(reason)
        self._kick()

    def _kick(self) -> None:
        self._wake.set()

    async def _pump(self) -> None:
        while True:
            await self._flush()
            if self._lost is not None:
                await self.hang_up(reasons.chat_failure(0, self.peer, self._lost))
                return
            await self._wake.wait()
            self._wake = trio.Event()

    async def _flush(self) -> None:
        """Write everything the session has to say, and act on everything it reported, until it is quiet."""
        while True:
            data = self.msrp.data_to_send()
            if data:
                try:
                    await self.link.send(data)
                except LinkClosed as closed:
                    self._lose(closed.reason)
                continue
            event = self.msrp.next_event()
            if event is None:
                return
            await self._on_event(event)

    async def _on_event(self, event) -> None:
        if isinstance(event, MessageReceived):
            await self._received(event)
        elif isinstance(event, MessageAccepted) and event.message_id in self._sending:
            message = self._sending.pop(event.message_id)
            self._reported[message.id] = message
            await self.mailbox.set_status(message, "sent")
        elif isinstance(event, MessageFailed) and event.message_id in self._sending:
            message = self._sending.pop(event.message_id)
            await self.mailbox.set_status(message, "failed", reasons.chat_failure(event.status, self.peer,
                                                                                  event.reason))
        elif isinstance(event, ReportReceived):
            await self._report(event)
        elif isinstance(event, MessageAborted):
            _log.info("chat.message_aborted", chat=self.id, reason=event.reason)

    async def _received(self, event: MessageReceived) -> None:
        try:
            meaning = content.interpret(event.content_type, event.body,
                                        max_bytes=self.service.settings["max_chat_message_bytes"])
        except ContentError as error:
            _log.info("chat.message_refused", chat=self.id, status=error.status, reason=error.reason)
            self.msrp.reject(event, error.status, error.reason)
            return
        if isinstance(meaning, content.Text):
            try:
                stored = await self.mailbox.store_received(meaning, peer_uri=self.peer_uri,
                                                           peer_name=self.peer_name, identity=self.identity,
                                                           chat=self)
            except StoreError as error:
                _log.error("store.failed", reason=str(error))
                self.msrp.reject(event, 500, "the message could not be stored")
                return
            self.msrp.confirm(event)
            if stored is not None:
                await self.mailbox.announce_received(stored, meaning)
            return
        self.msrp.confirm(event)
        if isinstance(meaning, content.Report):
            await self.mailbox.receive_report(meaning.notification)
        else:
            await self.mailbox.receive_typing(meaning, peer_uri=self.peer_uri, identity=self.identity)

    async def _report(self, event: ReportReceived) -> None:
        message = self._reported.pop(event.message_id, None) or self._sending.pop(event.message_id, None)
        if message is None:
            return
        if event.status == 200:
            await self.mailbox.set_status(message, "delivered")
        else:
            await self.mailbox.set_status(message, "failed", reasons.chat_failure(event.status, self.peer,
                                                                                  event.reason))

    # --- what she sends ----------------------------------------------------------------------------------------

    async def send_text(self, message: StoredMessage) -> None:
        wrap = self.remote.takes("message/cpim")
        if not wrap and not self.remote.takes(content.TEXT):
            await self.mailbox.set_status(message, "failed", reasons.page_failure(415, self.peer))
            return
        notifications = frozenset({imdn.DISPLAY}) if wrap else frozenset()
        content_type, body = content.compose_text(message.text, wrap=wrap, sender=message.identity,
                                                  recipient=self.peer_uri, imdn_id=message.imdn_id,
                                                  notifications=notifications)
        self._sending[message.id] = message
        self.msrp.send_message(message.id, content_type, body, success_report=True)
        self._nursery.start_soon(self._expire, message.id)
        self._kick()

    async def _expire(self, message_id: str) -> None:
        # RFC 4975 §7.1.1: a sender that gets no response within 30 s (our msrp_timeout) treats it as 408.
        await trio.sleep(self.service.settings["msrp_timeout"])
        if message_id in self._sending:
            self.msrp.abandon(message_id)
            self._kick()

    async def send_typing(self, active: bool) -> None:
        if self.remote.takes(iscomposing.CONTENT_TYPE):
            content_type, body = content.compose_typing(active, 90)
            self.msrp.send_message(uuid.uuid4().hex, content_type, body, success_report=False)
            self._kick()

    async def send_report(self, notification: imdn.Notification) -> None:
        if self.remote.takes("message/cpim"):
            content_type, body = content.compose_report(notification, sender=self.identity,
                                                        recipient=self.peer_uri, imdn_id=uuid.uuid4().hex)
            self.msrp.send_message(uuid.uuid4().hex, content_type, body, success_report=False)
            self._kick()

    # --- the end -------------------------------------------------------------------------------------------------

    async def end(self, reason: str, status: int | None = None) -> None:
        """Finish the chat once: forget the dialog, fail what never got through, tell the tabs why."""
        if self.ended.is_set():
            return
        self.state = "ended"
        self.end_reason = reason
        self.ended.set()
        if self.dialog is not None:
            self.context.release_dialog(self.dialog.call_id, self.dialog.local_tag)
        self.context.remove_session(self.id)
        self.mailbox.chats.pop(self.id, None)
        self.service.forget(self)
        with trio.CancelScope(shield=True):
            for message in self._sending.values():
                await self.mailbox.set_status(message, "failed", "The chat ended before the message got through.")
            self._sending.clear()
            await self.notify_state()
        _log.info("chat.ended", chat=self.id, reason=reason, status=status)
        self.scope.cancel()

    async def hang_up(self, reason: str) -> None:
        """End from our side: BYE when the dialog is up (best effort; the chat ends either way)."""
        if self.dialog is not None and not self.ended.is_set():
            with trio.move_on_after(5):
                try:
                    request = self.agent.with_via(self.dialog.create_request("BYE"))
                    await self.agent.send(request, authenticate=False)
                except Exception as error:  # a lost BYE must not keep the chat alive here
                    _log.info("bye.failed", chat=self.id, error=repr(error))
        await self.end(reason)
