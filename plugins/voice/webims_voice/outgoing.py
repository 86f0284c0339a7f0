"""Calls Mary makes: the browser's offer is answered by the gateway at once, the INVITE goes to the IMS.

The browser's media path to the gateway is set up while the IMS side rings, so early media (183) and the
answer play without waiting. Cancel before an answer follows RFC 3261 §9.1: not before a provisional response.
"""

from __future__ import annotations

import trio

from webims import log
from webims.ims.machine import MachineRunner
from webims.sip import RemoteProtocolError, Response
from webims.service import FeatureTag
from webims.sip.dialog import Dialog
from webims.sip.feature_tags import MMTEL, accept_contact
from webims.sip.retransmission import AckRepeater
from webims.sip.session_timer import SessionTimerPolicy, retry_after_422, session_timer_headers, uac_session_timer
from webims.sip.transaction import make_cancel
from webims_voice.call import Call
from webims_voice.reasons import failure_reason

_log = log.get("voice.outgoing")
SDP = "application/sdp"
ALLOW = "INVITE, ACK, CANCEL, BYE, UPDATE, INFO, REFER, NOTIFY, OPTIONS"
MMTEL_CALLEE = accept_contact(FeatureTag("+g.3gpp.icsi-ref", MMTEL))


def build_invite(call: Call, target: str, sdp: bytes, privacy: bool, timers: SessionTimerPolicy):
    agent = call.agent
    # TS 24.173 §5.2: an MMTel call asks for an MMTel callee (Accept-Contact) and names its service.
    headers = [("Contact", agent.dialog_contact()), ("Accept-Contact", MMTEL_CALLEE),
               ("P-Preferred-Service", MMTEL), ("P-Preferred-Identity", f"<{call.identity}>"),
               ("Allow", ALLOW), ("Supported", "timer, replaces"), *session_timer_headers(timers)]
    from_uri = call.identity
    if privacy:
        # RFC 3323/3325: hide who calls; the network still knows (P-Preferred-Identity), the callee does not.
        headers.append(("Privacy", "id"))
        from_uri = "sip:anonymous@anonymous.invalid"
    return agent.build_request("INVITE", target, from_uri=from_uri, headers=headers, body=sdp, content_type=SDP)


class OutgoingCall:
    """Drives one outgoing INVITE to its end: provisional responses, answer or failure, cancel, ring timeout."""

    def __init__(self, call: Call, ring_timeout: float):
        self.call = call
        self.ring_timeout = ring_timeout
        self.cancel_wanted = trio.Event()
        self._provisional_seen = trio.Event()
        self._cancel_reason = "You hung up."

    async def run(self, invite) -> None:
        call = self.call
        call.invite = invite
        final = await self._send(invite)
        if final is None:
            return
        if final.status in (401, 407):
            authorized = call.agent.authorized(invite, final)
            if authorized is not None:
                call.invite = authorized
                final = await self._send(authorized)
                if final is None:
                    return
        if final.status == 422 and "Min-SE" in final.headers:
            # RFC 4028 §7.4: the interval was too small for the other side; ask again with its minimum.
            call.invite = _with_session_interval(call.agent, call.invite, *retry_after_422(call.invite, final))
            final = await self._send(call.invite)
            if final is None:
                return
        if 200 <= final.status < 300:
            if self.cancel_wanted.is_set():  # answered while our CANCEL was on its way
                await self._answered(final)
                await call.hang_up(self._cancel_reason)
                return
            await self._answered(final)
        elif final.status == 487 and self.cancel_wanted.is_set():
            await call.end(self._cancel_reason, 487)
        else:
            await call.end(failure_reason(final), final.status)

    async def _send(self, invite) -> Response | None:
        call = self.call
        transaction = await call.agent.start(invite)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._cancel_when_wanted, invite)
            with trio.move_on_after(self.ring_timeout) as ringing:
                async for response in transaction.responses():
                    if response.status >= 200:
                        nursery.cancel_scope.cancel()
                        return response
                    await self._provisional(response)
            if ringing.cancelled_caught:
                self.cancel("No answer.")
                async for response in transaction.responses():
                    if response.status >= 200:
                        nursery.cancel_scope.cancel()
                        return response
        return None

    def cancel(self, reason: str = "You hung up.") -> None:
        self._cancel_reason = reason
        self.cancel_wanted.set()

    async def _cancel_when_wanted(self, invite) -> None:
        await self.cancel_wanted.wait()
        await self._provisional_seen.wait()  # §9.1: no CANCEL before a provisional response
        response = await self.call.agent.send(make_cancel(invite), authenticate=False)
        _log.info("cancel.sent", call=self.call.id, status=response.status)

    async def _provisional(self, response: Response) -> None:
        call = self.call
        if response.status == 100:
            self._provisional_seen.set()
            return
        self._provisional_seen.set()
        if response.body and response.media_type == "application/sdp":
            await call.bridge.accept_ims_answer(response.body.decode("utf-8", "replace"))
            if call.state != "early":
                call.state = "early"
                await call.notify("call.progress", {"state": "early"})
        elif call.state == "calling":
            call.state = "ringing"
            await call.notify("call.progress", {"state": "ringing"})

    async def _answered(self, ok: Response) -> None:
        call = self.call
        try:
            dialog = Dialog.from_uac(call.invite, ok)
        except RemoteProtocolError as error:
            await call.end(f"The other side answered with a broken response ({error.reason}).", ok.status)
            return
        call.adopt_dialog(dialog)
        ack = call.agent.with_via(dialog.create_ack(ok))
        call.ack_runner = MachineRunner(AckRepeater(ack), call.send_to_ims)
        call.plugin.nursery.start_soon(call.ack_runner.run)
        if ok.body and ok.media_type == "application/sdp":
            await call.bridge.accept_ims_answer(ok.body.decode("utf-8", "replace"))
        if not self.cancel_wanted.is_set():
            call.state = "active"
            call.start_session_timer(uac_session_timer(ok))
            await call.notify("call.answered")


def _with_session_interval(agent, invite, interval: int, min_se: int):
    """The INVITE again (new branch and CSeq) asking for ``interval`` with ``Min-SE: min_se``."""
    fields = invite.headers.copy()
    fields.set("Session-Expires", f"{interval};refresher=uac")
    fields.set("Min-SE", str(min_se))
    retried = agent.build_request("INVITE", str(invite.uri), from_uri=str(invite.from_.uri),
                                  call_id=invite.call_id, from_tag=invite.from_tag)
    fields.set("Via", retried.headers.get("Via"))
    fields.set("CSeq", retried.headers.get("CSeq"))
    return type(invite)("INVITE", invite.uri, fields, invite.body)
