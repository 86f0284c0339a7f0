"""Worker processes: one asyncio media loop per process, so calls spread over every core.

The gateway (trio) starts ``python -m webims.media.workers LOOP`` per worker (LOOP:
``MediaConfig.event_loop``) and talks to it over its stdin/stdout: length-prefixed pickles of ``(request_id, bridge_id, operation, args)``
one way, ``("result", request_id, ok, value)`` and ``("event", bridge_id, event)`` the other.
Only SDP text, digits and small event values cross; media never does, since both legs of a
call live in the same worker. Pickle is fine here: both ends are this program.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable
from typing import Any

import trio

import webims.log

from .errors import MediaError

__all__ = ["ProcessHost"]

log = webims.log.get("media")
_LENGTH = struct.Struct("!I")


def _frame(message: Any) -> bytes:
    data = pickle.dumps(message)
    return _LENGTH.pack(len(data)) + data


class ProcessHost:
    """The trio side of one worker process.

    A worker that ends while the gateway runs (killed, crashed) is started again at once, or after a pause
    that grows to 30 s if it keeps ending within a minute. Its calls cannot be saved (their ports and
    DTLS state died with it): ``lost(host, why)`` tells the engine, which ends them with a reason. Until the
    new process is up, ``alive`` is False and new calls go to the other workers.
    """

    def __init__(self, config, deliver: Callable[[str, Any], None], index: int = 0,
                 lost: Callable[[ProcessHost, str], None] = lambda host, why: None) -> None:
        self.config = config
        self.index = index
        self.load = 0
        self.restarts = 0
        self._deliver = deliver
        self._lost = lost
        self._process: trio.Process | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[trio.Event, list]] = {}
        self._send_lock = trio.Lock()
        self._alive = False
        self._stopping = False
        self._started_at = 0.0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def alive(self) -> bool:
        return self._alive

    async def start(self, nursery: trio.Nursery) -> None:
        await self._spawn()
        nursery.start_soon(self._supervise)

    async def _spawn(self) -> None:
        self._process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "webims.media.workers", self.config.event_loop], stdin=-1, stdout=-1)
        await self._process.stdin.send_all(_frame(self.config))
        self._started_at = trio.current_time()
        self._alive = True

    async def _supervise(self) -> None:
        pause = 0.0
        while True:
            await self._read_replies()
            process = self._process
            with trio.move_on_after(1):
                await process.wait()
            if process.returncode is None:  # it closed its pipe but lives on: it is no use to us
                process.kill()
                await process.wait()
            await process.stdin.aclose()
            if self._stopping:
                return
            why = _exit_reason(process.returncode)
            log.error("worker.ended", worker=self.index, pid=process.pid, exit=why, calls=self.load)
            self._lost(self, why)
            pause = 0.0 if trio.current_time() - self._started_at > 60 else min(max(2 * pause, 1.0), 30.0)
            await trio.sleep(pause)
            while not self._stopping:
                try:
                    await self._spawn()
                    break
                except OSError as error:
                    log.error("worker.start_failed", worker=self.index, error=str(error))
                    pause = min(max(2 * pause, 1.0), 30.0)
                    await trio.sleep(pause)
            if self._stopping:
                return
            self.restarts += 1
            log.info("worker.restarted", worker=self.index, pid=self._process.pid, restarts=self.restarts)

    async def call(self, bridge_id: str, operation: str, *args: Any) -> Any:
        request_id = next(self._ids)
        done, slot = trio.Event(), []
        self._waiting[request_id] = (done, slot)
        try:
            if self._alive:
                async with self._send_lock:
                    await self._process.stdin.send_all(_frame((request_id, bridge_id, operation, args)))
                await done.wait()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self._waiting.pop(request_id, None)
        if not slot:
            raise MediaError(f"Media worker {self.index} has ended; the media of its calls is lost.")
        ok, value = slot
        if not ok:
            raise value
        return value

    async def stop(self) -> None:
        self._stopping = True
        if self._process is None:
            return
        with trio.move_on_after(5):
            try:
                await self.call("", "shutdown")
            except MediaError:
                pass  # already gone
        try:
            await self._process.stdin.aclose()
        except trio.ClosedResourceError:
            pass
        with trio.move_on_after(5):
            await self._process.wait()
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()

    async def _read_replies(self) -> None:
        buffer = bytearray()
        try:
            while True:
                chunk = await self._process.stdout.receive_some(65536)
                if not chunk:
                    break
                buffer += chunk
                while len(buffer) >= 4 and len(buffer) >= 4 + _LENGTH.unpack_from(buffer)[0]:
                    size = _LENGTH.unpack_from(buffer)[0]
                    self._dispatch(pickle.loads(buffer[4:4 + size]))
                    del buffer[:4 + size]
        finally:
            self._alive = False
            for done, _ in self._waiting.values():
                done.set()  # the worker is gone: every waiting call fails

    def _dispatch(self, message) -> None:
        if message[0] == "event":
            self._deliver(message[1], message[2])
        elif message[0] == "result":
            waiting = self._waiting.get(message[1])
            if waiting is not None:
                waiting[1].extend(message[2:])
                waiting[0].set()


def _exit_reason(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


# --- the worker process ------------------------------------------------------------------------

async def _serve(reader: asyncio.StreamReader, write: Callable[[bytes], None]) -> None:
    from .worker import MediaWorker

    config = pickle.loads(await reader.readexactly(_LENGTH.unpack(await reader.readexactly(4))[0]))
    worker = MediaWorker(config, lambda bridge_id, event: write(_frame(("event", bridge_id, event))))
    tasks: set[asyncio.Task] = set()

    async def run(request_id: int, bridge_id: str, operation: str, args: tuple) -> None:
        try:
            if operation == "shutdown":
                result = (True, await worker.close_all())
            else:
                result = (True, await worker.handle(bridge_id, operation, args))
        except Exception as exc:  # noqa: BLE001 - sent back to be raised in the caller
            result = (False, exc)
        try:
            write(_frame(("result", request_id, *result)))
        except (pickle.PicklingError, TypeError, AttributeError):
            write(_frame(("result", request_id, False, RuntimeError(repr(result[1])))))

    try:
        while True:
            header = await reader.readexactly(4)
            request = pickle.loads(await reader.readexactly(_LENGTH.unpack(header)[0]))
            task = asyncio.ensure_future(run(*request))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except asyncio.IncompleteReadError:
        pass  # the gateway closed our stdin: end every call
    finally:
        await worker.close_all()


async def _main() -> None:
    # Our stdout is the reply pipe: keep it for ourselves, and send stray prints to stderr.
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(reply_fd, "wb", buffering=0))
    await _serve(reader, transport.write)


if __name__ == "__main__":
    from .loop_thread import new_event_loop

    with asyncio.Runner(loop_factory=lambda: new_event_loop(sys.argv[1] if len(sys.argv) > 1 else "asyncio")) as runner:
        runner.run(_main())
