"""The timers of SIP's state machines and how long each runs.

The transaction timers of RFC 3261 §17 (table 4) and RFC 6026, and the end-to-end ones a UA
core runs itself: 2xx retransmission until ACK (§13.3.1.4), keeping the ACK for 2xx
retransmissions (§13.2.2.4), reliable provisional responses until PRACK (RFC 3262 §3).

State machines never read a clock: they ask for ``StartTimer(Timer.E, 0.5)`` and are told
``timer_fired(Timer.E)``. This module only answers "for how long", which depends on T1/T2/T4
and, for transaction timers, on whether the transport is reliable (TCP, TLS, WebSocket).
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["Timer", "TimerConfig", "RELIABLE_TRANSPORTS", "is_reliable_transport"]

# RFC 3261 §18, RFC 4168 (SCTP), RFC 7118 (WebSocket): transports that retransmit for us.
RELIABLE_TRANSPORTS = frozenset({"TCP", "TLS", "SCTP", "TLS-SCTP", "WS", "WSS"})


def is_reliable_transport(transport: str) -> bool:
    """Whether a Via transport token (``UDP``, ``tcp``, ``WSS``...) is reliable."""
    return transport.upper() in RELIABLE_TRANSPORTS


class Timer(enum.StrEnum):
    """Timer names as the RFCs spell them; ``TRYING`` is the INVITE server's 200 ms wait
    before it sends 100 Trying on the TU's behalf (RFC 3261 §17.2.1)."""

    A = "A"  # INVITE request retransmit, doubling without cap (§17.1.1.2)
    B = "B"  # INVITE transaction timeout
    D = "D"  # wait for response retransmissions after a non-2xx
    E = "E"  # non-INVITE request retransmit, doubling up to T2 (§17.1.2.2)
    F = "F"  # non-INVITE transaction timeout
    G = "G"  # INVITE non-2xx final response retransmit (§17.2.1)
    H = "H"  # wait for ACK receipt
    I = "I"  # noqa: E741 -- wait for ACK retransmissions
    J = "J"  # wait for non-INVITE request retransmissions (§17.2.2)
    K = "K"  # wait for non-INVITE response retransmissions
    L = "L"  # RFC 6026 §8.7: wait in Accepted for INVITE retransmissions (server)
    M = "M"  # RFC 6026 §8.4: wait in Accepted for 2xx retransmissions (client)
    TRYING = "100"
    # End-to-end timers: they run whatever the first hop's transport, since a UDP hop may
    # lie beyond it (§13.3.1.4).
    RETRANSMIT_2XX = "2xx"  # UAS: resend the 2xx, T1 doubling up to T2 (§13.3.1.4)
    WAIT_ACK = "2xx-ack"  # UAS: no ACK after 64*T1, end the session (§13.3.1.4)
    KEEP_ACK = "ack"  # UAC: answer 2xx retransmissions with the same ACK for 64*T1
    RETRANSMIT_1XX = "1xx"  # UAS: resend a reliable 1xx, T1 doubling (RFC 3262 §3)
    WAIT_PRACK = "1xx-prack"  # UAS: no PRACK after 64*T1, reject the INVITE (RFC 3262 §3)


# Transaction timers that only retransmit, pointless over a reliable transport (table 4).
_RETRANSMIT = frozenset({Timer.A, Timer.E, Timer.G})
# Timers whose interval doubles without the T2 cap (§17.1.1.2; RFC 3262 §3).
_UNCAPPED = frozenset({Timer.A, Timer.RETRANSMIT_1XX})


@attrs.frozen
class TimerConfig:
    """T1 (RTT estimate), T2 (maximum retransmit interval) and T4 (maximum time a message
    stays in the network), in seconds; RFC 3261 §17.1.1.1 defaults."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    def initial(self, timer: Timer, *, reliable: bool) -> float | None:
        """The first duration of ``timer``: None when it does not run on this transport,
        0 when it fires at once (table 4's "0s for reliable")."""
        if reliable and timer in _RETRANSMIT:
            return None
        match timer:
            case Timer.A | Timer.E | Timer.G | Timer.RETRANSMIT_2XX | Timer.RETRANSMIT_1XX:
                return self.t1
            case Timer.B | Timer.F | Timer.H | Timer.L | Timer.M:
                return 64 * self.t1
            case Timer.WAIT_ACK | Timer.KEEP_ACK | Timer.WAIT_PRACK:
                return 64 * self.t1
            case Timer.D:
                return 0.0 if reliable else max(32.0, 64 * self.t1)
            case Timer.I | Timer.K:
                return 0.0 if reliable else self.t4
            case Timer.J:
                return 0.0 if reliable else 64 * self.t1
            case Timer.TRYING:
                return 0.2
        raise AssertionError(timer)

    def backoff(self, timer: Timer, previous: float) -> float:
        """The next interval of a retransmit timer: A and reliable 1xx double without limit
        (§17.1.1.2, RFC 3262 §3); E, G and 2xx double up to T2 (§17.1.2.2, §17.2.1,
        §13.3.1.4)."""
        doubled = 2 * previous
        return doubled if timer in _UNCAPPED else min(doubled, self.t2)
