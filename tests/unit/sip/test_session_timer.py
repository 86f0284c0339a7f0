"""Session timers (RFC 4028): negotiation on both sides, 422 and refresh arithmetic."""

import pytest

from webims.sip.errors import RemoteProtocolError
from webims.sip.message import make_response
from webims.sip.session_timer import (
    Refresher,
    SessionExpires,
    SessionTimer,
    SessionTimerPolicy,
    TooSmall,
    session_timer_headers,
    retry_after_422,
    uac_session_timer,
    uas_session_timer,
)

from .test_transaction_client import request

POLICY = SessionTimerPolicy(interval=1800, min_se=90)


def invite_with(*headers):
    return request("INVITE", extra=headers)


def test_session_expires_parses_and_writes_refresher():
    assert SessionExpires.parse("1800;refresher=UAC") == SessionExpires(1800, Refresher.UAC)
    assert SessionExpires.parse(" 600 ") == SessionExpires(600)
    assert str(SessionExpires(1800, Refresher.UAS)) == "1800;refresher=uas"


@pytest.mark.parametrize("text", ["soon", "1800;refresher=proxy"])
def test_malformed_session_expires_is_a_remote_error(text):
    with pytest.raises(RemoteProtocolError):
        SessionExpires.parse(text)


def test_uac_asks_for_its_interval_and_to_refresh_itself():
    assert session_timer_headers(POLICY) == [
        ("Session-Expires", "1800;refresher=uac"), ("Min-SE", "90")
    ]
    neutral = SessionTimerPolicy(refresh_ourselves=False)
    assert session_timer_headers(neutral, interval=600, min_se=120) == [
        ("Session-Expires", "600"), ("Min-SE", "120")
    ]


def test_uas_rejects_too_small_an_interval_with_422_and_its_min_se():
    strict = SessionTimerPolicy(min_se=300)
    decision = uas_session_timer(invite_with(("Session-Expires", "60")), strict)
    assert decision == TooSmall(300)
    assert decision.status == 422 and decision.response_headers() == [("Min-SE", "300")]


def test_uas_keeps_the_refresher_the_uac_asked_for():
    request = invite_with(("Session-Expires", "1200;refresher=uac"), ("Supported", "timer"))
    timer = uas_session_timer(request, POLICY)
    assert timer == SessionTimer(1200, Refresher.UAC, Refresher.UAS)
    assert timer.response_headers() == [
        ("Session-Expires", "1200;refresher=uac"), ("Require", "timer")
    ]
    assert not timer.we_refresh and timer.refresh_after is None


def test_uas_may_shorten_but_not_lengthen_the_interval():
    assert uas_session_timer(invite_with(("Session-Expires", "7200")), POLICY).interval == 1800
    assert uas_session_timer(invite_with(("Session-Expires", "300")), POLICY).interval == 300


def test_uas_never_goes_below_the_requests_min_se():
    request = invite_with(("Session-Expires", "7200"), ("Min-SE", "3600"))
    assert uas_session_timer(request, POLICY).interval == 3600


def test_uas_refreshes_itself_when_the_uac_does_not_support_timers():
    timer = uas_session_timer(invite_with(), SessionTimerPolicy(refresh_ourselves=False))
    assert timer == SessionTimer(1800, Refresher.UAS, Refresher.UAS)
    assert timer.response_headers() == [("Session-Expires", "1800;refresher=uas")]


def test_uas_may_leave_refreshing_to_a_uac_that_supports_timers():
    request = invite_with(("Supported", "timer"), ("Session-Expires", "1800"))
    timer = uas_session_timer(request, SessionTimerPolicy(refresh_ourselves=False))
    assert timer.refresher is Refresher.UAC


def test_uac_reads_the_agreed_timer_from_the_2xx():
    agreed = [("Session-Expires", "900;refresher=uas")]
    ok = make_response(request("INVITE"), 200, to_tag="x", headers=agreed)
    assert uac_session_timer(ok) == SessionTimer(900, Refresher.UAS, Refresher.UAC)


def test_2xx_without_refresher_leaves_refreshing_to_the_uac():
    ok = make_response(request("INVITE"), 200, to_tag="x", headers=[("x", "900")])
    assert uac_session_timer(ok).we_refresh


def test_2xx_without_session_expires_means_no_session_timer():
    assert uac_session_timer(make_response(request("INVITE"), 200, to_tag="x")) is None


def test_after_422_the_uac_retries_with_the_larger_min_se():
    sent = invite_with(("Session-Expires", "100"), ("Min-SE", "90"))
    too_small = make_response(sent, 422, to_tag="x", headers=[("Min-SE", "600")])
    assert retry_after_422(sent, too_small) == (600, 600)
    roomy = invite_with(("Session-Expires", "1800"), ("Min-SE", "90"))
    larger = make_response(roomy, 422, headers=[("Min-SE", "300")])
    assert retry_after_422(roomy, larger) == (1800, 300)


def test_refresher_refreshes_at_half_the_interval():
    assert SessionTimer(1800, Refresher.UAC, Refresher.UAC).refresh_after == 900


@pytest.mark.parametrize("interval, expiry", [(1800, 1768), (90, 60)])
def test_session_expires_at_interval_minus_the_lesser_of_32_s_and_a_third(interval, expiry):
    assert SessionTimer(interval, Refresher.UAS, Refresher.UAC).expire_after == expiry
