"""The private aiortc API the media bridge stands on (see webims/media/browser_leg.py).

If one of these fails after an aiortc upgrade, the relay would silently stop (or start
decoding): adapt browser_leg.py to the new aiortc before changing the pin.
"""

import asyncio
import inspect
from types import SimpleNamespace

import aioice.ice
import aiortc
import pylibsrtp
from aiortc import rtcpeerconnection
from aiortc.codecs import CODECS
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport, RtpRouter, State
from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport
from aiortc.rtcpeerconnection import RTCPeerConnection
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket, RtcpRtpfbPacket

from webims.media.browser_leg import PINNED_AIORTC


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_aiortc_is_the_pinned_version():
    assert aiortc.__version__ == PINNED_AIORTC


def test_rtp_still_enters_through_the_receivers_handle_rtp_packet():
    assert parameters(RTCRtpReceiver._handle_rtp_packet) == ["self", "packet", "arrival_time_ms"]
    # ...called on the receiver instance by the DTLS transport's router, so an instance attribute wins
    assert "await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)" in inspect.getsource(
        RTCDtlsTransport._handle_rtp_data)


def test_the_sender_is_started_only_through_send_and_owns_the_ssrc_we_send_with():
    assert parameters(RTCRtpSender.send) == ["self", "parameters"]
    source = inspect.getsource(RTCPeerConnection)
    assert "await transceiver.sender.send(self.__localRtp(transceiver))" in source
    assert "self._ssrc = random32()" in inspect.getsource(RTCRtpSender.__init__)
    assert "ssrc=transceiver.sender._ssrc" in inspect.getsource(aiortc.rtcpeerconnection)


def test_rtp_and_rtcp_still_leave_through_the_dtls_transports_send_rtp(asyncio_run):
    assert parameters(RTCDtlsTransport._send_rtp) == ["self", "data"]
    sent = asyncio_run(_send_one_packet())
    assert len(sent) == 1 and len(sent[0]) == 172 + 10  # SRTP protected: the 80-bit tag added


async def _send_one_packet() -> list[bytes]:
    sent = []
    ice = RTCIceTransport(RTCIceGatherer())
    protocol = SimpleNamespace(send_data=_async_recorder(sent))
    ice._connection._nominated[1] = SimpleNamespace(protocol=protocol, remote_addr=("127.0.0.1", 9))
    dtls = RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])
    dtls._state = State.CONNECTED
    dtls._tx_srtp = pylibsrtp.Session(pylibsrtp.Policy(key=bytes(30), ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    await dtls._send_rtp(bytes([0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 42]) + bytes(160))
    return sent


def _async_recorder(sent):
    async def send_data(data, addr):
        sent.append(data)
    return send_data


def test_video_feedback_reaches_whoever_is_registered_as_the_sender_of_our_ssrc():
    # browser_video.py registers itself for our SSRC; the DTLS transport hands it what the router finds.
    assert parameters(RtpRouter.register_sender) == ["self", "sender", "ssrc"]
    assert "await recipient._handle_rtcp_packet(packet)" in inspect.getsource(RTCDtlsTransport._handle_rtcp_data)
    router, sink = RtpRouter(), object()
    router.register_sender(sink, 0xBEEF)
    assert router.route_rtcp(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=0xBEEF)) == {sink}
    assert router.route_rtcp(RtcpRtpfbPacket(fmt=1, ssrc=1, media_ssrc=0xBEEF, lost=[3])) == {sink}
    assert "self._rtp_router = RtpRouter()" in inspect.getsource(RTCDtlsTransport.__init__)


def test_h264_packetization_modes_negotiate_apart_so_mode_0_can_be_added_to_the_table():
    mode_1 = next(c for c in CODECS["video"] if c.name == "H264" and c.parameters["profile-level-id"] == "42e01f"
                  and c.parameters["packetization-mode"] == "1")
    mode_0 = type(mode_1)(mimeType="video/H264", clockRate=90000, payloadType=103,
                          parameters={**mode_1.parameters, "packetization-mode": "0"})
    assert rtcpeerconnection.is_codec_compatible(mode_0, mode_0)
    assert not rtcpeerconnection.is_codec_compatible(mode_1, mode_0)


def test_the_srtp_shortcut_still_finds_the_selected_pair_its_socket_and_the_srtp_sessions():
    # srtp_shortcut.py: the nominated pair of component 1, its StunProtocol's datagram_received (called by
    # asyncio's transport, so an instance attribute wins) and transport, and the DTLS transport's sessions.
    assert "self._nominated: dict[int, CandidatePair] = {}" in inspect.getsource(aioice.ice.Connection.__init__)
    assert "self._protocol.datagram_received(data, addr)" in inspect.getsource(
        asyncio.selector_events._SelectorDatagramTransport._read_ready)
    assert parameters(aioice.ice.StunProtocol.datagram_received) == ["self", "data", "addr"]
    assert "self.receiver.data_received(data, self.local_candidate.component)" in inspect.getsource(
        aioice.ice.StunProtocol.datagram_received)
    assert "remote_addr" in dir(aioice.ice.CandidatePair)
    assert "self.protocol = protocol" in inspect.getsource(aioice.ice.CandidatePair.__init__)
    source = inspect.getsource(RTCDtlsTransport._setup_srtp)
    assert "self._rx_srtp = Session(rx_policy)" in source and "self._tx_srtp = Session(tx_policy)" in source
    assert "self._connection = gatherer._connection" in inspect.getsource(RTCIceTransport.__init__)
    # aiortc demultiplexes as the shortcut does (RFC 7983): SRTP is 128-191, DTLS 20-63.
    assert "first_byte > 127 and first_byte < 192 and self._rx_srtp" in inspect.getsource(
        RTCDtlsTransport._recv_next)


def test_pylibsrtp_still_works_on_its_sessions_buffer_as_the_shortcut_does():
    # srtp_shortcut.srtp_operation repeats Session.__process on the same private objects.
    source = inspect.getsource(pylibsrtp.Session._Session__process)
    assert "self._buffer[0 : len(data)] = data" in source
    assert "func(self._srtp[0], self._cdata, len_p)" in source and "self._buffer[0 : len_p[0]]" in source
    protect = inspect.getsource(pylibsrtp.Session.protect)
    assert "self.__process(packet, lib.srtp_protect, SRTP_MAX_TRAILER_LEN)" in protect
    assert pylibsrtp.ERRORS[7] == "authentication failure"


def test_the_browsers_sender_reports_still_reach_its_receiver_by_ssrc():
    # browser_video.tap_sender_reports wraps the receiver's _handle_rtcp_packet, which aiortc calls on the
    # instance for an SR whose SSRC its router knows (from the SDP's a=ssrc, or the stream's first packets).
    assert "add_recipient(self.ssrc_table.get(packet.ssrc))" in inspect.getsource(RtpRouter.route_rtcp)
    assert parameters(RTCRtpReceiver._handle_rtcp_packet) == ["self", "packet"]
