"""End-to-end retransmissions a UA core runs outside transactions: 2xx until ACK
(RFC 3261 §13.3.1.4), ACK for each 2xx (§13.2.2.4), reliable 1xx until PRACK (RFC 3262 §3)."""

import attrs
import pytest

from webims.sip.errors import LocalProtocolError
from webims.sip.prack import RAck, ReliableProvisionalSender, is_reliable_provisional, rseq_of
from webims.sip.retransmission import AckRepeater, SuccessRetransmitter
from webims.sip.timers import Timer
from webims.sip.transaction import (
    Deliver,
    Send,
    StartTimer,
    StopTimer,
    Terminated,
    TerminationReason,
)

from .test_transaction_client import Driver, request, respond


def ack_for(invite, seq=1, to_tag="a6c85cf"):
    ack = request("ACK", seq=seq, branch="z9hG4bKack")
    ack.headers.set("To", f"Bob <sip:bob@biloxi.example.com>;tag={to_tag}")
    return ack


# --- 2xx retransmission, UAS ------------------------------------------------------------------


def test_2xx_is_resent_with_t1_doubling_up_to_t2_until_64_t1_even_over_tcp():
    ok = respond(request("INVITE", "TCP"), 200)
    driver = Driver(SuccessRetransmitter(ok))
    driver.start()
    driver.advance(40)
    assert driver.send_times() == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert driver.timed_out
    assert driver.terminated == Terminated(TerminationReason.TIMEOUT)


def test_ack_stops_2xx_retransmission_and_goes_to_the_tu():
    invite = request("INVITE")
    driver = Driver(SuccessRetransmitter(respond(invite, 200)))
    driver.start()
    driver.advance(1)
    ack = ack_for(invite)
    assert driver.apply(driver.transaction.receive_ack(ack)) == [
        StopTimer(Timer.RETRANSMIT_2XX), StopTimer(Timer.WAIT_ACK), Deliver(ack),
        Terminated(TerminationReason.COMPLETED),
    ]  # fmt: skip
    driver.advance(40)
    assert driver.send_times() == [0, 0.5]


def test_ack_for_another_invite_does_not_stop_2xx_retransmission():
    invite = request("INVITE")
    driver = Driver(SuccessRetransmitter(respond(invite, 200)))
    driver.start()
    assert driver.transaction.receive_ack(ack_for(invite, seq=2)) == []


# --- ACK for each 2xx, UAC ----------------------------------------------------------------------


def test_ack_is_sent_again_for_each_2xx_retransmission():
    invite = request("INVITE")
    ack = ack_for(invite)
    repeater = AckRepeater(ack)
    assert repeater.start() == [Send(ack), StartTimer(Timer.KEEP_ACK, 32.0)]
    assert repeater.receive_2xx(respond(invite, 200)) == [Send(ack)]


def test_2xx_from_another_fork_or_invite_gets_no_copy_of_this_ack():
    invite = request("INVITE")
    repeater = AckRepeater(ack_for(invite))
    repeater.start()
    assert repeater.receive_2xx(respond(invite, 200, to_tag="other")) == []
    assert repeater.receive_2xx(respond(request("INVITE", seq=2), 200)) == []


def test_ack_is_forgotten_after_64_t1():
    invite = request("INVITE")
    driver = Driver(AckRepeater(ack_for(invite)))
    driver.start()
    driver.advance(32)
    assert driver.terminated == Terminated(TerminationReason.COMPLETED)
    assert driver.transaction.receive_2xx(respond(invite, 200)) == []


# --- reliable provisional responses, UAS (RFC 3262 §3) -------------------------------------


def prack_for(response):
    prack = request("PRACK", seq=2, branch="z9hG4bKprack")
    prack.headers.add("RAck", str(RAck.for_response(response)))
    return prack


def test_reliable_1xx_gets_require_100rel_and_rseq():
    invite = request("INVITE")
    sender = ReliableProvisionalSender(next_rseq=41)
    (send, *timers) = sender.send(respond(invite, 183))
    assert is_reliable_provisional(send.message) and rseq_of(send.message) == 41
    assert timers == [StartTimer(Timer.RETRANSMIT_1XX, 0.5), StartTimer(Timer.WAIT_PRACK, 32.0)]


def test_reliable_1xx_is_resent_with_t1_doubling_and_gives_up_after_64_t1():
    driver = Driver(ReliableProvisionalSender())
    driver.apply(driver.transaction.send(respond(request("INVITE"), 180)))
    driver.advance(40)
    assert driver.send_times() == [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert driver.timed_out and driver.transaction.unacknowledged is None


def test_matching_prack_stops_the_resending_and_the_next_rseq_is_one_higher():
    invite = request("INVITE")
    sender = ReliableProvisionalSender(next_rseq=7)
    sent = sender.send(respond(invite, 183))[0].message
    prack = prack_for(sent)
    assert sender.matches(prack)
    stops = [StopTimer(Timer.RETRANSMIT_1XX), StopTimer(Timer.WAIT_PRACK)]
    assert sender.receive_prack(prack) == stops
    assert rseq_of(sender.send(respond(invite, 180))[0].message) == 8


def test_prack_for_another_response_does_not_match_and_earns_a_481():
    invite = request("INVITE")
    sender = ReliableProvisionalSender(next_rseq=7)
    sent = sender.send(respond(invite, 183))[0].message
    wrong = request("PRACK", seq=2)
    wrong.headers.add("RAck", f"8 {sent.cseq.seq} INVITE")
    assert not sender.matches(wrong)
    assert sender.receive_prack(wrong) == []
    assert not sender.matches(request("PRACK", seq=3))


def test_second_reliable_1xx_waits_for_the_first_prack():
    invite = request("INVITE")
    sender = ReliableProvisionalSender()
    sender.send(respond(invite, 180))
    with pytest.raises(LocalProtocolError):
        sender.send(respond(invite, 183))


def test_no_2xx_while_a_reliable_1xx_with_sdp_is_unacknowledged():
    invite = request("INVITE")
    sender = ReliableProvisionalSender()
    sender.send(attrs.evolve(respond(invite, 183), body=b"v=0\r\n"))
    assert not sender.may_send_final(200)
    assert sender.may_send_final(486)
    stops = [StopTimer(Timer.RETRANSMIT_1XX), StopTimer(Timer.WAIT_PRACK)]
    assert sender.final_response_sent() == stops
    assert sender.may_send_final(200)
