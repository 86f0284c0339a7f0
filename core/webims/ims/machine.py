"""Running a sans-IO retransmission machine (``webims.sip.retransmission``) on trio.

Transactions run inside :class:`~webims.ims.endpoint.SipEndpoint`; the UA core's own reliability machines (a
2xx resent until its ACK, an ACK repeated per 2xx) run here: their ``Send`` actions go out through ``send``,
their timers are trio deadlines, and :meth:`MachineRunner.done` tells how they ended.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import trio

from webims.sip.message import Message
from webims.sip.transaction import Deliver, Send, StartTimer, StopTimer, Terminated, Timeout


class MachineRunner:
    def __init__(self, machine, send: Callable[[Message], Awaitable[None]], *, first_sent: bool = False):
        """``first_sent``: the machine's first Send went out already (a 2xx the transaction sent once)."""
        self.machine = machine
        self._send = send
        self._skip_send = first_sent
        self._deadlines: dict[str, float] = {}
        self._changed = trio.Event()
        self.delivered: list[Message] = []
        self.timed_out = False
        self.finished = trio.Event()

    async def run(self) -> None:
        """Start the machine and fire its timers until it terminates (or the caller cancels)."""
        await self.feed(self.machine.start())
        while not self.finished.is_set():
            name, deadline = min(self._deadlines.items(), key=lambda item: item[1], default=(None, math.inf))
            with trio.move_on_at(deadline):
                await self._changed.wait()
                self._changed = trio.Event()
                continue
            del self._deadlines[name]
            await self.feed(self.machine.timer_fired(name))

    async def feed(self, actions: list) -> None:
        """Carry out actions the machine returned for an input (``receive_ack``, ``receive_2xx``)."""
        for action in actions:
            if isinstance(action, Send):
                if self._skip_send:
                    self._skip_send = False
                    continue
                await self._send(action.message)
            elif isinstance(action, StartTimer):
                self._deadlines[str(action.name)] = trio.current_time() + action.seconds
            elif isinstance(action, StopTimer):
                self._deadlines.pop(str(action.name), None)
            elif isinstance(action, Deliver):
                self.delivered.append(action.message)
            elif isinstance(action, Timeout):
                self.timed_out = True
            elif isinstance(action, Terminated):
                self._deadlines.clear()
                self.finished.set()
        self._changed.set()
