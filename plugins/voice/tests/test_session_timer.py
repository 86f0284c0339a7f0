"""RFC 4028 session timers kept by the call: refresh at half the interval, or end the call if nobody does."""

import trio

from webims.sip import Headers, Response
from webims.sip.session_timer import Refresher, SessionTimer
from webims_voice.session_timer import SessionRefresher


def ok(session_expires: str | None = None) -> Response:
    headers = Headers([("Session-Expires", session_expires)] if session_expires else [])
    return Response(200, "OK", headers)


async def test_we_refresh_at_half_the_interval(autojump_clock, nursery):
    refreshes = []

    async def send_refresh(headers):
        refreshes.append((trio.current_time(), dict(headers)))
        return ok("90;refresher=uac")

    async def end_call(reason):
        raise AssertionError(reason)

    refresher = SessionRefresher(SessionTimer(90, Refresher.UAC, Refresher.UAC), send_refresh, end_call)
    nursery.start_soon(refresher.run)
    await trio.sleep(100)
    assert [round(t) for t, _ in refreshes] == [45, 90]
    assert refreshes[0][1]["Session-Expires"] == "90;refresher=uac"


async def test_the_call_ends_when_the_peer_stops_refreshing(autojump_clock, nursery):
    ended = []

    async def end_call(reason):
        ended.append((trio.current_time(), reason))

    refresher = SessionRefresher(SessionTimer(90, Refresher.UAS, Refresher.UAC), None, end_call)
    nursery.start_soon(refresher.run)
    await trio.sleep(40)
    refresher.refreshed()  # the peer refreshed at 40 s: the interval starts again
    await trio.sleep(100)
    assert [round(t) for t, _ in ended] == [40 + 60]  # §10: interval - min(32, interval/3) = 60 s
    assert "session timer" in ended[0][1]


async def test_a_refresh_answered_481_ends_the_call(autojump_clock, nursery):
    ended = []

    async def send_refresh(headers):
        return Response(481, "Call/Transaction Does Not Exist", Headers())

    async def end_call(reason):
        ended.append(reason)

    await SessionRefresher(SessionTimer(90, Refresher.UAC, Refresher.UAC), send_refresh, end_call).run()
    assert ended and "no longer knows" in ended[0]
