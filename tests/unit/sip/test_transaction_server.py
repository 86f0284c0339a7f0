"""Server transactions driven with a fake clock: 100 Trying, response retransmission, ACK."""

import pytest

from webims.sip.errors import LocalProtocolError
from webims.sip.timers import Timer
from webims.sip.transaction import (
    Deliver,
    Send,
    StartTimer,
    TransactionState,
    StopTimer,
    Terminated,
    TerminationReason,
)
from webims.sip.transaction_client import make_non_2xx_ack
from webims.sip.transaction_server import InviteServerTransaction, NonInviteServerTransaction

from .test_transaction_client import Driver, request, respond


def invite_server(transport="UDP"):
    req = request("INVITE", transport)
    driver = Driver(InviteServerTransaction(req, reliable=transport != "UDP"))
    driver.start()
    return driver, req


def non_invite_server(method="MESSAGE", transport="UDP"):
    req = request(method, transport)
    driver = Driver(NonInviteServerTransaction(req, reliable=transport != "UDP"))
    driver.start()
    return driver, req


def statuses(driver):
    return [(round(t, 3), m.status) for t, m in driver.sent]


# --- INVITE server -----------------------------------------------------------------------------


def test_invite_is_delivered_and_100_trying_waits_200_ms():
    req = request("INVITE")
    transaction = InviteServerTransaction(req, reliable=False)
    assert transaction.start() == [Deliver(req), StartTimer(Timer.TRYING, 0.2)]


def test_100_trying_is_sent_when_the_tu_is_silent_for_200_ms():
    driver, _ = invite_server()
    driver.advance(0.2)
    (_, trying), = driver.sent
    assert trying.status == 100 and trying.to_tag is None


def test_no_100_trying_when_the_tu_answers_within_200_ms():
    driver, req = invite_server()
    ringing = respond(req, 180)
    assert driver.send_response(ringing) == [StopTimer(Timer.TRYING), Send(ringing)]
    driver.advance(1)
    assert statuses(driver) == [(0, 180)]


def test_invite_retransmission_gets_the_latest_provisional_response_again():
    driver, req = invite_server()
    assert driver.receive(req) == []  # nothing sent yet, nothing to repeat
    driver.send_response(respond(req, 180))
    driver.send_response(respond(req, 183))
    driver.receive(req)
    assert statuses(driver) == [(0, 180), (0, 183), (0, 183)]
    assert driver.delivered == [req]  # the retransmission is not a new request for the TU


def test_non_2xx_final_is_retransmitted_with_timer_g_capped_at_t2_until_timer_h():
    driver, req = invite_server()
    driver.send_response(respond(req, 486))
    driver.advance(40)
    times = [t for t, _ in statuses(driver)]
    assert times == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert driver.terminated == Terminated(TerminationReason.TIMEOUT)  # the ACK never came


def test_non_2xx_final_over_tcp_is_not_retransmitted_but_timer_h_still_runs():
    driver, req = invite_server("TCP")
    actions = driver.send_response(respond(req, 486))
    assert actions[-1] == StartTimer(Timer.H, 32.0)
    driver.advance(40)
    assert len(driver.sent) == 1
    assert driver.terminated == Terminated(TerminationReason.TIMEOUT)


def test_ack_confirms_and_stops_retransmissions_then_timer_i_ends_the_transaction():
    driver, req = invite_server()
    busy = respond(req, 486)
    driver.send_response(busy)
    ack = make_non_2xx_ack(req, busy)
    assert driver.receive(ack) == [StopTimer(Timer.G), StopTimer(Timer.H), StartTimer(Timer.I, 5.0)]
    assert driver.transaction.state is TransactionState.CONFIRMED
    assert driver.receive(ack) == []  # ACK retransmissions absorbed
    driver.advance(5)
    assert driver.terminated == Terminated(TerminationReason.COMPLETED)
    assert len(driver.sent) == 1
    assert ack not in driver.delivered  # the ACK for a non-2xx stays in the transaction


def test_ack_over_tcp_terminates_at_once():
    driver, req = invite_server("TCP")
    busy = respond(req, 486)
    driver.send_response(busy)
    actions = driver.receive(make_non_2xx_ack(req, busy))
    assert actions == [StopTimer(Timer.H), Terminated(TerminationReason.COMPLETED)]


def test_invite_retransmission_in_completed_gets_the_final_response_again():
    driver, req = invite_server()
    driver.send_response(respond(req, 404))
    driver.receive(req)
    assert statuses(driver) == [(0, 404), (0, 404)]


def test_2xx_moves_to_accepted_with_timer_l_and_absorbs_invite_retransmissions():
    driver, req = invite_server()
    ok = respond(req, 200)
    actions = driver.send_response(ok)
    assert actions == [StopTimer(Timer.TRYING), Send(ok), StartTimer(Timer.L, 32.0)]
    assert driver.transaction.state is TransactionState.ACCEPTED
    assert driver.receive(req) == []
    assert driver.delivered == [req]


def test_accepted_state_sends_further_2xx_from_the_tu_and_passes_acks_up():
    driver, req = invite_server()
    ok = respond(req, 200)
    driver.send_response(ok)
    assert driver.send_response(ok) == [Send(ok)]
    ack = request("ACK", seq=1)
    assert driver.receive(ack) == [Deliver(ack)]


def test_accepted_state_ends_with_timer_l():
    driver, req = invite_server("TCP")
    driver.send_response(respond(req, 200))
    driver.advance(32)
    assert driver.terminated == Terminated(TerminationReason.COMPLETED)


def test_responses_after_a_non_2xx_final_are_discarded():
    driver, req = invite_server()
    driver.send_response(respond(req, 486))
    assert driver.send_response(respond(req, 200)) == []
    assert driver.send_response(respond(req, 180)) == []


def test_transport_error_while_proceeding_terminates_the_invite_server():
    driver, _ = invite_server()
    actions = driver.apply(driver.transaction.transport_error())
    assert actions == [StopTimer(Timer.TRYING), Terminated(TerminationReason.TRANSPORT_ERROR)]


def test_server_transaction_refuses_a_response_as_input():
    driver, req = invite_server()
    with pytest.raises(LocalProtocolError):
        driver.receive(respond(req, 200))


# --- non-INVITE server -------------------------------------------------------------------------


def test_non_invite_request_is_delivered_and_retransmissions_absorbed_while_trying():
    driver, req = non_invite_server()
    assert driver.events == [Deliver(req)]
    assert driver.receive(req) == []


def test_provisional_response_then_retransmission_resends_it():
    driver, req = non_invite_server()
    driver.send_response(respond(req, 100))
    assert driver.transaction.state is TransactionState.PROCEEDING
    driver.receive(req)
    assert statuses(driver) == [(0, 100), (0, 100)]


def test_final_response_completes_with_timer_j_and_answers_retransmissions():
    driver, req = non_invite_server()
    ok = respond(req, 200)
    assert driver.send_response(ok) == [Send(ok), StartTimer(Timer.J, 32.0)]
    driver.advance(10)
    driver.receive(req)
    assert statuses(driver) == [(0, 200), (10, 200)]
    assert driver.send_response(respond(req, 500)) == []
    driver.advance(22)
    assert driver.terminated == Terminated(TerminationReason.COMPLETED)


def test_final_response_over_tcp_terminates_at_once():
    driver, req = non_invite_server(transport="TCP")
    ok = respond(req, 200)
    assert driver.send_response(ok) == [Send(ok), Terminated(TerminationReason.COMPLETED)]


def test_final_response_from_proceeding_completes():
    driver, req = non_invite_server("OPTIONS")
    driver.send_response(respond(req, 100))
    driver.send_response(respond(req, 200))
    assert driver.transaction.state is TransactionState.COMPLETED


def test_transport_error_after_a_final_response_terminates():
    driver, req = non_invite_server()
    driver.send_response(respond(req, 200))
    actions = driver.apply(driver.transaction.transport_error())
    assert actions == [StopTimer(Timer.J), Terminated(TerminationReason.TRANSPORT_ERROR)]
