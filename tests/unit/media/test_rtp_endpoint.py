"""The IMS leg's port pair: symmetric RTP and latching (webims/media/rtp_endpoint.py)."""

import asyncio
import socket

from webims.media import MediaConfig
from webims.media.rtp_endpoint import RtpEndpoint
from webims.sip.sdp import MediaDescription

PCMU, TELEPHONE_EVENT = 0, 101


def rtp(payload_type: int, seq: int) -> bytes:
    return bytes([0x80, payload_type]) + seq.to_bytes(2, "big") + bytes(8) + b"\xff" * 160


RTCP_SENDER_REPORT = bytes([0x80, 200, 0, 6]) + bytes(24)  # parses as an RTP header too (PT 72, marker)


def phone_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def exchange(described: socket.socket, packets) -> tuple[RtpEndpoint, list]:
    """``packets`` as (socket, data) sent to a fresh endpoint whose SDP named ``described``'s port."""
    endpoint = await RtpEndpoint.open(MediaConfig(ims_address="127.0.0.1", ims_port_range=(42000, 42999)), 8000)
    got = []
    endpoint.on_rtp = lambda *packet: got.append(packet)
    port = described.getsockname()[1]
    endpoint.describe_peer("127.0.0.1", MediaDescription("audio", port, "RTP/AVP", ("0", "101")),
                           (PCMU, TELEPHONE_EVENT))
    for sock, data in packets:
        sock.sendto(data, ("127.0.0.1", endpoint.port))
        await asyncio.sleep(0.02)
    endpoint.close()
    return endpoint, got


def test_a_stray_rtcp_packet_on_the_rtp_port_neither_latches_nor_is_relayed(asyncio_run):
    described, stray = phone_socket(), phone_socket()
    endpoint, got = asyncio_run(exchange(described, [(described, rtp(PCMU, 1)), (stray, RTCP_SENDER_REPORT),
                                          (stray, rtp(PCMU, 2))]))
    assert [p[2] for p in got] == [1]  # the stray's RTCP did not latch, so its later RTP was not taken either
    assert endpoint.peer.rtp == described.getsockname() and endpoint.peer.rtp_latched
    assert endpoint.dropped_unknown_format == 1 and endpoint.dropped_from_strangers == 1


def test_the_first_packet_of_an_agreed_format_latches_where_the_phone_really_is(asyncio_run):
    described, behind_nat = phone_socket(), phone_socket()
    # the first packet of a format nobody agreed to (comfort noise, PT 13) does not latch; PCMU does
    endpoint, got = asyncio_run(exchange(described, [(behind_nat, rtp(13, 1)),
                                          (behind_nat, rtp(PCMU, 2)), (described, rtp(PCMU, 3))]))
    assert [p[2] for p in got] == [2]
    assert endpoint.peer.rtp == behind_nat.getsockname()
    assert endpoint.dropped_unknown_format == 1 and endpoint.dropped_from_strangers == 1
