"""Setting a chat up on SIP: our INVITE with an ``m=message`` offer, or our answer to one (auto-accepted).

Chats are accepted by the gateway without asking: like page-mode messages, what arrives is kept for her even
when no tab is open, and she sees the chat in every tab at once. The INVITE/2xx/ACK reliability follows the
voice service (RFC 3261 §13.3.1.4: our 2xx until the ACK; our ACK again per retransmitted 2xx).
"""

from __future__ import annotations

import trio

from webims import log
from webims.ims.endpoint import ServerTransaction
from webims.ims.machine import MachineRunner
from webims.sip import RemoteProtocolError, Response, new_tag
from webims.sip.dialog import Dialog, dialog_response
from webims.sip.retransmission import AckRepeater, SuccessRetransmitter
from webims.sip.transaction import make_cancel
from webims_im import page, reasons
from webims_im.chat import sdp
from webims_im.chat.session import Chat
from webims_im.errors import ContentError

SDP = "application/sdp"
WITHDRAW_SECONDS = 32.0  # RFC 3261 Timer B (64 × T1): how long an INVITE she gave up on is watched
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
_log = log.get("im.chat.setup")


async def invite(chat: Chat, offer: bytes, timeout: float) -> Response:
    """Send our INVITE and follow it to a final response; CANCEL it (§9.1, after a provisional) at ``timeout``."""
    agent = chat.agent
    request = agent.build_request("INVITE", chat.peer_uri, from_uri=chat.identity, body=offer, content_type=SDP,
                                  headers=[("Contact", agent.dialog_contact()),
                                           ("P-Preferred-Identity", f"<{chat.identity}>"), ("Allow", ALLOW)])
    final = await _follow(chat, request, timeout)
    if final.status in (401, 407):
        authorized = agent.authorized(request, final)
        if authorized is not None:
            request, final = authorized, await _follow(chat, authorized, timeout)
    chat.invite = request
    return final


async def _follow(chat: Chat, request, timeout: float) -> Response:
    transaction = await chat.agent.start(request)
    provisional = False
    try:
        with trio.move_on_after(timeout):
            async for response in transaction.responses():
                if response.status >= 200:
                    return response
                provisional = True
    except trio.Cancelled:  # she ended the chat while it was being set up
        chat.service.nursery.start_soon(_withdraw, chat, request, transaction, provisional)
        raise
    if provisional:
        await chat.agent.send(make_cancel(request), authenticate=False)
    return await transaction.final_response()  # 487 after our CANCEL, or the transaction's own 408


async def _withdraw(chat: Chat, request, transaction, provisional: bool) -> None:
    """The INVITE of a chat she ended before it was answered. It is CANCELled as soon as that is allowed (RFC
    3261 §9.1: once a provisional response came); a 2xx that comes anyway is acknowledged and ended with BYE
    (§15), so the peer is not left with a chat nobody is in."""
    agent = chat.agent
    with trio.move_on_after(WITHDRAW_SECONDS):
        if provisional:
            await agent.send(make_cancel(request), authenticate=False)
        async for response in transaction.responses():
            if response.status < 200:
                if not provisional:
                    provisional = True
                    await agent.send(make_cancel(request), authenticate=False)
                continue
            if response.status < 300:
                try:
                    dialog = Dialog.from_uac(request, response)
                except RemoteProtocolError:
                    return  # a 2xx we cannot reply to: the peer ends it after its own Timer H
                await chat.send_to_ims(agent.with_via(dialog.create_ack(response)))
                await agent.send(agent.with_via(dialog.create_request("BYE")), authenticate=False)
                _log.info("chat.withdrawn_after_answer", chat=chat.id)
            return


async def answered(chat: Chat, ok: Response) -> sdp.MessageMedia | None:
    """A 2xx to our INVITE: the dialog, the ACK, and the peer's MSRP side (None: we hung up, unusable)."""
    try:
        dialog = Dialog.from_uac(chat.invite, ok)
    except RemoteProtocolError as error:
        await chat.end(f"{chat.peer} answered with a broken response ({error.reason}).", ok.status)
        return None
    chat.adopt_dialog(dialog)
    ack = chat.agent.with_via(dialog.create_ack(ok))
    chat.ack_runner = MachineRunner(AckRepeater(ack), chat.send_to_ims)
    chat.service.nursery.start_soon(chat.ack_runner.run)
    try:
        return sdp.message_media(ok.body if ok.media_type == SDP else b"")
    except ContentError as error:
        await chat.hang_up(f"{chat.peer} accepted, but its chat description is unusable: {error.reason}.")
        return None



def offered_media(transaction: ServerTransaction) -> sdp.MessageMedia:
    request = transaction.request
    if request.media_type != SDP or not request.body:
        raise ContentError("a chat invitation needs an SDP offer with m=message", 488)
    return sdp.message_media(request.body)


async def refuse(transaction: ServerTransaction, status: int, reason: str) -> None:
    await transaction.reply(status, headers=page.refusal_headers(status, reason))


async def accept(chat: Chat, transaction: ServerTransaction, answer: bytes) -> bool:
    """Answer the INVITE with 200 and our SDP; False (and 400) if the request cannot make a dialog."""
    request = transaction.request
    ok = dialog_response(request, 200, to_tag=new_tag(), contact=chat.agent.dialog_contact(),
                         headers=[("Content-Type", SDP), ("Allow", ALLOW)], body=answer)
    try:
        chat.adopt_dialog(Dialog.from_uas(request, ok))
    except RemoteProtocolError as error:
        await transaction.reply(400, f"Bad Request ({error.reason})"[:80])
        await chat.end("A chat invitation could not be taken: the request was malformed.", 400)
        return False
    await transaction.respond(ok)
    chat.ok_runner = MachineRunner(SuccessRetransmitter(ok), chat.send_to_ims, first_sent=True)
    chat.service.nursery.start_soon(_retransmit_until_ack, chat, chat.ok_runner)
    return True


async def _retransmit_until_ack(chat: Chat, runner: MachineRunner) -> None:
    await runner.run()
    if runner.timed_out and not chat.ended.is_set():
        # §13.3.1.4: no ACK within 64*T1, the session is over.
        await chat.hang_up(f"The chat with {chat.peer} was lost: it never confirmed the answer.")


def refused_reason(response: Response, peer: str) -> str:
    """Why our chat invitation failed, in words."""
    if response.status == 488 or response.status == 606:
        return f"{peer} cannot take part in a chat."
    if response.status == 487:
        return f"{peer} did not answer the chat invitation."
    if response.status in (486, 600):
        return f"{peer} is busy."
    if response.status in (480, 408):
        return f"{peer} is not reachable right now."
    return reasons.page_failure(response.status, peer)
