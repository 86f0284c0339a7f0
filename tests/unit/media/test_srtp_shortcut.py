"""The browser leg's SRTP shortcut (webims/media/srtp_shortcut.py), against aiortc's and aioice's real
objects with a recording socket; whole calls through it are in test_calls.py and test_video.py."""

import gc
from types import SimpleNamespace

import aioice.ice
import pylibsrtp
import pytest
from aiortc.rtcdtlstransport import State
from pylibsrtp._binding import lib

from webims.media.srtp_shortcut import SrtpShortcut, srtp_operation

KEY = bytes(range(30))
BROWSER = ("192.0.2.7", 40000)
PCMU = 0


def rtp(payload_type: int, seq: int, payload: bytes = b"\xff" * 160) -> bytes:
    return bytes([0x80, payload_type]) + seq.to_bytes(2, "big") + (8000).to_bytes(4, "big") + \
        (0xCAFE).to_bytes(4, "big") + payload


def rtcp_receiver_report() -> bytes:
    return bytes([0x80, 201, 0, 1]) + (0xCAFE).to_bytes(4, "big")


class Transport:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple]] = []
        self.closing = False

    def sendto(self, data: bytes, addr: tuple) -> None:
        self.sent.append((data, addr))

    def is_closing(self) -> bool:
        return self.closing


def make(sinks: dict, state=State.CONNECTED):
    """A connected DTLS transport over a nominated pair, the browser's SRTP session, what aiortc got."""
    protocol = aioice.ice.StunProtocol.__new__(aioice.ice.StunProtocol)  # its __init__ wants a running loop
    to_aiortc = []
    protocol.datagram_received = lambda data, addr: to_aiortc.append(data)
    protocol.transport = Transport()
    pair = SimpleNamespace(protocol=protocol, remote_addr=BROWSER)
    connection = SimpleNamespace(_nominated={1: pair})
    dtls = SimpleNamespace(_state=state, transport=SimpleNamespace(_connection=connection),
                           _rx_srtp=pylibsrtp.Session(pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)),
                           _tx_srtp=pylibsrtp.Session(pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)))
    browser = pylibsrtp.Session(pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    shortcut = SrtpShortcut.install(dtls, sinks)
    return shortcut, protocol, dtls, browser, to_aiortc


def test_srtp_of_a_relayed_payload_type_goes_straight_to_its_sink_unprotected():
    got = []
    shortcut, protocol, _, browser, to_aiortc = make({PCMU: lambda *packet: got.append(packet)})
    protocol.datagram_received(browser.protect(rtp(PCMU, 1)), BROWSER)
    assert got == [(PCMU, 0, 1, 8000, 0xCAFE, b"\xff" * 160)]
    assert to_aiortc == [] and shortcut.received == 1


def test_stun_dtls_rtcp_and_formats_we_do_not_relay_still_reach_aiortc():
    shortcut, protocol, _, browser, to_aiortc = make({PCMU: lambda *packet: None})
    stun = bytes([0, 1, 0, 0]) + bytes(16)
    dtls_record = bytes([22, 0xFE, 0xFD]) + bytes(10)
    others = [stun, dtls_record, browser.protect_rtcp(rtcp_receiver_report()), browser.protect(rtp(13, 2))]
    for data in others:
        protocol.datagram_received(data, BROWSER)
    assert to_aiortc == others and shortcut.received == 0


def test_a_forged_or_replayed_packet_is_dropped_without_an_error():
    got = []
    shortcut, protocol, _, browser, to_aiortc = make({PCMU: lambda *packet: got.append(packet)})
    genuine = browser.protect(rtp(PCMU, 1))
    forged = genuine[:-1] + bytes([genuine[-1] ^ 1])
    for data in (forged, genuine, genuine):  # the second copy of the genuine one is a replay
        protocol.datagram_received(data, BROWSER)
    assert len(got) == 1 and to_aiortc == []


def test_rtp_and_rtcp_leave_protected_to_the_selected_pair_and_nothing_after_the_end():
    shortcut, protocol, dtls, _, _ = make({})
    browser_rx = pylibsrtp.Session(pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND))
    shortcut.send(rtp(PCMU, 7))
    shortcut.send(rtcp_receiver_report())
    (srtp, addr), (srtcp, _) = protocol.transport.sent
    assert addr == BROWSER and browser_rx.unprotect(srtp) == rtp(PCMU, 7)
    assert browser_rx.unprotect_rtcp(srtcp) == rtcp_receiver_report()
    protocol.transport.closing = True  # consent expired: aioice closed the pair
    shortcut.send(rtp(PCMU, 8))
    protocol.transport.closing = False
    dtls._state = State.CLOSED
    shortcut.send(rtp(PCMU, 9))
    assert len(protocol.transport.sent) == 2 and shortcut.sent == 2


def test_no_shortcut_before_dtls_is_up_or_on_a_pair_it_does_not_know():
    assert make({}, state=State.CONNECTING)[0] is None
    shortcut, protocol, dtls, _, _ = make({})
    dtls.transport._connection._nominated[1].protocol = SimpleNamespace(transport=Transport())
    assert SrtpShortcut.install(dtls, {}) is None


def test_removing_it_gives_the_socket_back_to_aiortc():
    shortcut, protocol, _, browser, to_aiortc = make({PCMU: lambda *packet: None})
    shortcut.remove()
    data = browser.protect(rtp(PCMU, 1))
    protocol.datagram_received(data, BROWSER)
    assert to_aiortc == [data]


def test_its_srtp_calls_match_pylibsrtps_own_and_keep_their_session_alive():
    def session():
        return pylibsrtp.Session(pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND))

    protect = srtp_operation(session(), lib.srtp_protect, pylibsrtp.SRTP_MAX_TRAILER_LEN)
    gc.collect()  # the only reference to that session is the operation's
    reference = session()
    assert [protect(rtp(PCMU, seq)) for seq in (1, 2)] == [reference.protect(rtp(PCMU, seq)) for seq in (1, 2)]
    inbound = pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
    unprotect = srtp_operation(pylibsrtp.Session(inbound), lib.srtp_unprotect)
    assert unprotect(reference.protect(rtp(PCMU, 3))) == rtp(PCMU, 3)
    with pytest.raises(pylibsrtp.Error, match="authentication failure"):
        unprotect(reference.protect(rtp(PCMU, 4))[:-1] + b"\x00")
    with pytest.raises(pylibsrtp.Error, match="too long"):
        protect(rtp(PCMU, 5, b"\x00" * 1400))
