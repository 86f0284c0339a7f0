"""The last request of a publication or subscription (Expires: 0), sent while her tasks are being cancelled.

It is shielded from that cancellation but bounded in time, and quiet when the SIP side is gone already: at
gateway shutdown the transports are cancelled together with her tasks, and a stream transport then refuses
to open a connection (RuntimeError from its closed nursery) or finds its stream closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from webims import log

_log = log.get("presence.goodbye")


async def say_goodbye(send: Callable[[], Awaitable[object]], within: float, what: str) -> None:
    with trio.CancelScope(shield=True), trio.move_on_after(within):
        try:
            await send()
        except (RuntimeError, trio.ClosedResourceError, trio.BrokenResourceError) as error:
            _log.info("goodbye.not_sent", what=what, reason=str(error))
