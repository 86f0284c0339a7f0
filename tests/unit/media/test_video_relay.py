"""Video packets, formats and feedback without sockets: the relay's header rewriting, the NACK history, keyframe
requests, which formats relay to which, and the IMS video line's SDP."""

import struct
from types import SimpleNamespace

import attrs
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPacket, RtcpPsfbPacket, RtcpRtpfbPacket

from webims.media.ims_video import ImsVideo
from webims.media.feedback import KeyframeRequests, is_keyframe_request, keyframe_request, nacked
from webims.media.rtp import OutboundStream, parse_rtp
from webims.media.video_codecs import VideoNegotiated, VideoPolicy, h264_level, is_keyframe, relays
from webims.media.video_relay import VideoForwarder, video_routes
from webims.service import CallMedia
from webims.sip.sdp import Codec, SessionDescription

VP8 = Codec("VP8", 90000)
H264_1 = Codec("H264", 90000, fmtp="profile-level-id=42e01f;packetization-mode=1")
H264_0 = Codec("H264", 90000, fmtp="profile-level-id=42e01f;packetization-mode=0")
H264_HIGH = Codec("H264", 90000, fmtp="profile-level-id=640c1f;packetization-mode=1")
POLICY = VideoPolicy.from_call_media(CallMedia("video", ("VP8", "H264")))


def leg(*codecs):
    return VideoNegotiated(codecs, {c.payload_type: c for c in codecs})


def forwarder(source, target):
    sent, asked = [], []
    out = OutboundStream(ssrc=0xF00D, clock_rate=90000)
    fwd = VideoForwarder(source=source, target=target, out=out, send=sent.append,
                         on_new_source=lambda: asked.append("keyframe"), on_keyframe=lambda: asked.append("seen"))
    return fwd, sent, asked


VP8_KEY = bytes([0x10, 0x00, 0x9D, 0x01, 0x2A])   # S=1, partition 0; VP8 header P bit 0: a keyframe
VP8_DELTA = bytes([0x10, 0x01, 0x00, 0x00])


def test_a_relay_remaps_the_payload_type_keeps_marker_and_gaps_and_never_touches_the_payload():
    fwd, sent, asked = forwarder(leg(attrs.evolve(VP8, payload_type=120)), leg(attrs.evolve(VP8, payload_type=96)))
    for seq, marker in ((10, 0), (11, 1), (13, 1)):  # 12 lost on the way in
        fwd.forward(120, marker, seq, 3000 + seq // 2 * 3000, 0xAAAA, VP8_KEY if seq == 10 else VP8_DELTA)
    packets = [parse_rtp(p) for p in sent]
    assert [p[0] for p in packets] == [96, 96, 96] and [p[4] for p in packets] == [0xF00D] * 3
    assert [p[1] for p in packets] == [0, 1, 1]  # a frame's end stays where the sender put it
    assert [(p[2] - packets[0][2]) % 65536 for p in packets] == [0, 1, 3]
    assert packets[0][5] == VP8_KEY
    assert asked == ["keyframe", "seen"]  # a new source: a keyframe is asked for, and seen


def test_a_format_the_other_leg_lacks_is_dropped_and_counted():
    fwd, sent, _ = forwarder(leg(attrs.evolve(VP8, payload_type=96), attrs.evolve(H264_1, payload_type=97)),
                             leg(attrs.evolve(H264_1, payload_type=100)))
    fwd.forward(96, 1, 1, 0, 1, VP8_DELTA)
    fwd.forward(97, 1, 2, 0, 1, b"\x65")
    assert fwd.dropped == 1 and [parse_rtp(p)[0] for p in sent] == [100]


def test_nacked_packets_are_resent_from_history_as_they_were_sent():
    fwd, sent, _ = forwarder(leg(attrs.evolve(VP8, payload_type=96)), leg(attrs.evolve(VP8, payload_type=96)))
    for seq in range(100, 110):
        fwd.forward(96, 1, seq, seq * 3000, 7, VP8_DELTA)
    first = parse_rtp(sent[0])[2]
    fwd.retransmit([(first + 3) % 65536, (first - 600) % 65536])  # one kept, one long gone
    assert sent[-1] == sent[3] and fwd.retransmitted == 1


def test_a_paused_forwarder_rebases_and_asks_for_a_keyframe_when_it_resumes():
    fwd, sent, asked = forwarder(leg(attrs.evolve(VP8, payload_type=96)), leg(attrs.evolve(VP8, payload_type=96)))
    fwd.forward(96, 1, 1, 90000, 7, VP8_DELTA)
    fwd.enabled = False
    fwd.forward(96, 1, 2, 93000, 7, VP8_DELTA)
    fwd.enabled = True
    fwd.forward(96, 1, 500, 990000, 7, VP8_DELTA)
    assert len(sent) == 2 and (parse_rtp(sent[1])[2] - parse_rtp(sent[0])[2]) % 65536 == 1
    assert asked == ["keyframe", "keyframe"]


def test_which_formats_relay_to_which():
    assert relays(VP8, VP8) and relays(H264_1, H264_1)
    assert not relays(H264_1, H264_0)      # mode 1's FU-A cannot reach a mode-0 receiver (RFC 6184 §6)
    assert not relays(H264_HIGH, H264_1)   # Constrained Baseline only
    assert relays(H264_1, attrs.evolve(H264_1, fmtp="packetization-mode=1;profile-level-id=42e00d"))  # levels differ
    routes = video_routes(leg(attrs.evolve(H264_0, payload_type=98), attrs.evolve(VP8, payload_type=96)),
                          leg(attrs.evolve(VP8, payload_type=100), attrs.evolve(H264_0, payload_type=103)))
    assert routes == {98: 103, 96: 100}


def test_the_policy_states_a_level_and_frame_limits_that_fit_the_picture():
    assert h264_level(1280, 720, 30) == 31 and h264_level(640, 480, 30) == 30 and h264_level(1920, 1080, 30) == 40
    offered = POLICY.ims_offer_codecs(first=H264_1)
    assert [(c.encoding_name, c.payload_type) for c in offered] == [("H264", 97), ("VP8", 96), ("H264", 98)]
    assert offered[1].fmtp == "max-fr=30;max-fs=3600"  # RFC 7741 §6.1, 720p in macroblocks


def test_keyframes_are_recognised_in_vp8_and_h264_payloads():
    assert is_keyframe("vp8", VP8_KEY) and not is_keyframe("vp8", VP8_DELTA)
    extended = bytes([0x90, 0x80, 0x81, 0x23, 0x00])  # X, I with a 15-bit picture id, then a keyframe
    assert is_keyframe("vp8", extended)
    assert is_keyframe("h264", b"\x67rest")                      # SPS
    assert is_keyframe("h264", b"\x78\x00\x04\x67")              # STAP-A starting with an SPS
    assert is_keyframe("h264", b"\x7c\x85") and not is_keyframe("h264", b"\x7c\x05")  # FU-A: only its start
    assert not is_keyframe("h264", b"\x41slice")


def test_keyframe_requests_are_coalesced_until_a_keyframe_or_a_retry():
    requests = KeyframeRequests(retry=0.3)
    assert requests.should_send(10.0) and not requests.should_send(10.1) and not requests.should_send(10.2)
    assert requests.should_send(10.35) and requests.fir_sequence == 1  # a repetition keeps its number
    requests.keyframe_seen()
    assert requests.should_send(10.4) and requests.fir_sequence == 2
    assert (requests.sent, requests.coalesced) == (3, 2)


def test_feedback_is_built_and_read_per_rfc_4585_and_5104():
    pli, = RtcpPacket.parse(keyframe_request("pli", 1, 0xBEEF, 0))
    assert (pli.fmt, pli.media_ssrc) == (RTCP_PSFB_PLI, 0xBEEF) and is_keyframe_request(pli, 0xBEEF)
    fir, = RtcpPacket.parse(keyframe_request("fir", 1, 0xBEEF, 7))
    assert (fir.fmt, fir.media_ssrc, fir.fci) == (RTCP_PSFB_FIR, 0, struct.pack("!IB3x", 0xBEEF, 7))
    assert is_keyframe_request(fir, 0xBEEF) and not is_keyframe_request(fir, 0xCAFE)
    assert not is_keyframe_request(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=2), 0xBEEF)
    nack = RtcpRtpfbPacket(fmt=1, ssrc=1, media_ssrc=0xBEEF, lost=[65535, 65536, 65537])
    assert nacked(RtcpPacket.parse(bytes(nack))[0], 0xBEEF) == [65535, 0, 1]  # wrapped


def ims_video():
    endpoint = SimpleNamespace(port=50000, describe_peer=lambda address, media, payload_types: None)
    return ImsVideo(endpoint, POLICY)


AVPF_OFFER = """v=0\r
o=ue 1 1 IN IP4 192.0.2.5\r
s=-\r
c=IN IP4 192.0.2.5\r
t=0 0\r
m=audio 40000 RTP/AVP 0\r
m=video 40002 RTP/AVPF 100 101\r
b=AS:600\r
b=TIAS:512000\r
a=rtpmap:100 H264/90000\r
a=fmtp:100 profile-level-id=42c01e;packetization-mode=1\r
a=rtpmap:101 VP8/90000\r
a=rtcp-fb:* ccm fir\r
a=sendrecv\r
"""


def test_the_phones_avpf_video_line_is_answered_in_its_profile_with_its_limits_read():
    video = ims_video()
    offer = SessionDescription.parse(AVPF_OFFER)
    answer = video.answer(offer, offer.media[1], first=VP8)  # the browser sends VP8: answered first
    assert answer.proto == "RTP/AVPF" and answer.formats == ("101", "100")
    assert ("rtcp-fb", "* ccm fir") in [(a.name, a.value) for a in answer.attributes]
    assert {str(b) for b in answer.bandwidths} == {"AS:2625", "TIAS:2500000"}  # what we receive, at most
    negotiated = video.negotiated
    assert negotiated.max_bitrate == 512000 and negotiated.keyframe_request == "fir"
    assert [c.payload_type for c in negotiated.send] == [101, 100]


def test_an_answer_with_a_format_we_did_not_offer_turns_video_off_with_a_reason():
    video = ims_video()
    video.offer(first=None)
    answer = SessionDescription.parse(AVPF_OFFER.replace("RTP/AVPF 100 101", "RTP/AVP 34").replace(
        "a=rtpmap:100 H264/90000", "a=rtpmap:34 H263/90000"))
    video.read_answer(answer, answer.media[1])
    assert video.negotiated is None
    assert video.refusal == ("The other phone answered with H.263 video, which this gateway did not offer; "
                             "it relays VP8 and H.264.")
