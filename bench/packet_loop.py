"""A load generator's packet loop on a thread of its own, for bench/media.py and bench/video.py: ``start`` returns
once it runs, ``stop`` ends it. A subclass names its sockets (``fds``) and ``serve``s them from one epoll until
``_running`` turns False, or replaces ``_run`` altogether (the C loop of native_media_loop.py)."""

from __future__ import annotations

import select
import threading


class PacketLoop:

    thread_name = "bench-media"
    tid: int | None = None
    _running = False
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._running = True
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), name=self.thread_name, daemon=True)
        self._thread.start()
        started.wait()

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(5)

    def _run(self, started: threading.Event) -> None:
        self.tid = threading.get_native_id()
        started.set()
        poller = select.epoll()
        for fd in self.fds():
            poller.register(fd, select.EPOLLIN)
        try:
            self.serve(poller)
        finally:
            poller.close()
