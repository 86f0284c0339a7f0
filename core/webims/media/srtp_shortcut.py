"""The browser leg's packet path once DTLS is up: SRTP straight between the ICE socket and the relay.

aiortc moves every datagram through an ``asyncio.Queue``, a coroutine in its DTLS transport, a full
``RtpPacket`` parse and an awaited receiver call, and every packet we send through a Task. That is
most of a relayed packet's cost (docs/media.md, "The packet path"). Once the DTLS handshake has set
up the SRTP sessions, :class:`SrtpShortcut` takes over the selected ICE pair's socket:

- in: the pair's ``StunProtocol.datagram_received`` is wrapped on the instance; an SRTP packet (first
  byte 128-191, RFC 7983, and not RTCP) whose payload type has a sink is unprotected and handed to
  that sink at once. Everything else (STUN consent checks, DTLS records, RTCP, a
  payload type we do not relay) goes on to aiortc as before.
- out: our RTP and RTCP are protected with aiortc's sending SRTP session and written to the pair's
  socket directly, no Task, no await.

aiortc keeps owning ICE, DTLS and both SRTP sessions: the shortcut uses them in the same order
aiortc would, so replay windows and rollover counters stay one. The objects it reaches are private
aiortc/aioice API, guarded with the others in ``tests/unit/media/test_aiortc_pins.py``. It works the
same over a TURN relay (aioice's ``TurnTransport.sendto`` is synchronous too); a pair whose protocol
is not aioice's ``StunProtocol`` keeps aiortc's path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import aioice.ice
import pylibsrtp
from aiortc.rtcdtlstransport import State

from pylibsrtp._binding import ffi, lib

from .rtp import parse_rtp

__all__ = ["SrtpShortcut", "RtpSink"]

RtpSink = Callable[[int, int, int, int, int, bytes], None]


def srtp_operation(session: pylibsrtp.Session, function, trailer: int = 0) -> Callable[[bytes], bytes]:
    """One of ``session``'s operations (``lib.srtp_protect``...) as pylibsrtp's own method does it, on the
    session's buffer, without that method's per-packet wrapping: three Python calls and a cffi allocation
    fewer for every packet. ``trailer`` is the room protecting adds (pylibsrtp's SRTP_MAX_*_TRAILER_LEN).
    Errors raise ``pylibsrtp.Error`` as pylibsrtp does."""
    srtp, cdata, buffer = session._srtp[0], session._cdata, session._buffer
    room = len(cdata) - trailer
    length = ffi.new("int *")
    errors = pylibsrtp.ERRORS

    def operation(data: bytes) -> bytes:
        size = len(data)
        if size > room:
            raise pylibsrtp.Error("packet is too long")
        length[0] = size
        buffer[0:size] = data
        status = function(srtp, cdata, length)
        if status:
            raise pylibsrtp.Error(errors[status])
        return buffer[0:length[0]]

    operation.session = session  # the C session lives as long as the Python one: keep it while we do
    return operation


class SrtpShortcut:
    """The fast path of one DTLS transport (one browser leg; with BUNDLE, its audio and video alike).

    ``sinks`` maps a payload type to its sink; the leg keeps that mapping current in place (a payload
    type not in it goes to aiortc). ``send(packet)`` protects and sends one RTP or RTCP packet.
    """

    send: Callable[[bytes], None]

    def __init__(self, dtls, protocol, remote_addr: tuple, sinks: Mapping[int, RtpSink]) -> None:
        self._protocol = protocol
        self._aiortc_received = protocol.datagram_received
        self.received = self.sent = 0
        unprotect = srtp_operation(dtls._rx_srtp, lib.srtp_unprotect)
        protect = srtp_operation(dtls._tx_srtp, lib.srtp_protect, pylibsrtp.SRTP_MAX_TRAILER_LEN)
        protect_rtcp = srtp_operation(dtls._tx_srtp, lib.srtp_protect_rtcp, pylibsrtp.SRTP_MAX_SRTCP_TRAILER_LEN)
        aiortc_received = self._aiortc_received
        sendto, closing = protocol.transport.sendto, protocol.transport.is_closing
        connected = State.CONNECTED

        def datagram_received(data: bytes, addr: tuple) -> None:
            # RFC 7983 demultiplexing; RFC 5761 §4: RTCP packet types 192-223 sit in the second byte.
            if len(data) > 12 and 127 < data[0] < 192 and not 191 < data[1] < 224:
                sink = sinks.get(data[1] & 0x7F)
                if sink is not None:
                    try:
                        packet = parse_rtp(unprotect(data))
                    except pylibsrtp.Error:
                        return  # not authentic, or a replay: what aiortc would have dropped too
                    if packet is not None:
                        self.received += 1
                        sink(*packet)
                    return
            aiortc_received(data, addr)

        def send(data: bytes) -> None:
            if dtls._state is not connected or closing():
                return  # the leg or its ICE pair is closing (consent expired): dropped, as aiortc does
            if 191 < data[1] < 224:
                sendto(protect_rtcp(data), remote_addr)
            else:
                sendto(protect(data), remote_addr)
            self.sent += 1

        protocol.datagram_received = datagram_received
        self.send = send

    @classmethod
    def install(cls, dtls, sinks: Mapping[int, RtpSink]) -> SrtpShortcut | None:
        """The shortcut over ``dtls``'s selected pair, or None where there is none it can take (DTLS
        not connected yet, no nominated pair, a protocol aioice does not name ``StunProtocol``)."""
        if dtls._state is not State.CONNECTED or dtls._rx_srtp is None or dtls._tx_srtp is None:
            return None
        pair = dtls.transport._connection._nominated.get(1)
        protocol = getattr(pair, "protocol", None)
        if type(protocol) is not aioice.ice.StunProtocol or getattr(protocol, "transport", None) is None:
            return None
        return cls(dtls, protocol, pair.remote_addr, sinks)

    def remove(self) -> None:
        """Give the socket back to aiortc (the leg is closing)."""
        if self._protocol is not None:
            self._protocol.datagram_received = self._aiortc_received
            self._protocol = None
