"""Browser requests of the im service, one function per message type (docs/im.md): check the body, act, answer.

Every body comes from a browser: each field is checked here, and anything wrong is a ``bad_request`` with a
sentence saying what to send instead. A request naming an identity that is not hers is refused by
``require_identity`` before anything leaves the gateway.
"""

from __future__ import annotations

from webims.errors import ServiceError
from webims_im.chat.service import ChatService
from webims_im.mailbox import Mailbox
from webims.addressing import peer_key, target_uri

MAX_TEXT_CHARACTERS = 100_000
MAX_HISTORY_PAGE = 200


def _optional_str(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > 256):
        raise ServiceError("bad_request", f"{key} must be a short text.")
    return value


def _text(body: dict) -> str:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ServiceError("bad_request", "Write something to send: text is empty.")
    if len(text) > MAX_TEXT_CHARACTERS or "\x00" in text:
        raise ServiceError("bad_request", f"A message is text of at most {MAX_TEXT_CHARACTERS} characters.")
    return text


def _peer(body: dict, mailbox: Mailbox) -> str:
    return peer_key(target_uri(body.get("peer"), mailbox.domain))


async def message_send(mailbox: Mailbox, chats: ChatService, body: dict) -> dict:
    text = _text(body)
    target = target_uri(body.get("to"), mailbox.domain, action="write to")
    identity = await mailbox.identity_for(peer_key(target), _optional_str(body, "identity"))
    form = body.get("format", "auto")
    if form not in ("auto", "text"):
        raise ServiceError("bad_request", 'format is "auto" (CPIM with delivery reports) or "text" (plain).')
    message = await mailbox.send_text(target, identity, text, plain=form == "text")
    return {"message": message.summary()}


async def composing(mailbox: Mailbox, chats: ChatService, body: dict) -> dict:
    target = target_uri(body.get("to"), mailbox.domain, action="write to")
    identity = await mailbox.identity_for(peer_key(target), _optional_str(body, "identity"))
    await mailbox.send_typing(target, identity, bool(body.get("active")))
    return {}


async def conversation_list(mailbox: Mailbox, chats: ChatService, body: dict) -> dict:
    return {"conversations": [c.summary() for c in await mailbox.history.conversations()]}


async def conversation_history(mailbox: Mailbox, chats: ChatService, body: dict) -> dict:
    before, limit = body.get("before"), body.get("limit", 50)
    if before is not None and (not isinstance(before, int) or isinstance(before, bool)):
        raise ServiceError("bad_request", "before is the cursor of the oldest message shown.")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_HISTORY_PAGE:
        raise ServiceError("bad_request", f"limit is a number from 1 to {MAX_HISTORY_PAGE}.")
    peer = _peer(body, mailbox)
    messages = await mailbox.history.messages(peer, before, limit)
    more = messages[0].seq if len(messages) == limit else None
    return {"peer": peer, "messages": [m.summary() for m in messages], "more": more}


async def conversation_read(mailbox: Mailbox, chats: ChatService, body: dict) -> dict:
    await mailbox.mark_read(_peer(body, mailbox))
    return {}


async def conversation_identity(mailbox: Mailbox, chats: ChatService, body: dict) -> dict:
    identity = _optional_str(body, "identity")
    if identity is None:
        raise ServiceError("bad_request", "Name the identity to write as.")
    return {"identity": await mailbox.identity_for(_peer(body, mailbox), identity)}


async def chat_start(mailbox: Mailbox, chats: ChatService, body: dict) -> dict:
    call = _optional_str(body, "call")
    if call is not None:
        target, identity = _call_peer(mailbox, call)
    else:
        target = target_uri(body.get("to"), mailbox.domain, action="write to")
        identity = await mailbox.identity_for(peer_key(target), _optional_str(body, "identity"))
    chat = await chats.start(mailbox, target, identity, related_call=call)
    return {"chat": chat.summary()}


def _call_peer(mailbox: Mailbox, call_id: str) -> tuple[str, str]:
    """The peer and identity of one of her calls (the voice service's sessions): a chat beside the call."""
    call = mailbox.context.sessions.get(call_id)
    if getattr(call, "kind", None) != "call" or getattr(call, "state", "ended") == "ended":
        raise ServiceError("no_such_call", "That call has already ended.")
    if call.peer_uri == "anonymous":
        raise ServiceError("bad_target", "The caller withheld their identity: there is nobody to chat with.")
    return call.peer_uri, mailbox.context.require_identity(call.identity).uri


async def chat_end(mailbox: Mailbox, chats: ChatService, body: dict) -> dict:
    chat = mailbox.chats.get(_optional_str(body, "chat") or "")
    if chat is None:
        raise ServiceError("no_such_chat", "That chat has already ended.")
    await chat.hang_up("You ended the chat.")
    return {}


async def chat_list(mailbox: Mailbox, chats: ChatService, body: dict) -> dict:
    return {"chats": [chat.summary() for chat in mailbox.chats.values()]}
