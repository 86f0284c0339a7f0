"""One call: a SIP dialog on the IMS side, a media bridge, and the subscriber's tabs that see it.

The call lives on the gateway, in the plugin's nursery, not in a tab: tabs come and go (reload, a second
window) and are told about the call with events; any of them may act on it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import trio

from webims import log
from webims.context import RegistrationContext
from webims.ims.dialog_owner import InviteDialogOwner
from webims.ims.machine import MachineRunner
from webims.media import Bridge, MediaError
from webims.sip import Request, Response
from webims.sip.dialog import Dialog

if TYPE_CHECKING:
    from webims_voice.plugin import VoicePlugin

_log = log.get("voice.call")
SERVICE = "voice"


class Call(InviteDialogOwner):
    # Other services see calls among the context's sessions by this (presence shows "on the phone").
    kind = "call"
    service_name = SERVICE

    def __init__(self, plugin: VoicePlugin, context: RegistrationContext, call_id: str, direction: str,
                 identity: str, peer_uri: str, peer_name: str = ""):
        self.plugin = plugin
        self.context = context
        self.id = call_id
        self.direction = direction  # "outgoing" | "incoming"
        self.identity = identity
        self.peer_uri = peer_uri
        self.peer_name = peer_name
        self.state = "calling" if direction == "outgoing" else "incoming"
        self.started_at = time.time()
        self.bridge: Bridge | None = None
        self.dialog: Dialog | None = None
        self.invite: Request | None = None
        self.held_local = False
        self.held_remote = False
        self.ended = trio.Event()
        self.end_reason = ""
        self.scope = trio.CancelScope()
        # the UA core's own reliability: our 2xx until its ACK, our ACK per 2xx retransmission
        self.ok_runner: MachineRunner | None = None
        self.ack_runner: MachineRunner | None = None
        self.session_refresher = None  # a SessionRefresher once a session timer is agreed (RFC 4028)
        self.retired_dialog: Dialog | None = None  # the dialog we were transferred out of (REFER)
        self._reinvite_lock = trio.Lock()
        # RFC 5168 keyframe requests we send by INFO: one at a time; none once the phone has refused one
        self.keyframe_info_pending = False
        self.keyframe_info_refused = False

    def summary(self) -> dict[str, Any]:
        return {"call": self.id, "direction": self.direction, "state": self.state, "identity": self.identity,
                "peer": {"uri": self.peer_uri, "display_name": self.peer_name},
                "held": {"local": self.held_local, "remote": self.held_remote}, "started_at": self.started_at}

    async def notify(self, event_type: str, body: dict[str, Any] | None = None, *, tabs=None) -> None:
        """Send an event about this call to every tab of the subscriber (or to ``tabs``)."""
        await self.context.tell_tabs(SERVICE, event_type, {"call": self.id, **(body or {})}, session=self.id, tabs=tabs)

    # --- dialog bookkeeping ------------------------------------------------------------------------------------

    def owns_dialog(self, call_id: str, local_tag: str) -> bool:
        return any(dialog is not None and (dialog.call_id, dialog.local_tag) == (call_id, local_tag)
                   for dialog in (self.dialog, self.retired_dialog))

    async def in_dialog(self, method: str, *, headers=(), body: bytes = b"", content_type: str | None = None,
                        dialog: Dialog | None = None) -> Response:
        """Send a request in the call's dialog (or in ``dialog``) and return its final response."""
        dialog = dialog or self.dialog
        request = self.agent.with_via(dialog.create_request(method, headers=headers, body=body,
                                                            content_type=content_type))
        response = await self.agent.send(request, authenticate=False)
        dialog.receive_response(response)
        return response

    def start_session_timer(self, timer) -> None:
        """Keep the agreed session timer: refresh it (UPDATE, else re-INVITE) or end the call if it lapses."""
        from webims_voice.session_timer import SessionRefresher

        if timer is None:
            return
        self.session_refresher = SessionRefresher(timer, self._send_refresh, self.hang_up)
        self.plugin.nursery.start_soon(self._keep_session, self.session_refresher)

    async def _keep_session(self, refresher) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(refresher.run)
            await self.ended.wait()  # the call is over: so is its session timer
            nursery.cancel_scope.cancel()

    async def _send_refresh(self, headers) -> Response:
        response = await self.in_dialog("UPDATE", headers=headers)
        if response.status in (405, 501):  # no UPDATE there: refresh with a re-INVITE (RFC 4028 §7.4)
            from webims_voice.in_dialog import reinvite

            async with self._reinvite_lock:
                response = await reinvite(self, (await self.bridge.ims_offer()).encode(), headers=headers)
        return response

    # --- the end -------------------------------------------------------------------------------------------------

    async def end(self, reason: str, status: int | None = None) -> None:
        """Finish the call once: close the media, forget the dialog, tell the tabs why."""
        if self.ended.is_set():
            return
        self.state = "ended"
        self.end_reason = reason
        self.ended.set()
        for dialog in (self.dialog, self.retired_dialog):
            if dialog is not None:
                self.context.release_dialog(dialog.call_id, dialog.local_tag)
        self.context.remove_session(self.id)
        self.plugin.calls.pop(self.id, None)
        with trio.CancelScope(shield=True):
            if self.bridge is not None:
                try:
                    await self.bridge.close()
                except MediaError as error:
                    _log.info("bridge.close_failed", call=self.id, reason=error.reason)
            body = {"reason": reason}
            if status is not None:
                body["status"] = status
            await self.notify("call.ended", body)
        _log.info("call.ended", call=self.id, reason=reason, status=status)
        self.scope.cancel()

    async def hang_up(self, reason: str = "You hung up.") -> None:
        """End an established call from our side with BYE (best effort: the call ends either way)."""
        if self.dialog is not None and not self.ended.is_set():
            with trio.move_on_after(5):
                try:
                    await self.in_dialog("BYE")
                except Exception as error:  # a lost BYE must not keep the call alive here
                    _log.info("bye.failed", call=self.id, error=repr(error))
        await self.end(reason)
