"""Running trio things beside a synchronous Playwright test: a gateway (and its peers) in a background thread.

Browser tests are synchronous (Playwright's sync API; NOTES), while the gateway is trio. ``TrioThread`` runs
one ``trio.run`` in a daemon thread with a nursery the test can start services in, and calls into it:

    with TrioThread("gateway") as trio_thread:
        ims = trio_thread.start(lambda nursery: FakeIms(accounts).start(nursery))
        gateway = trio_thread.start(lambda nursery: start_gateway(nursery, {"auth": True}, ims={"proxy": ims.uri}))
        trio_thread.run(some_async_function, arg)           # waits for its result in the test's thread

``FakeGateway`` is the usual world of the portal tests built that way: the fake IMS core with Mary's account,
the real auth service, and the fake voice service (``fake_voice``), with sync wrappers for its test hooks.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

from webims.testing.fake_ims import FakeAccount, FakeIms
from webims.testing.gateway import start_gateway

from .fake_voice import FakeVoicePlugin

T = TypeVar("T")

MARY = FakeAccount("secret", ["sip:mary@ims.test", "tel:+15550100", "sip:mary.work@ims.test"])
AUTH_SETTINGS = {"keepalive_interval": 5, "grace_seconds": 30, "shutdown_seconds": 0.2}


class TrioThread:
    """One ``trio.run`` in a background thread, with a nursery that lives until :meth:`stop`."""

    def __init__(self, name: str = "trio") -> None:
        self.name = name
        self._token: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def __enter__(self) -> TrioThread:
        self.start_thread()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start_thread(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise RuntimeError(f"the {self.name} thread did not start") from self._error

    def _main(self) -> None:
        async def main() -> None:
            async with trio.open_nursery() as nursery:
                self._token, self._nursery = trio.lowlevel.current_trio_token(), nursery
                self._ready.set()
                await trio.sleep_forever()
        try:
            trio.run(main)
        except BaseException as error:  # noqa: BLE001 - reported to the test by start_thread/stop
            self._error = error
        finally:
            self._ready.set()

    def run(self, async_fn: Callable[..., Awaitable[T]], *args: Any, timeout: float = 30) -> T:
        """Run ``async_fn(*args)`` in the trio thread and return its result (its exception is raised here)."""
        async def bounded() -> T:
            with trio.fail_after(timeout):
                return await async_fn(*args)
        return trio.from_thread.run(bounded, trio_token=self._token)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a plain function in the trio thread (to read state that thread owns, without races)."""
        return trio.from_thread.run_sync(fn, *args, trio_token=self._token)

    def start(self, starter: Callable[[trio.Nursery], Awaitable[T]]) -> T:
        """``starter(nursery)`` in the thread: start long-running things in the thread's nursery."""
        async def call() -> T:
            return await starter(self._nursery)
        return self.run(call)

    def stop(self, timeout: float = 10) -> None:
        """Cancel everything started in the thread and wait for it to end."""
        if self._token is not None and self._thread.is_alive():
            try:
                trio.from_thread.run_sync(self._nursery.cancel_scope.cancel, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the {self.name} thread did not stop within {timeout} s")
        if self._error is not None and not isinstance(self._error, KeyboardInterrupt):
            raise RuntimeError(f"the {self.name} thread failed") from self._error


class FakeGateway:
    """The fake IMS core, a gateway with the auth service and the fake voice service, in a TrioThread.

    ``url`` is the portal; ``voice`` the :class:`FakeVoicePlugin`; ``ims`` the ``FakeIms`` (Mary: ``mary`` /
    ``secret``, identities ``MARY.identities``). The voice hooks below wait for the gateway and return its
    answer: ``incoming_call()`` returns the call id the page will see. ``services`` adds real services by name
    with their settings (``{"im": {"store_path": ...}}``), for tests of the page modules working together; the
    fake IMS core leaves their requests to it unanswered.
    """

    def __init__(self, trio_thread: TrioThread, *, voice: FakeVoicePlugin | None = None,
                 auth_settings: dict | None = None, accounts: dict[str, FakeAccount] | None = None,
                 services: dict[str, dict] | None = None) -> None:
        self.thread = trio_thread
        self.voice = voice or FakeVoicePlugin()
        accounts = accounts or {"mary": MARY}
        services = services or {}
        self.ims = trio_thread.start(lambda nursery: FakeIms(accounts).start(nursery))
        self.gateway = trio_thread.start(functools.partial(
            start_gateway, services={"auth": True, **dict.fromkeys(services, True)},
            instances={"voice": self.voice}, ims={"proxy": self.ims.uri},
            settings={"auth": {**AUTH_SETTINGS, **(auth_settings or {})}, **services}))
        self.url = self.gateway.url

    def incoming_call(self, caller: str = "sip:bob@ims.test", display_name: str = "Bob", *,
                      to: str = "sip:mary@ims.test", tone_hz: float = 660) -> str:
        return self.thread.run(functools.partial(self.voice.ring, caller, display_name, to=to, tone_hz=tone_hz))

    def remote_hangup(self, call_id: str, reason: str = "The other side hung up.") -> None:
        self.thread.run(self.voice.remote_hangup, call_id, reason)

    def remote_hold(self, call_id: str, held: bool = True) -> None:
        self.thread.run(self.voice.remote_hold, call_id, held)

    def set_ims_quality(self, call_id: str, **figures) -> None:
        """What call.quality says of the IMS leg from now on (LegQuality's fields; unset ones are None)."""
        fields = ("received_loss_pct", "received_jitter_ms", "sent_loss_pct", "sent_jitter_ms", "round_trip_ms")
        self.voice.calls[call_id].ims_quality = {name: figures.get(name) for name in fields}

    def remote_dtmf(self, call_id: str, digit: str) -> None:
        self.thread.run(self.voice.remote_dtmf, call_id, digit)

    def heard(self, call_id: str) -> tuple[float, float]:
        """(dominant frequency Hz, RMS level) the far end of ``call_id`` heard from the page in the last second."""
        return self.thread.run(self.voice.heard, call_id)

    def call(self, call_id: str) -> dict:
        """The fake's summary of a call, plus what it recorded (digits, transfer target, end reason)."""
        def read() -> dict:
            call = self.voice.calls[call_id]
            return {**call.summary(), "dtmf_sent": list(call.dtmf_sent), "transferred_to": call.transferred_to,
                    "end_reason": call.end_reason, "privacy": call.privacy, "peer_uri": call.peer_uri}
        return self.thread.run_sync(read)

    def requests(self, type: str | None = None) -> list[dict]:
        """Bodies of the voice requests the page sent (of one type, or all as ``(type, body)``)."""
        def read():
            return [body if type else (t, body) for t, body in self.voice.requests if type in (None, t)]
        return self.thread.run_sync(read)

    def logged_in(self) -> bool:
        return self.thread.run_sync(lambda: len(self.gateway.contexts) > 0)
