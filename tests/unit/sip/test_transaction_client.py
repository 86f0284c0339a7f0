"""Client transactions driven with a fake clock: retransmissions, timeouts, ACK, Accepted."""

import attrs
import pytest

from webims.sip.errors import LocalProtocolError
from webims.sip.message import Request, make_response
from webims.sip.timers import Timer, TimerConfig
from webims.sip.transaction import (
    Deliver,
    Send,
    StartTimer,
    TransactionState,
    StopTimer,
    Terminated,
    TerminationReason,
    Timeout,
)
from webims.sip.transaction_client import InviteClientTransaction, NonInviteClientTransaction
from webims.sip.uri import SipUri


def request(method="INVITE", transport="UDP", branch="z9hG4bKclient1", seq=1, extra=()):
    return Request(
        method,
        SipUri(user="bob", host="biloxi.example.com"),
        [
            ("Via", f"SIP/2.0/{transport} pc33.atlanta.example.com:5060;branch={branch}"),
            ("Max-Forwards", "70"),
            ("Route", "<sip:p1.example.com;lr>"),
            ("To", "Bob <sip:bob@biloxi.example.com>"),
            ("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
            ("Call-ID", "a84b4c76e66710@pc33.atlanta.example.com"),
            ("CSeq", f"{seq} {method}"),
            *extra,
        ],
    )


def respond(req, status, to_tag="a6c85cf"):
    return make_response(req, status, to_tag=to_tag if status > 100 else None)


@attrs.define
class Driver:
    """Runs a transaction against a fake clock, carrying out its actions."""

    transaction: object
    now: float = 0.0
    timers: dict = attrs.field(factory=dict)  # name -> deadline
    sent: list = attrs.field(factory=list)  # (time, message)
    delivered: list = attrs.field(factory=list)
    events: list = attrs.field(factory=list)  # every action, in order

    def apply(self, actions):
        for action in actions:
            self.events.append(action)
            match action:
                case StartTimer(name, seconds):
                    self.timers[name] = self.now + seconds
                case StopTimer(name):
                    self.timers.pop(name, None)
                case Send(message):
                    self.sent.append((self.now, message))
                case Deliver(message):
                    self.delivered.append(message)
                case Terminated():
                    assert not self.timers, f"timers left running: {self.timers}"
        return actions

    def start(self):
        return self.apply(self.transaction.start())

    def receive(self, message):
        return self.apply(self.transaction.receive(message))

    def send_response(self, response):
        return self.apply(self.transaction.send_response(response))

    def advance(self, seconds):
        """Move the clock, firing due timers in deadline order."""
        end = self.now + seconds
        while self.timers and min(self.timers.values()) <= end + 1e-9:
            name, deadline = min(self.timers.items(), key=lambda item: item[1])
            self.now = deadline
            del self.timers[name]
            self.apply(self.transaction.timer_fired(name))
        self.now = end

    def send_times(self, method=None):
        return [
            round(t, 3) for t, m in self.sent
            if method is None or getattr(m, "method", None) == method
        ]

    @property
    def terminated(self):
        return next((a for a in self.events if isinstance(a, Terminated)), None)

    @property
    def timed_out(self):
        return any(isinstance(a, Timeout) for a in self.events)


def invite_client(transport="UDP", **kwargs):
    req = request("INVITE", transport)
    return Driver(InviteClientTransaction(req, reliable=transport != "UDP", **kwargs)), req


def non_invite_client(method="OPTIONS", transport="UDP"):
    req = request(method, transport)
    return Driver(NonInviteClientTransaction(req, reliable=transport != "UDP")), req


# --- INVITE client -----------------------------------------------------------------------------


def test_invite_over_udp_is_retransmitted_with_timer_a_doubling_until_timer_b():
    driver, _ = invite_client()
    driver.start()
    driver.advance(40)
    assert driver.send_times("INVITE") == [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert driver.timed_out
    assert driver.terminated == Terminated(TerminationReason.TIMEOUT)
    assert driver.transaction.state is TransactionState.TERMINATED


def test_invite_over_tcp_is_sent_once_and_times_out_after_64_t1():
    driver, _ = invite_client("TCP")
    assert driver.start() == [Send(driver.transaction.request), StartTimer(Timer.B, 32.0)]
    driver.advance(31.9)
    assert not driver.timed_out
    driver.advance(0.2)
    assert driver.send_times() == [0]
    assert driver.timed_out


def test_timer_values_follow_configured_t1():
    driver, _ = invite_client(timers=TimerConfig(t1=0.1))
    assert driver.start()[1:] == [StartTimer(Timer.A, 0.1), StartTimer(Timer.B, 6.4)]


def test_provisional_response_stops_retransmissions_and_is_delivered():
    driver, req = invite_client()
    driver.start()
    ringing = respond(req, 180)
    assert driver.receive(ringing) == [StopTimer(Timer.A), StopTimer(Timer.B), Deliver(ringing)]
    driver.advance(100)
    assert driver.send_times() == [0]
    assert driver.transaction.state is TransactionState.PROCEEDING
    assert driver.transaction.cancellable


def test_invite_is_not_cancellable_before_a_provisional_response():
    driver, _ = invite_client()
    driver.start()
    assert not driver.transaction.cancellable


def test_non_2xx_final_response_is_acked_inside_the_transaction_and_delivered():
    driver, req = invite_client()
    driver.start()
    busy = respond(req, 486)
    actions = driver.receive(busy)
    ack = actions[2].message
    assert actions[:2] == [StopTimer(Timer.A), StopTimer(Timer.B)]
    assert actions[3:] == [Deliver(busy), StartTimer(Timer.D, 32.0)]
    assert ack.method == "ACK" and ack.uri == req.uri
    assert ack.headers.get_all("Via") == req.headers.get_all("Via")
    assert ack.to_tag == "a6c85cf" and ack.from_tag == "1928301774"
    assert str(ack.cseq) == "1 ACK" and ack.call_id == req.call_id
    assert ack.headers.get_all("Route") == ["<sip:p1.example.com;lr>"]
    assert ack.body == b""


def test_retransmitted_final_response_is_acked_again_but_not_delivered_again():
    driver, req = invite_client()
    driver.start()
    busy = respond(req, 486)
    driver.receive(respond(req, 180))
    driver.receive(busy)
    driver.receive(busy)
    assert driver.send_times("ACK") == [0, 0]
    assert driver.delivered.count(busy) == 1


def test_completed_state_lasts_timer_d_over_udp():
    driver, req = invite_client()
    driver.start()
    driver.receive(respond(req, 404))
    driver.advance(31.9)
    assert driver.terminated is None
    driver.advance(0.2)
    assert driver.terminated == Terminated(TerminationReason.COMPLETED)


def test_completed_state_ends_at_once_over_tcp():
    driver, req = invite_client("TCP")
    driver.start()
    actions = driver.receive(respond(req, 603))
    assert actions[-1] == Terminated(TerminationReason.COMPLETED)
    assert driver.send_times("ACK") == [0]


def test_2xx_is_delivered_and_moves_to_accepted_with_timer_m():
    driver, req = invite_client()
    driver.start()
    ok = respond(req, 200)
    assert driver.receive(ok)[-2:] == [Deliver(ok), StartTimer(Timer.M, 32.0)]
    assert driver.transaction.state is TransactionState.ACCEPTED
    assert driver.send_times("ACK") == []  # the TU ACKs a 2xx, through the dialog


def test_accepted_state_delivers_2xx_retransmissions_and_forked_2xx_to_the_tu():
    driver, req = invite_client()
    driver.start()
    ok = respond(req, 200)
    forked = respond(req, 200, to_tag="other-fork")
    driver.receive(ok)
    assert driver.receive(ok) == [Deliver(ok)]
    assert driver.receive(forked) == [Deliver(forked)]
    assert driver.receive(respond(req, 180)) == []
    assert driver.receive(respond(req, 500)) == []


def test_accepted_state_ends_with_timer_m_even_over_tcp():
    driver, req = invite_client("TCP")
    driver.start()
    driver.receive(respond(req, 200))
    driver.advance(31.9)
    assert driver.terminated is None
    driver.advance(0.2)
    assert driver.terminated == Terminated(TerminationReason.COMPLETED)


def test_transport_error_while_calling_terminates_and_informs_the_tu():
    driver, _ = invite_client()
    driver.start()
    assert driver.apply(driver.transaction.transport_error()) == [
        StopTimer(Timer.A), StopTimer(Timer.B), Terminated(TerminationReason.TRANSPORT_ERROR)
    ]


def test_stale_timer_after_stop_is_ignored():
    driver, req = invite_client()
    driver.start()
    driver.receive(respond(req, 180))
    assert driver.transaction.timer_fired(Timer.A) == []
    assert driver.transaction.timer_fired("B") == []


def test_client_transaction_refuses_a_request_as_input():
    driver, req = invite_client()
    driver.start()
    with pytest.raises(LocalProtocolError):
        driver.receive(req)


def test_client_transaction_key_is_branch_and_method():
    driver, _ = invite_client()
    key = driver.transaction.key
    assert (key.branch, key.method) == ("z9hG4bKclient1", "INVITE")


# --- non-INVITE client -------------------------------------------------------------------------


def test_non_invite_over_udp_retransmits_with_timer_e_capped_at_t2_until_timer_f():
    driver, _ = non_invite_client()
    driver.start()
    driver.advance(40)
    assert driver.send_times() == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert driver.timed_out
    assert driver.terminated == Terminated(TerminationReason.TIMEOUT)


def test_non_invite_over_tcp_is_sent_once():
    driver, _ = non_invite_client(transport="TLS")
    assert driver.start() == [Send(driver.transaction.request), StartTimer(Timer.F, 32.0)]
    driver.advance(40)
    assert driver.send_times() == [0] and driver.timed_out


def test_provisional_response_makes_timer_e_retransmit_at_t2():
    driver, req = non_invite_client("MESSAGE")
    driver.start()
    trying = respond(req, 100)
    assert driver.receive(trying) == [Deliver(trying)]
    driver.advance(12)
    assert driver.send_times() == [0, 0.5, 4.5, 8.5]
    assert driver.transaction.state is TransactionState.PROCEEDING


def test_provisional_response_does_not_stop_timer_f():
    driver, req = non_invite_client()
    driver.start()
    driver.receive(respond(req, 100))
    driver.advance(32.1)
    assert driver.timed_out


@pytest.mark.parametrize("status", [200, 202, 404, 500])
def test_final_response_is_delivered_and_completes_with_timer_k(status):
    driver, req = non_invite_client()
    driver.start()
    final = respond(req, status)
    assert driver.receive(final) == [
        StopTimer(Timer.E), StopTimer(Timer.F), Deliver(final), StartTimer(Timer.K, 5.0)
    ]
    assert driver.receive(final) == []  # retransmission absorbed
    driver.advance(5)
    assert driver.terminated == Terminated(TerminationReason.COMPLETED)


def test_final_response_over_tcp_terminates_at_once():
    driver, req = non_invite_client(transport="TCP")
    driver.start()
    ok = respond(req, 200)
    assert driver.receive(ok) == [
        StopTimer(Timer.F), Deliver(ok), Terminated(TerminationReason.COMPLETED)
    ]


def test_transport_error_terminates_a_non_invite_client():
    driver, _ = non_invite_client()
    driver.start()
    driver.apply(driver.transaction.transport_error())
    assert driver.terminated == Terminated(TerminationReason.TRANSPORT_ERROR)


@pytest.mark.parametrize("method", ["INVITE", "ACK"])
def test_non_invite_client_refuses_invite_and_ack(method):
    with pytest.raises(LocalProtocolError):
        NonInviteClientTransaction(request(method), reliable=False)
