"""Calls to Mary: an INVITE for any identity of her set rings every tab; the first tab to answer wins.

While none of her tabs is connected (a reload, a short drop) the call keeps ringing on the gateway and is
offered to the tab that comes back; if none does before the ring timeout, the caller gets 480.
"""

from __future__ import annotations

import trio

from webims import log
from webims.ims.endpoint import ServerTransaction
from webims.ims.machine import MachineRunner
from webims.media import MediaError
from webims.sip import RemoteProtocolError, new_tag
from webims.sip.dialog import Dialog, dialog_response
from webims.sip.retransmission import SuccessRetransmitter
from webims.sip.session_timer import SessionTimerPolicy, TooSmall, uas_session_timer
from webims_voice.call import Call
from webims_voice.forwarding import WHY, Forwarding

_log = log.get("voice.incoming")
SDP = "application/sdp"


class IncomingCall:
    def __init__(self, call: Call, transaction: ServerTransaction, ring_timeout: float,
                 timers: SessionTimerPolicy = SessionTimerPolicy(), forwarding: Forwarding = Forwarding()):
        self.call = call
        self.transaction = transaction
        self.forwarding = forwarding
        # CFNR: a call she does not answer goes on after her chosen time instead of ringing out
        self.ring_timeout = forwarding.no_answer_seconds if forwarding.no_answer else ring_timeout
        self.local_tag = new_tag()
        self.decided = trio.Event()
        self.answer_sdp: str | None = None  # the browser's answer, once a tab accepted
        self.rejection: tuple[int, str] | None = None
        self.offer_sdp: str = ""  # our offer to the browser
        self.called_identity = call.identity
        self.timers = timers
        self.session_timer = None

    def summary(self) -> dict:
        return {**self.call.summary(), "sdp": self.offer_sdp, "called_identity": self.called_identity}

    async def run(self) -> None:
        call, request = self.call, self.transaction.request
        call.invite = request
        if not request.body or request.media_type != SDP:
            await self.transaction.reply(488, headers=[("Warning", '399 webims "an SDP offer is required"')])
            await call.end("The caller sent no media offer.", 488)
            return
        agreed = uas_session_timer(request, self.timers)
        if isinstance(agreed, TooSmall):  # RFC 4028 §8.1: ask the caller for at least our Min-SE
            await self.transaction.reply(422, headers=agreed.response_headers())
            await call.end("A call could not be taken: its session interval was too short.", 422)
            return
        self.session_timer = agreed
        try:
            self.offer_sdp = await call.bridge.offer_to_browser(request.body.decode("utf-8", "replace"))
        except MediaError as error:
            await self.transaction.reply(488, headers=[("Warning", f'399 webims "{_quoted(error.reason)}"')])
            await call.end(f"A call from {call.peer_uri} could not be taken: {error.reason}", 488)
            return
        await self.transaction.reply(180, to_tag=self.local_tag,
                                     headers=[("Contact", call.agent.dialog_contact())])
        await call.notify("call.incoming", self.summary())
        with trio.move_on_after(self.ring_timeout):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._caller_cancels, nursery.cancel_scope)
                await self.decided.wait()
                nursery.cancel_scope.cancel()
        if self.transaction.cancelled.is_set():
            await self.transaction.reply(487, to_tag=self.local_tag)
            await call.end("The caller hung up.", 487)
        elif self.answer_sdp is not None:
            await self._answer()
        elif self.rejection is not None and self.rejection[0] == 486 and self.forwarding.busy:
            await deflect(call, self.transaction, self.forwarding.busy, "busy", self.local_tag)
        elif self.rejection is not None:
            status, reason = self.rejection
            await self.transaction.reply(status, to_tag=self.local_tag)
            await call.end(reason, status)
        elif self.forwarding.unreachable and not call.context.browsers:  # her tabs went away while it rang
            await deflect(call, self.transaction, self.forwarding.unreachable, "unreachable", self.local_tag)
        elif self.forwarding.no_answer:
            await deflect(call, self.transaction, self.forwarding.no_answer, "no_answer", self.local_tag)
        else:
            await self.transaction.reply(480, to_tag=self.local_tag)
            await call.end("Missed call." if call.context.browsers else "Missed call (no window was open).", 480)

    async def _caller_cancels(self, scope: trio.CancelScope) -> None:
        await self.transaction.cancelled.wait()
        scope.cancel()

    def accept(self, answer_sdp: str) -> None:
        self.answer_sdp = answer_sdp
        self.decided.set()

    def reject(self, status: int, reason: str) -> None:
        self.rejection = (status, reason)
        self.decided.set()

    async def _answer(self) -> None:
        call = self.call
        try:
            ims_answer = await call.bridge.accept_browser_answer(self.answer_sdp)
        except MediaError as error:
            await self.transaction.reply(488, to_tag=self.local_tag,
                                         headers=[("Warning", f'399 webims "{_quoted(error.reason)}"')])
            await call.end(error.reason, 488)
            return
        ok = dialog_response(self.transaction.request, 200, to_tag=self.local_tag,
                             contact=call.agent.dialog_contact(),
                             headers=[("Content-Type", SDP), ("Allow", "INVITE, ACK, CANCEL, BYE, UPDATE, INFO"),
                                      *self.session_timer.response_headers()],
                             body=ims_answer.encode())
        try:
            call.adopt_dialog(Dialog.from_uas(self.transaction.request, ok))
        except RemoteProtocolError as error:
            await self.transaction.reply(400, f"Bad Request ({error.reason})"[:80])
            await call.end("The call could not be set up: the caller's request was malformed.", 400)
            return
        await self.transaction.respond(ok)
        # The transaction sent the 2xx once; the UA core resends it until the ACK (RFC 3261 §13.3.1.4).
        runner = MachineRunner(SuccessRetransmitter(ok), call.send_to_ims, first_sent=True)
        call.ok_runner = runner
        call.plugin.nursery.start_soon(_retransmit_until_ack, call, runner)
        call.state = "active"
        call.start_session_timer(self.session_timer)
        await call.notify("call.answered")


async def deflect(call: Call, transaction: ServerTransaction, target: str, why: str,
                  local_tag: str | None = None) -> None:
    """Send the call on to ``target`` (TS 24.604 communication deflection: 302 with the target as Contact; the
    IMS routes the call there) and tell her tabs, whose history keeps it."""
    await transaction.reply(302, "Moved Temporarily", to_tag=local_tag or new_tag(),
                            headers=[("Contact", f"<{target}>")])
    _log.info("call.forwarded", call=call.id, target=target, condition=why)
    if call.state == "incoming" and call.id in call.plugin.calls:
        await call.end(f"Forwarded to {target}: {WHY[why]}.", 302)
    else:  # never rang her: the tabs learn of it once, for the history
        await call.notify("call.forwarded", {**call.summary(), "target": target, "condition": why,
                                             "reason": f"Forwarded to {target}: {WHY[why]}."})


async def _retransmit_until_ack(call: Call, runner: MachineRunner) -> None:
    await runner.run()
    if runner.timed_out and not call.ended.is_set():
        # §13.3.1.4: no ACK within 64*T1 — the session is over.
        await call.hang_up("The call was lost: the caller never confirmed the answer.")


def _quoted(text: str) -> str:
    return text.replace('"', "'").replace("\\", "/")[:200]
