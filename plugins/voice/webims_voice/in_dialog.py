"""What happens inside an established call: the other side's BYE, re-INVITE, UPDATE, INFO; our hold and BYE."""

from __future__ import annotations

import random

import trio

from webims import log
from webims.errors import ServiceError
from webims.ims.endpoint import ServerTransaction
from webims.ims.machine import MachineRunner
from webims.media import MediaError
from webims.sip import RemoteProtocolError, Response
from webims.sip.dialog import dialog_response
from webims.sip.offer_answer import is_hold_offer
from webims.sip.retransmission import AckRepeater, SuccessRetransmitter
from webims.sip.sdp import SessionDescription
from webims_voice.call import Call

_log = log.get("voice.dialog")
SDP = "application/sdp"


async def handle_request(call: Call, transaction: ServerTransaction) -> None:
    request = transaction.request
    if call.dialog is None:
        await transaction.reply(481)
        return
    rejection = call.dialog.receive_request(request)
    if rejection is not None:
        await transaction.reply(rejection.status, rejection.reason, headers=list(rejection.headers))
        return
    if request.method == "BYE":
        await transaction.reply(200)
        await call.end("The other side hung up.")
    elif request.method in ("INVITE", "UPDATE"):
        await _reoffer(call, transaction)
    elif request.method == "INFO":
        await _info(call, transaction)
    elif request.method == "OPTIONS":
        await transaction.reply(200)
    else:
        await transaction.reply(405, headers=[("Allow", "INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS")])


async def _reoffer(call: Call, transaction: ServerTransaction) -> None:
    """A re-INVITE or UPDATE from the other side: hold, resume, a new address, or a session refresh."""
    request = transaction.request
    local_tag = call.dialog.local_tag
    contact = f"<{call.agent.contact_uri()}>"
    if call.session_refresher is not None:
        call.session_refresher.refreshed()  # RFC 4028 §10: any re-INVITE or UPDATE refreshes the session
    answer = b""
    if request.body and request.media_type == SDP:
        offer = request.body.decode("utf-8", "replace")
        try:
            answer = (await call.bridge.accept_ims_reoffer(offer)).encode()
        except MediaError as error:
            await transaction.reply(488, to_tag=local_tag, headers=[("Warning", f'399 webims "{error.reason[:150]}"')])
            return
        await _note_remote_hold(call, offer)
    elif request.method == "INVITE":
        answer = (await call.bridge.ims_offer()).encode()  # an offerless re-INVITE: we offer, the ACK answers
    headers = [("Content-Type", SDP)] if answer else []
    for name in ("Session-Expires", "Min-SE"):  # a session refresh: accept the interval as offered
        if request.headers.get(name):
            headers.append((name, request.headers.get(name)))
    ok = dialog_response(request, 200, to_tag=local_tag, contact=contact, headers=headers, body=answer)
    await transaction.respond(ok)
    call.dialog.response_sent(ok)
    if request.method == "INVITE":
        runner = MachineRunner(SuccessRetransmitter(ok), call.send_to_ims, first_sent=True)
        call.ok_runner = runner
        await runner.run()
        ack = runner.delivered[0] if runner.delivered else None
        if ack is not None and ack.body and not request.body:
            await call.bridge.accept_ims_answer(ack.body.decode("utf-8", "replace"))


async def _note_remote_hold(call: Call, offer: str) -> None:
    try:
        description = SessionDescription.parse(offer)
        audio = [media for media in description.media if media.media == "audio" and media.port]
        held = bool(audio) and all(is_hold_offer(description, media) for media in audio)
    except RemoteProtocolError:
        return
    if held != call.held_remote:
        call.held_remote = held
        await call.notify("call.held", {"local": call.held_local, "remote": call.held_remote})


async def _info(call: Call, transaction: ServerTransaction) -> None:
    request = transaction.request
    await transaction.reply(200)
    if request.media_type == "application/dtmf-relay":  # the SIP INFO way of sending digits
        for line in request.body.decode("utf-8", "replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() == "signal" and value.strip():
                await call.notify("call.dtmf", {"digit": value.strip()[:1]})


async def set_hold(call: Call, hold: bool) -> None:
    """Hold or resume from our side: a re-INVITE with sendonly (or back to sendrecv), RFC 3264 §8.4."""
    if call.state != "active":
        raise ServiceError("wrong_state", "Only a call in progress can be put on hold.")
    async with call._reinvite_lock:
        await call.bridge.set_hold(hold)
        response = await reinvite(call, (await call.bridge.ims_offer()).encode())
        if not 200 <= response.status < 300:
            await call.bridge.set_hold(not hold)
            raise ServiceError("hold_failed", f"The other side did not accept the {'hold' if hold else 'resume'} "
                                              f"({response.status} {response.reason}).")
        call.held_local = hold
    await call.notify("call.held", {"local": call.held_local, "remote": call.held_remote})


async def reinvite(call: Call, sdp: bytes, headers=()) -> Response:
    """A re-INVITE with our new offer; 491 glare is retried once after RFC 3261 §14.1's random wait."""
    for attempt in range(2):
        request = call.agent.with_via(call.dialog.create_request("INVITE", headers=headers, body=sdp,
                                                                 content_type=SDP))
        transaction = await call.agent.start(request)
        response = await transaction.final_response()
        call.dialog.receive_response(response)
        if 200 <= response.status < 300:
            ack = call.agent.with_via(call.dialog.create_ack(response))
            call.ack_runner = MachineRunner(AckRepeater(ack), call.send_to_ims)
            call.plugin.nursery.start_soon(call.ack_runner.run)
            if response.body:
                await call.bridge.accept_ims_answer(response.body.decode("utf-8", "replace"))
            return response
        if response.status != 491 or attempt:
            return response
        await trio.sleep(random.uniform(2.1, 4.0))
    return response
