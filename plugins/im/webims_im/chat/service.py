"""All chats of a gateway: their nursery, the MSRP listener (direct chats) or the relay (RFC 4976), and the
flows that take a chat from invitation to its end."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import trio

from webims import log
from webims.errors import ServiceError
from webims_im import page
from webims_im.chat import sdp, setup
from webims_im.chat.session import Chat
from webims_im.chat.transport import Link, LinkClosed, authenticate, connect, own_uri
from webims_im.errors import ContentError
from webims_im.msrp import MsrpError, MsrpUri, RelayRefused
from webims.addressing import peer_key

_log = log.get("im.chats")
FIRST_FRAME_TIMEOUT = 10
MAX_CHATS_PER_SUBSCRIBER = 16


class ChatService:
    def __init__(self, settings: Mapping[str, Any]):
        self.settings = settings
        self.relay = MsrpUri.parse(settings["msrp_relay"]) if settings["msrp_relay"] else None
        self.max_frame_bytes = settings["max_chat_message_bytes"] + 8192  # a whole message may come as one chunk
        self.nursery: trio.Nursery | None = None
        self.listen_address: tuple[str, int] | None = None
        # session-id -> the chat a connection to our listener may be for, and where to hand it
        self._expecting: dict[str, tuple[Chat, trio.MemorySendChannel, trio.MemoryReceiveChannel]] = {}
        self._ids = itertools.count(1)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            if self.relay is None:
                host, _, port = self.settings["msrp_listen"].rpartition(":")
                listeners = await trio.open_tcp_listeners(int(port), host=host.strip("[]"))
                self.listen_address = (host.strip("[]"), listeners[0].socket.getsockname()[1])
                nursery.start_soon(trio.serve_listeners, self._accept, listeners)
                _log.info("msrp.listening", address=f"{self.listen_address[0]}:{self.listen_address[1]}")
            task_status.started(self)
            await trio.sleep_forever()

    # --- the flows -------------------------------------------------------------------------------------------

    async def start(self, mailbox, target: str, identity: str, related_call: str | None = None) -> Chat:
        """Invite ``target`` to a chat; the invitation goes on in the background (``chat.state`` events)."""
        self._check_room(mailbox)
        chat = Chat(self, mailbox, f"chat{next(self._ids)}", "outgoing", identity, target,
                    related_call=related_call)
        self._register(chat)
        self.nursery.start_soon(self._run, chat, self._outgoing)
        await chat.notify_state()
        return chat

    async def _outgoing(self, chat: Chat) -> None:
        link = await self._prepare(chat)
        offer = sdp.describe(chat.use_path + (chat.local,), "active" if link else "actpass")
        final = await setup.invite(chat, offer, self.settings["chat_setup_timeout"])
        if not 200 <= final.status < 300:
            await chat.end(setup.refused_reason(final, chat.peer), final.status)
            return
        remote = await setup.answered(chat, final)
        if remote is None:
            return
        chat.open_session(remote)
        first_frame = None
        if link is None:
            link, first_frame = await self._direct_link(chat, sdp.offer_connects(remote.setup))
        await chat.serve(link, first_frame)

    async def incoming(self, mailbox, transaction) -> None:
        """An INVITE offering a chat: auto-accepted (chats are kept like messages, for every tab)."""
        try:
            remote = setup.offered_media(transaction)
            self._check_room(mailbox)
        except ContentError as error:
            await setup.refuse(transaction, error.status, error.reason)
            return
        except ServiceError as error:
            await setup.refuse(transaction, 486, error.message)
            return
        peer_uri, peer_name = page.sender(transaction.request)
        identity = page.called_identity(transaction.request, mailbox.context)
        chat = Chat(self, mailbox, f"chat{next(self._ids)}", "incoming", identity, peer_uri, peer_name,
                    related_call=_call_with(mailbox, peer_uri, identity))
        self._register(chat)
        await chat.notify_state()
        self.nursery.start_soon(self._run, chat, self._incoming, remote, transaction)
        async with trio.open_nursery() as waiting:  # the SIP handler returns once the INVITE is answered
            for event in (transaction.answered_event, chat.ended):
                waiting.start_soon(_set_then_cancel, event, waiting.cancel_scope)

    async def _incoming(self, chat: Chat, remote: sdp.MessageMedia, transaction) -> None:
        try:
            link = await self._prepare(chat)
        except (LinkClosed, RelayRefused) as error:
            await setup.refuse(transaction, 503, f"the chat relay is not available ({error.reason})")
            await chat.end(f"A chat from {chat.peer} could not be taken: the chat relay is not available.", 503)
            return
        our_setup = sdp.answer_setup(remote.setup)
        chat.open_session(remote)
        if not await setup.accept(chat, transaction, sdp.describe(chat.use_path + (chat.local,), our_setup)):
            return
        first_frame = None
        if link is None:
            link, first_frame = await self._direct_link(chat, sdp.we_connect(our_setup))
        elif sdp.we_connect(our_setup):
            chat.msrp.send_bind(f"bind-{chat.id}")
        await chat.serve(link, first_frame)

    async def in_dialog(self, mailbox, transaction) -> None:
        request = transaction.request
        chat = next((c for c in mailbox.chats.values() if c.dialog and c.dialog.call_id == request.call_id
                     and c.dialog.local_tag == request.to_tag), None)
        if chat is None:
            await transaction.reply(481)
            return
        rejection = chat.dialog.receive_request(request)
        if rejection is not None:
            await transaction.reply(rejection.status, rejection.reason, headers=list(rejection.headers))
        elif request.method == "BYE":
            await transaction.reply(200)
            await chat.end(f"{chat.peer} ended the chat.")
        elif request.method == "INVITE":
            # A new offer would move the MSRP session (RFC 4975 §8.4); we keep the one we have.
            await transaction.reply(488, headers=page.refusal_headers(488, "the chat cannot be moved"))
        else:
            await transaction.reply(200 if request.method == "OPTIONS" else 405, headers=[("Allow", setup.ALLOW)])

    async def end_all(self, mailbox, reason: str) -> None:
        """Hang up every chat of hers at once (logout, shutdown): one slow peer must not hold up the rest."""
        async with trio.open_nursery() as nursery:
            for chat in list(mailbox.chats.values()):
                nursery.start_soon(chat.hang_up, reason)

    # --- chat bookkeeping --------------------------------------------------------------------------------------

    def _check_room(self, mailbox) -> None:
        if len(mailbox.chats) >= MAX_CHATS_PER_SUBSCRIBER:
            raise ServiceError("too_many_chats", f"At most {MAX_CHATS_PER_SUBSCRIBER} chats can be open at once; "
                                                 "end one first.")

    def _register(self, chat: Chat) -> None:
        chat.mailbox.chats[chat.id] = chat
        chat.context.add_session(chat.id, chat)

    def forget(self, chat: Chat) -> None:
        if chat.local is not None:
            self._expecting.pop(chat.local.session_id, None)

    async def _run(self, chat: Chat, flow, *args) -> None:
        try:
            with chat.scope:
                await flow(chat, *args)
        except LinkClosed as closed:
            await chat.hang_up(f"The chat with {chat.peer} could not connect: {closed.reason}.")
        except RelayRefused as refused:
            await chat.end(f"The chat could not start: {refused.reason}.")
        except Exception:
            _log.exception("chat.failed", chat=chat.id)
            await chat.hang_up("The chat failed because of an error on the gateway.")
        if not chat.ended.is_set():
            await chat.end("The chat ended.")

    # --- MSRP connections ------------------------------------------------------------------------------------

    async def _prepare(self, chat: Chat) -> Link | None:
        """Our MSRP side before the SDP is written: AUTHed to the relay (its link), or our listener's URI."""
        if self.relay is None:
            chat.local = own_uri(*self.listen_address)
            # The peer may connect as soon as it has our SDP: as answerer, before its 200 has reached us.
            self._expecting[chat.local.session_id] = (chat, *trio.open_memory_channel(1))
            return None
        link = await connect(self.relay, self.max_frame_bytes)
        try:
            chat.local = own_uri(*link.local_address)
            credentials = chat.agent.credentials
            granted = await authenticate(link, self.relay, chat.local, credentials.username, credentials.password)
        except BaseException:
            await link.aclose()
            raise
        chat.use_path = granted.use_path
        return link

    async def _direct_link(self, chat: Chat, we_connect: bool):
        """Open the connection to the peer (and say which session it is, §5.4), or wait for it to connect."""
        if we_connect:
            self._expecting.pop(chat.local.session_id, None)
            link = await connect(chat.remote.path[0], self.max_frame_bytes)
            chat.msrp.send_bind(f"bind-{chat.id}")
            return link, None
        _, _, arrived = self._expecting[chat.local.session_id]
        with trio.move_on_after(self.settings["chat_setup_timeout"]):
            connection = await arrived.receive()
            self._expecting.pop(chat.local.session_id, None)
            return connection
        raise LinkClosed(f"{chat.peer} never connected")

    async def _accept(self, stream: trio.SocketStream) -> None:
        """A connection to our listener: its first frame names the session (§5.4); the chat then owns it."""
        link = Link(stream, self.max_frame_bytes)
        try:
            with trio.fail_after(FIRST_FRAME_TIMEOUT):
                frame = await link.receive_frame()
            chat, handover, _ = self._expecting[frame.to_path[0].session_id]
            handover.send_nowait((link, frame))  # WouldBlock: a second connection for the session
        except (LinkClosed, trio.TooSlowError, MsrpError, KeyError, trio.WouldBlock) as error:
            _log.info("msrp.connection_refused", reason=repr(error))
            await link.aclose()
            return
        await chat.ended.wait()  # the chat reads and writes the link in its own tasks until it ends
        await link.aclose()  # (closed already, unless the chat ended before it took the link)


def _call_with(mailbox, peer_uri: str, identity: str) -> str | None:
    """A running call of hers with the same peer and identity: the chat shows beside it."""
    for session_id, session in mailbox.context.sessions.items():
        if getattr(session, "kind", None) == "call" and getattr(session, "state", "") != "ended" \
                and peer_key(getattr(session, "peer_uri", "")) == peer_key(peer_uri) \
                and getattr(session, "identity", None) == identity:
            return session_id
    return None


async def _set_then_cancel(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()
