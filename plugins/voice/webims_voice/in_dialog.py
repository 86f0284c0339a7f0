"""What happens inside an established call: the other side's BYE, re-INVITE, UPDATE, INFO (digits, RFC 5168 keyframe
requests); our hold, BYE and keyframe requests by INFO."""

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
from webims.sip.media_control import MEDIA_TYPE as MEDIA_CONTROL
from webims.sip.media_control import PICTURE_FAST_UPDATE, MediaControl
from webims.sip.offer_answer import is_hold_offer
from webims.sip.retransmission import AckRepeater, SuccessRetransmitter
from webims.sip.sdp import SessionDescription
from webims_voice.call import Call

_log = log.get("voice.dialog")
SDP = "application/sdp"
KEYFRAME_INFO_WAIT = 5  # seconds: an answer later than this is no use to a picture waiting for its keyframe


async def handle_request(call: Call, transaction: ServerTransaction) -> None:
    request = transaction.request
    if call.dialog is None:
        await transaction.reply(481)
        return
    retired = call.retired_dialog
    if retired is not None and (request.call_id, request.to_tag) == (retired.call_id, retired.local_tag):
        # the dialog we left when transferred: let the transferor close it, it no longer carries the call
        await transaction.reply(200 if request.method == "BYE" else 481)
        if request.method == "BYE":
            call.context.release_dialog(retired.call_id, retired.local_tag)
            call.retired_dialog = None
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
    elif request.method == "REFER":
        await being_transferred(call, transaction)
    elif request.method == "OPTIONS":
        await transaction.reply(200)
    else:
        await transaction.reply(405, headers=[("Allow", "INVITE, ACK, CANCEL, BYE, UPDATE, INFO, REFER, OPTIONS")])


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
    if request.media_type == MEDIA_CONTROL:
        await _media_control(call, transaction)
        return
    await transaction.reply(200)
    if request.media_type == "application/dtmf-relay":  # the SIP INFO way of sending digits
        for line in request.body.decode("utf-8", "replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() == "signal" and value.strip():
                await call.notify("call.dtmf", {"digit": value.strip()[:1]})


async def _media_control(call: Call, transaction: ServerTransaction) -> None:
    """RFC 5168: the phone asks for a keyframe by SIP INFO. The browser's camera is asked for one (the bridge
    does it as for the phone's PLI), and the bridge learns that this phone takes INFO for the same purpose.

    Answered 200 whenever the document could be read, even when there is nothing to act on (no video in the
    call, only a ``general_error``, a primitive we do not know): the 200 says the INFO arrived and was readable,
    not that a keyframe follows, which is how phones that send it treat the answer (baresip answers every
    media_control INFO 200). A body that is not a readable media_control document gets 400 (413 if oversized)
    with the reason in a Warning, so whoever looks at the trace sees why; the call goes on either way.
    """
    try:
        control = MediaControl.parse(transaction.request.body)
    except RemoteProtocolError as error:
        _log.info("media_control.unreadable", call=call.id, reason=error.reason)
        await transaction.reply(error.status_hint or 400, headers=[("Warning", f'399 webims "{error.reason[:150]}"')])
        return
    await transaction.reply(200)
    if control.general_errors:
        _log.info("media_control.error_reported", call=call.id, errors=control.general_errors)
    if control.picture_fast_update and call.bridge is not None:
        try:
            await call.bridge.accept_ims_keyframe_request()
        except MediaError as error:
            _log.info("media_control.not_passed_on", call=call.id, reason=error.reason)


async def ask_for_keyframe(call: Call) -> None:
    """The bridge wants a keyframe from a phone that takes SIP INFO for it (``KeyframeNeeded``): an in-dialog
    INFO with RFC 5168 ``picture_fast_update``. The bridge coalesces its requests already; here at most one INFO
    is outstanding per call, and a phone that refuses one (405, 415, 488, 501) is not sent more."""
    if call.keyframe_info_pending or call.keyframe_info_refused or call.state != "active" or call.dialog is None:
        return
    call.keyframe_info_pending = True
    try:
        with trio.move_on_after(KEYFRAME_INFO_WAIT):  # a later request from the browser will ask again
            response = await call.in_dialog("INFO", body=PICTURE_FAST_UPDATE.encode(), content_type=MEDIA_CONTROL)
            _log.info("media_control.sent", call=call.id, status=response.status)
            if response.status in (405, 415, 488, 501):
                call.keyframe_info_refused = True
                _log.info("media_control.refused", call=call.id, status=response.status)
    except Exception:  # the plugin boundary: a failed keyframe request must not end the call or the gateway
        _log.exception("media_control.failed", call=call.id)
    finally:
        call.keyframe_info_pending = False


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


async def send_dtmf_info(call: Call, digits: str) -> None:
    """Digits as SIP INFO (application/dtmf-relay), for IMS peers that do not take RFC 4733 events."""
    for digit in digits:
        body = f"Signal={digit}\r\nDuration=160\r\n".encode()
        response = await call.in_dialog("INFO", body=body, content_type="application/dtmf-relay")
        if not 200 <= response.status < 300:
            raise ServiceError("dtmf_failed", f"The other side did not take the digit {digit} "
                                              f"({response.status} {response.reason}).")


async def being_transferred(call: Call, transaction: ServerTransaction) -> None:
    """The other side transfers us (REFER, RFC 3515): call the new party from the same identity, keep the
    browser's media path as it is, report progress with NOTIFY (message/sipfrag), and leave the old party."""
    from webims.addressing import target_uri
    from webims.sip import NameAddr
    from webims.sip.dialog import Dialog
    from webims_voice.outgoing import build_invite

    request = transaction.request
    try:
        target = str(NameAddr.parse(request.headers.get("Refer-To") or "").uri.without_params("method"))
        target = target_uri(target, call.agent.domain)
    except (RemoteProtocolError, ServiceError, AttributeError):
        await transaction.reply(400, "Bad Request (no usable Refer-To)")
        return
    await transaction.reply(202)
    await _refer_progress(call, "SIP/2.0 100 Trying", final=False)
    invite = build_invite(call, target, (await call.bridge.ims_offer()).encode(), privacy=False,
                          timers=call.plugin._timers())
    invite.headers.add("Referred-By", request.headers.get("Referred-By") or f"<{call.peer_uri}>")
    response = await call.agent.send(invite)
    if not 200 <= response.status < 300:
        await _refer_progress(call, f"SIP/2.0 {response.status} {response.reason}", final=True)
        return  # the transfer failed: the call with the transferor goes on
    new_dialog = Dialog.from_uac(invite, response)
    await call.send_to_ims(call.agent.with_via(new_dialog.create_ack(response)))
    if response.body:
        await call.bridge.accept_ims_answer(response.body.decode("utf-8", "replace"))
    # Switch before telling the transferor: its BYE, which the final NOTIFY prompts, must not end the call.
    old_dialog, old_peer = call.dialog, call.peer_uri
    call.retired_dialog = old_dialog
    call.adopt_dialog(new_dialog)
    call.invite, call.peer_uri, call.peer_name = invite, target, ""
    await call.notify("call.transferred", {"peer": {"uri": target, "display_name": ""}, "by": old_peer})
    await _refer_progress(call, f"SIP/2.0 {response.status} {response.reason}", final=True, dialog=old_dialog)
    if old_dialog.state.value != "terminated":
        with trio.move_on_after(5):
            await call.in_dialog("BYE", dialog=old_dialog)


async def _refer_progress(call: Call, status_line: str, *, final: bool, dialog=None) -> None:
    """RFC 3515 §2.4.4: the implicit subscription's NOTIFYs carry the new call's progress as a sipfrag."""
    state = "terminated;reason=noresource" if final else "active;expires=60"
    with trio.move_on_after(5):
        await call.in_dialog("NOTIFY", headers=[("Event", "refer"), ("Subscription-State", state)],
                             body=status_line.encode(), content_type="message/sipfrag;version=2.0", dialog=dialog)
