"""What a service's session that owns an INVITE dialog (a call, a chat) needs from the core.

Two duties come with an INVITE dialog besides the dialog itself: the gateway must learn that in-dialog
requests for it are this service's (the claim in her registration context), and the UA core's own
reliability must run (RFC 3261 §13.3.1.4: our 2xx is resent until its ACK comes; §13.2.2.4: our ACK is
sent again for each retransmitted 2xx). The gateway hands ACKs and 2xx that match no transaction to the
claim's ``on_stray``; this class feeds them to the two machines. A 2xx from another fork of our INVITE (the
callee has two devices and both answered) is acknowledged and ended with BYE (§13.2.2.4): the session goes on
with the first.
"""

from __future__ import annotations

from typing import Any

import trio

from webims import log
from webims.context import DialogClaim, RegistrationContext
from webims.sip import RemoteProtocolError, Request, Response
from webims.sip.dialog import Dialog

from .machine import MachineRunner

__all__ = ["InviteDialogOwner"]
_log = log.get("ims.dialog")


class InviteDialogOwner:
    """A base for a session that owns an INVITE dialog: set ``service_name`` (the claim's owner), ``context``,
    ``dialog``, and ``ok_runner`` / ``ack_runner`` while our 2xx / our ACK may need sending again."""

    service_name: str
    context: RegistrationContext
    dialog: Dialog | None = None
    invite: Request | None = None  # the INVITE that made the dialog, ours or theirs
    ok_runner: MachineRunner | None = None
    ack_runner: MachineRunner | None = None
    _forks_ended: set[str] | None = None

    @property
    def agent(self) -> Any:
        return self.context.user_agent

    def adopt_dialog(self, dialog: Dialog) -> None:
        self.dialog = dialog
        self.context.claim_dialog(dialog.call_id, dialog.local_tag, DialogClaim(self.service_name, self.on_stray))

    async def on_stray(self, received) -> None:
        """An ACK for our 2xx, or a retransmitted 2xx for our INVITE (see webims.gateway.sip)."""
        message = received.message
        if isinstance(message, Request) and self.ok_runner is not None:
            await self.ok_runner.feed(self.ok_runner.machine.receive_ack(message))
        elif isinstance(message, Response) and self._from_another_fork(message):
            await self._end_fork(message)
        elif isinstance(message, Response) and self.ack_runner is not None:
            await self.ack_runner.feed(self.ack_runner.machine.receive_2xx(message))

    def _from_another_fork(self, response: Response) -> bool:
        """A 2xx to our own INVITE from a UAS other than the one our dialog is with."""
        invite, dialog = self.invite, self.dialog
        return (200 <= response.status < 300 and invite is not None and dialog is not None
                and invite.from_tag == dialog.local_tag  # we sent the INVITE
                and response.call_id == invite.call_id and response.cseq.method == "INVITE"
                and response.to_tag is not None and response.to_tag != dialog.remote_tag)

    async def _end_fork(self, ok: Response) -> None:
        try:
            fork = Dialog.from_uac(self.invite, ok)
        except RemoteProtocolError:
            return  # a 2xx we cannot answer: that device ends it by itself (64×T1 without an ACK)
        await self.send_to_ims(self.agent.with_via(fork.create_ack(ok)))  # each retransmission gets one
        self._forks_ended = self._forks_ended or set()
        if ok.to_tag in self._forks_ended:
            return
        self._forks_ended.add(ok.to_tag)
        _log.info("dialog.extra_fork_ended", call_id=ok.call_id, remote_tag=ok.to_tag)
        with trio.move_on_after(5):
            await self.agent.send(self.agent.with_via(fork.create_request("BYE")), authenticate=False)

    async def send_to_ims(self, message) -> None:
        await self.agent.endpoint.send_stateless(message, self.agent.proxy)
