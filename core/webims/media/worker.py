"""The asyncio side of the engine: the bridges of one media loop, reached by name.

A host (a thread in the gateway process, see loop_thread.py, or a worker process, see
workers.py) runs one :class:`MediaWorker` on its asyncio loop and passes it requests as
``(bridge_id, operation, args)``: plain values, so the same requests can cross a pipe.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import webims.log

from .bridge import CallBridge
from .browser_leg import use_host_addresses
from .config import MediaConfig
from .errors import MediaError
from .events import MediaEvent

__all__ = ["MediaWorker", "OPERATIONS"]

log = webims.log.get("media")

# What the call layer may ask of a bridge (CallBridge's public surface).
OPERATIONS = frozenset({
    "accept_browser_offer", "ims_offer", "accept_ims_answer", "offer_to_browser", "accept_browser_answer",
    "accept_ims_reoffer", "accept_browser_reoffer", "set_hold", "send_dtmf", "restart_browser_leg",
    "add_browser_candidate", "accept_ims_keyframe_request", "stats",
})


class MediaWorker:
    def __init__(self, config: MediaConfig, emit: Callable[[str, MediaEvent], None]) -> None:
        self.config = config
        self._emit = emit
        self.bridges: dict[str, CallBridge] = {}
        if config.browser_addresses:
            use_host_addresses(config.browser_addresses)

    async def handle(self, bridge_id: str, operation: str, args: tuple = ()):
        """The operation's result; bridge operations return ``(result, video_state)`` so the trio side
        knows what the call's video does as soon as the operation returns."""
        if operation == "open":
            call_id, media = args
            self.bridges[bridge_id] = await CallBridge.open(
                call_id, self.config, lambda event: self._emit(bridge_id, event), media)
            return None
        if operation == "close":
            bridge = self.bridges.pop(bridge_id, None)
            if bridge is not None:
                await bridge.close()
            return None
        if operation not in OPERATIONS:
            raise ValueError(f"unknown media operation {operation!r}")
        bridge = self.bridges.get(bridge_id)
        if bridge is None:
            raise MediaError("This call's media has already ended.")
        result = getattr(bridge, operation)(*args)
        result = await result if inspect.isawaitable(result) else result
        return result, bridge.video.state

    async def close_all(self) -> None:
        for bridge_id in list(self.bridges):
            await self.handle(bridge_id, "close")
