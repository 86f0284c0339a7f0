"""An asyncio event loop in a dedicated thread, driven from trio.

trio calls in with :meth:`LoopThread.run` (``asyncio.run_coroutine_threadsafe``, woken back
through the trio token); the loop calls out with :meth:`LoopThread.to_trio`
(``TrioToken.run_sync_soon``), which never blocks the media loop on trio.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

__all__ = ["LoopThread", "ThreadHost", "new_event_loop"]

T = TypeVar("T")


def new_event_loop(kind: str = "asyncio") -> asyncio.AbstractEventLoop:
    """A new loop of ``MediaConfig.event_loop``'s kind: ``uvloop`` or the standard ``asyncio`` loop."""
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class LoopThread:
    def __init__(self, name: str = "webims-media", event_loop: str = "asyncio") -> None:
        self.name = name
        self.event_loop = event_loop
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._trio_token: trio.lowlevel.TrioToken | None = None

    def start(self) -> None:
        """Start the thread; call from trio (the token it records is how the loop reaches back)."""
        self._trio_token = trio.lowlevel.current_trio_token()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(ready,), name=self.name, daemon=True)
        self._thread.start()
        ready.wait()

    def _main(self, ready: threading.Event) -> None:
        self.loop = new_event_loop(self.event_loop)
        asyncio.set_event_loop(self.loop)
        ready.set()
        try:
            self.loop.run_forever()
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    async def run(self, async_fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``async_fn(*args)`` on the loop and wait for it in trio; cancelling the trio
        caller cancels the asyncio task."""
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()
        future = asyncio.run_coroutine_threadsafe(async_fn(*args), self.loop)

        def wake(_future) -> None:
            try:
                token.run_sync_soon(done.set)
            except trio.RunFinishedError:
                pass

        future.add_done_callback(wake)
        try:
            await done.wait()
        except trio.Cancelled:
            future.cancel()
            raise
        return future.result()

    def to_trio(self, fn: Callable[..., None], *args: Any) -> None:
        """From the loop's thread: run ``fn(*args)`` in trio soon, without waiting for it."""
        try:
            self._trio_token.run_sync_soon(fn, *args)
        except trio.RunFinishedError:
            pass

    async def stop(self) -> None:
        if self.loop is not None and self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            await trio.to_thread.run_sync(self._thread.join)


class ThreadHost:
    """Runs a :class:`~webims.media.worker.MediaWorker` on a :class:`LoopThread` of the gateway process."""

    alive = True  # it lives and ends with the gateway

    def __init__(self, config, deliver: Callable[[str, Any], None], name: str = "webims-media") -> None:
        from .worker import MediaWorker

        self._thread = LoopThread(name, config.event_loop)
        self._worker = MediaWorker(config, lambda bridge_id, event: self._thread.to_trio(deliver, bridge_id, event))
        self.load = 0

    async def start(self, nursery: trio.Nursery) -> None:
        self._thread.start()

    async def call(self, bridge_id: str, operation: str, *args: Any) -> Any:
        return await self._thread.run(self._worker.handle, bridge_id, operation, args)

    async def stop(self) -> None:
        if self._thread.loop is not None and self._thread.loop.is_running():
            await self._thread.run(self._worker.close_all)
        await self._thread.stop()
