"""What a service's session that owns an INVITE dialog (a call, a chat) needs from the core.

Two duties come with an INVITE dialog besides the dialog itself: the gateway must learn that in-dialog
requests for it are this service's (the claim in her registration context), and the UA core's own
reliability must run (RFC 3261 §13.3.1.4: our 2xx is resent until its ACK comes; §13.2.2.4: our ACK is
sent again for each retransmitted 2xx). The gateway hands ACKs and 2xx that match no transaction to the
claim's ``on_stray``; this class feeds them to the two machines.
"""

from __future__ import annotations

from typing import Any

from webims.context import DialogClaim, RegistrationContext
from webims.sip import Request, Response
from webims.sip.dialog import Dialog

from .machine import MachineRunner

__all__ = ["InviteDialogOwner"]


class InviteDialogOwner:
    """A base for a session that owns an INVITE dialog: set ``service_name`` (the claim's owner), ``context``,
    ``dialog``, and ``ok_runner`` / ``ack_runner`` while our 2xx / our ACK may need sending again."""

    service_name: str
    context: RegistrationContext
    dialog: Dialog | None = None
    ok_runner: MachineRunner | None = None
    ack_runner: MachineRunner | None = None

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
        elif isinstance(message, Response) and self.ack_runner is not None:
            await self.ack_runner.feed(self.ack_runner.machine.receive_2xx(message))

    async def send_to_ims(self, message) -> None:
        await self.agent.endpoint.send_stateless(message, self.agent.proxy)
