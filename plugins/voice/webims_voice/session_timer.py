"""Session timers (RFC 4028): keep a call alive past the network's session interval, and end a dead one.

The negotiation itself (Session-Expires, Min-SE, who refreshes, 422) is sans-IO in
``webims.sip.session_timer``; this module only waits and acts. When we are the refresher we send an UPDATE
halfway through the interval (a re-INVITE if the peer does not allow UPDATE); when the peer is, a refresh must
arrive before the interval runs out, or the call is ended with BYE (§10).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from webims import log
from webims.sip import Response
from webims.sip.session_timer import SessionExpires, SessionTimer, uac_session_timer

_log = log.get("voice.session_timer")

# Sends a refresh carrying these headers; returns the final response.
SendRefresh = Callable[[list[tuple[str, str]]], Awaitable[Response]]
EndCall = Callable[[str], Awaitable[None]]


class SessionRefresher:
    def __init__(self, timer: SessionTimer, send_refresh: SendRefresh, end_call: EndCall):
        self.timer = timer
        self._send_refresh = send_refresh
        self._end_call = end_call
        self._refreshed = trio.Event()

    def refreshed(self, timer: SessionTimer | None = None) -> None:
        """The peer refreshed the session (a re-INVITE or UPDATE, or its 2xx to ours): start the interval anew."""
        if timer is not None:
            self.timer = timer
        self._refreshed.set()

    async def run(self) -> None:
        while True:
            if self.timer.we_refresh:
                await trio.sleep(self.timer.refresh_after)
                if not await self._refresh():
                    return
                continue
            with trio.move_on_after(self.timer.expire_after):
                await self._refreshed.wait()
                self._refreshed = trio.Event()
                continue
            await self._end_call("The other side stopped confirming the call (its session timer ran out).")
            return

    async def _refresh(self) -> bool:
        expires = SessionExpires(self.timer.interval, self.timer.refresher)
        response = await self._send_refresh([("Session-Expires", str(expires)), ("Supported", "timer")])
        if 200 <= response.status < 300:
            agreed = uac_session_timer(response)
            if agreed is not None:
                self.timer = agreed
            return True
        if response.status in (408, 481):
            # §10: a refresh that gets 408 or 481 means the session is gone.
            await self._end_call("The call was lost: the other side no longer knows it.")
            return False
        _log.info("refresh.refused", status=response.status)
        return True  # the session lives on until the peer gives up on it
