"""The trio-facing media engine: what the call layer uses.

::

    async with open_media_engine(MediaConfig(...)) as engine:   # ends every bridge when it ends
        bridge = await engine.new_bridge(call_id)                # one per call
        ...                                                       # see Bridge
        await bridge.close()

aiortc runs on asyncio loops beside trio, never in trio's thread: with ``workers=0`` one loop
in a thread of the gateway process (:class:`~webims.media.loop_thread.ThreadHost`), with
``workers=N`` one loop in each of N worker processes
(:class:`~webims.media.workers.ProcessHost`). The choice is measured in docs/media.md; the
call layer cannot tell them apart.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import trio

import webims.log
from webims.service import CallMedia

from .bridge import BridgeStats
from .config import MediaConfig
from .errors import MediaError
from .events import Leg, MediaEvent, VideoChanged
from .loop_thread import ThreadHost

__all__ = ["open_media_engine", "MediaEngine", "Bridge", "LOST_MEDIA"]

log = webims.log.get("media")

LOST_MEDIA = ("The gateway lost this call's audio (the process carrying it stopped), so the call was ended. "
              "You can call again.")


@asynccontextmanager
async def open_media_engine(config: MediaConfig | None = None) -> AsyncIterator[MediaEngine]:
    async with trio.open_nursery() as nursery:
        engine = MediaEngine(config or MediaConfig())
        await engine._start(nursery)
        try:
            yield engine
        finally:
            with trio.CancelScope(shield=True):
                await engine._stop()
            nursery.cancel_scope.cancel()


class MediaEngine:
    def __init__(self, config: MediaConfig) -> None:
        self.config = config
        self._hosts: list = []
        self._bridges: dict[str, Bridge] = {}
        self._ids = itertools.count(1)

    async def new_bridge(self, call_id: str, media: Sequence[CallMedia] = ()) -> Bridge:
        """A bridge with its IMS port pair bound; MediaError if no port is free. ``media`` are the kinds
        plugins add to calls (``webims_call_media``); this engine carries ``video``."""
        hosts = [host for host in self._hosts if host.alive]
        if not hosts:
            raise MediaError("The gateway's media process is being restarted, so calls have no audio for a "
                             "moment. Please try again shortly.")
        host = min(hosts, key=lambda h: h.load)
        bridge_id = f"{call_id}#{next(self._ids)}"
        bridge = Bridge(self, host, bridge_id, call_id)
        self._bridges[bridge_id] = bridge
        host.load += 1
        try:
            await host.call(bridge_id, "open", call_id, tuple(media))
        except BaseException:
            self._forget(bridge)
            raise
        return bridge

    @property
    def bridges(self) -> list[Bridge]:
        return list(self._bridges.values())

    async def _start(self, nursery: trio.Nursery) -> None:
        if self.config.workers == 0:
            self._hosts = [ThreadHost(self.config, self._deliver)]
        else:
            from .workers import ProcessHost

            self._hosts = [ProcessHost(self.config, self._deliver, index=i, lost=self._host_lost)
                           for i in range(self.config.workers)]
        for host in self._hosts:
            await host.start(nursery)

    async def _stop(self) -> None:
        for bridge in list(self._bridges.values()):
            await bridge.close()
        for host in self._hosts:
            await host.stop()

    def _deliver(self, bridge_id: str, event: MediaEvent) -> None:
        bridge = self._bridges.get(bridge_id)
        if bridge is not None:
            bridge._deliver(event)

    def _host_lost(self, host, why: str) -> None:
        """A worker process ended with its calls: each bridge says so (:attr:`Bridge.lost`) and its events end."""
        for bridge in [b for b in self._bridges.values() if b._host is host]:
            bridge.lost = LOST_MEDIA
            log.warning("bridge.lost", call=bridge.call_id, worker=host.index, exit=why)
            self._forget(bridge)

    def _forget(self, bridge: Bridge) -> None:
        if self._bridges.pop(bridge.bridge_id, None) is not None:
            bridge._host.load -= 1
            bridge._events_in.close()


class Bridge:
    """One call's media, as the trio call layer sees it. Every method may raise :class:`MediaError`.

    ``lost`` is None, or why the call's media ended under it (its worker process stopped): its
    :meth:`events` then end, and the call cannot go on.
    ``video`` is what the call's video does (a :class:`~webims.media.events.VideoChanged`; its ``codec``
    is None while the call has none), up to date when an operation returns.
    """

    def __init__(self, engine: MediaEngine, host, bridge_id: str, call_id: str) -> None:
        self.call_id = call_id
        self.bridge_id = bridge_id
        self._engine = engine
        self._host = host
        self._events_in, self._events_out = trio.open_memory_channel[MediaEvent](engine.config.events_buffer)
        self.events_dropped = 0
        self.video = VideoChanged(None)
        self.lost: str | None = None

    async def _call(self, operation: str, *args: Any) -> Any:
        if self.bridge_id not in self._engine._bridges:
            raise MediaError(self.lost or "This call's media has already ended.")
        result, self.video = await self._host.call(self.bridge_id, operation, *args)
        return result

    # browser calls out
    async def accept_browser_offer(self, offer_sdp: str) -> str:
        """The browser's offer → our answer to it."""
        return await self._call("accept_browser_offer", offer_sdp)

    async def ims_offer(self) -> str:
        """Our SDP offer for the INVITE (or a re-INVITE after :meth:`set_hold`)."""
        return await self._call("ims_offer")

    async def accept_ims_answer(self, answer_sdp: str) -> None:
        """The phone's answer from a 183 or 200 (applying the same answer twice is harmless)."""
        await self._call("accept_ims_answer", answer_sdp)

    # a call comes in
    async def offer_to_browser(self, ims_offer_sdp: str) -> str:
        """The phone's offer → our offer to the browser; MediaError (the 488's reason) if nothing fits."""
        return await self._call("offer_to_browser", ims_offer_sdp)

    async def accept_browser_answer(self, answer_sdp: str) -> str:
        """The browser's answer → our answer to the phone's offer."""
        return await self._call("accept_browser_answer", answer_sdp)

    # mid-call
    async def accept_ims_reoffer(self, offer_sdp: str) -> str:
        """The phone's re-INVITE (remote hold/resume, new address, video added or removed): our answer."""
        return await self._call("accept_ims_reoffer", offer_sdp)

    async def accept_browser_reoffer(self, offer_sdp: str) -> str:
        """The browser renegotiated on the same connection (camera on/off, video added): our answer.
        When the phone's side must change too, :class:`NegotiationNeeded` follows: re-INVITE with
        :meth:`ims_offer`."""
        return await self._call("accept_browser_reoffer", offer_sdp)

    async def set_hold(self, held: bool) -> None:
        """Hold or resume the phone from our side; then send :meth:`ims_offer` in a re-INVITE."""
        await self._call("set_hold", held)

    async def send_dtmf(self, digits: str, to: Leg | str = Leg.IMS) -> None:
        """Play digits (0-9 * # A-D) as RFC 4733 events towards ``"ims"`` or ``"browser"``."""
        await self._call("send_dtmf", digits, Leg(to))

    async def accept_ims_keyframe_request(self) -> None:
        """The phone asked for a keyframe over SIP (an INFO with RFC 5168 ``picture_fast_update``): the browser's
        camera is asked for one, as for the phone's PLI (coalesced with it). The phone has shown that it takes
        INFO, so with ``keyframe_request_info`` "auto" the bridge's own requests to it raise
        :class:`~webims.media.events.KeyframeNeeded` from now on. Nothing happens to a call without video."""
        await self._call("accept_ims_keyframe_request")

    async def restart_browser_leg(self, offer_sdp: str) -> str:
        """A reloaded tab's (or ICE restart's) new offer → our answer; the IMS leg goes on."""
        return await self._call("restart_browser_leg", offer_sdp)

    async def add_browser_candidate(self, candidate: str | None, sdp_mid: str | None = None,
                                    sdp_mline_index: int | None = None) -> None:
        """A trickled ICE candidate from the browser, or None at end-of-candidates."""
        await self._call("add_browser_candidate", candidate, sdp_mid, sdp_mline_index)

    async def stats(self) -> BridgeStats:
        return await self._call("stats")

    def events(self) -> trio.MemoryReceiveChannel[MediaEvent]:
        """``async for event in bridge.events()``: DtmfReceived, IceStateChanged, MediaTimeout,
        CodecChosen, VideoChanged, NegotiationNeeded, KeyframeNeeded; the iteration ends when the bridge closes. One
        reader per bridge. (:attr:`video` is the latest VideoChanged at once, without reading.)"""
        return self._events_out

    async def close(self) -> None:
        """Free the ports, peer connection and tasks; safe to call twice."""
        if self.bridge_id not in self._engine._bridges:
            return
        try:
            with trio.CancelScope(shield=True):
                await self._host.call(self.bridge_id, "close")
        except MediaError:
            pass  # its worker process has ended, and its sockets with it
        finally:
            self._engine._forget(self)

    def _deliver(self, event: MediaEvent) -> None:
        if isinstance(event, VideoChanged):
            self.video = event
        try:
            self._events_in.send_nowait(event)
        except (trio.WouldBlock, trio.ClosedResourceError):
            self.events_dropped += 1  # nobody reads them: never block the media loop on trio

    async def __aenter__(self) -> Bridge:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()


