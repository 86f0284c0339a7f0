"""SDP parsing and writing on real-world bodies, and the errors malformed ones produce."""

import pytest

from webims.sip.errors import RemoteProtocolError
from webims.sip.sdp import (
    MAX_MEDIA_SECTIONS,
    MAX_SDP_BYTES,
    Attribute,
    Bandwidth,
    Codec,
    Connection,
    Direction,
    SessionDescription,
)


def crlf(text: str) -> str:
    return "".join(line.strip() + "\r\n" for line in text.strip().splitlines())


CHROME_OFFER = crlf("""
    v=0
    o=- 4611731400430051336 2 IN IP4 127.0.0.1
    s=-
    t=0 0
    a=group:BUNDLE 0
    a=extmap-allow-mixed
    a=msid-semantic: WMS 5c2ed1a3-6d1e-4d43-9d2c-3c2a9c9f8b11
    m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
    c=IN IP4 0.0.0.0
    a=rtcp:9 IN IP4 0.0.0.0
    a=ice-ufrag:kX2W
    a=ice-pwd:9vL5mYvXh1w0b0Wm5sJ3b2kq
    a=ice-options:trickle
    a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
    a=setup:actpass
    a=mid:0
    a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
    a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
    a=sendrecv
    a=msid:5c2ed1a3-6d1e-4d43-9d2c-3c2a9c9f8b11 e1c8c8a0-5a42-4a4f-8d6e-4a4a7b3b6f01
    a=rtcp-mux
    a=rtpmap:111 opus/48000/2
    a=rtcp-fb:111 transport-cc
    a=fmtp:111 minptime=10;useinbandfec=1
    a=rtpmap:63 red/48000/2
    a=fmtp:63 111/111
    a=rtpmap:9 G722/8000
    a=rtpmap:0 PCMU/8000
    a=rtpmap:8 PCMA/8000
    a=rtpmap:13 CN/8000
    a=rtpmap:110 telephone-event/48000
    a=rtpmap:126 telephone-event/8000
    a=ssrc:3735928559 cname:Hn2x3Q1yq1aXv1e2
""")

BARESIP_OFFER = crlf("""
    v=0
    o=- 1629116207 3040478452 IN IP4 192.168.1.10
    s=-
    c=IN IP4 192.168.1.10
    t=0 0
    a=tool:baresip 1.1.0
    m=audio 10458 RTP/AVP 96 0 8 101
    b=AS:80
    a=rtpmap:96 opus/48000/2
    a=fmtp:96 stereo=1;sprop-stereo=1
    a=rtpmap:0 PCMU/8000
    a=rtpmap:8 PCMA/8000
    a=rtpmap:101 telephone-event/8000
    a=fmtp:101 0-15
    a=rtcp-rsize
    a=sendrecv
    a=label:1
    a=ssrc:1518264474 cname:fe4e7c7a-1b5c-4a32-bb3b-e1a29a2a6a54
    a=ptime:20
""")

# RFC 4975 §8.1: Alice's offer for a basic IM session.
MSRP_OFFER = crlf("""
    v=0
    o=alice 2890844557 2890844559 IN IP4 alicepc.example.com
    s=-
    c=IN IP4 alicepc.example.com
    t=0 0
    m=message 7777 TCP/MSRP *
    a=accept-types:text/plain
    a=path:msrp://alicepc.example.com:7777/iau39soe2843z;tcp
""")

# An IMS session over TLS with a relay in the path, as OMA/GSMA RCS clients send.
MSRP_TLS_OFFER = crlf("""
    v=0
    o=- 3816543210 3816543210 IN IP4 10.45.0.7
    s=-
    c=IN IP4 10.45.0.7
    t=0 0
    m=message 9 TCP/TLS/MSRP *
    a=setup:active
    a=accept-types:message/cpim application/im-iscomposing+xml
    a=accept-wrapped-types:text/plain message/imdn+xml
    a=path:msrps://relay.example.net:2855/kjh2;tcp msrps://10.45.0.7:9/a8sd;tcp
    a=fingerprint:SHA-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB
    a=sendrecv
""")

# A VoLTE phone's offer as a Kamailio P-CSCF relays it: AMR-WB/AMR only, QoS preconditions.
IMS_AMR_WB_OFFER = crlf("""
    v=0
    o=rue 3251 3251 IN IP4 10.45.0.2
    s=-
    c=IN IP4 10.45.0.2
    b=AS:41
    b=RR:1537
    b=RS:512
    t=0 0
    m=audio 50010 RTP/AVP 116 107 118 96 111 110
    b=AS:41
    b=TIAS:36000
    a=rtpmap:116 AMR-WB/16000/1
    a=fmtp:116 mode-change-capability=2;max-red=0
    a=rtpmap:107 AMR-WB/16000/1
    a=fmtp:107 octet-align=1;mode-change-capability=2;max-red=0
    a=rtpmap:118 AMR/8000/1
    a=fmtp:118 octet-align=1;mode-change-capability=2;max-red=0
    a=rtpmap:96 AMR/8000/1
    a=fmtp:96 mode-change-capability=2;max-red=0
    a=rtpmap:111 telephone-event/16000
    a=fmtp:111 0-15
    a=rtpmap:110 telephone-event/8000
    a=fmtp:110 0-15
    a=curr:qos local none
    a=curr:qos remote none
    a=des:qos mandatory local sendrecv
    a=des:qos optional remote sendrecv
    a=sendrecv
    a=ptime:20
    a=maxptime:240
""")

REAL_WORLD = [CHROME_OFFER, BARESIP_OFFER, MSRP_OFFER, MSRP_TLS_OFFER, IMS_AMR_WB_OFFER]


@pytest.mark.parametrize("text", REAL_WORLD, ids=["chrome", "baresip", "msrp", "msrp-tls", "ims"])
def test_real_world_sdp_round_trips_byte_for_byte(text):
    assert str(SessionDescription.parse(text)) == text
    assert SessionDescription.parse(text.encode()).to_bytes() == text.encode()


def test_chrome_offer_exposes_codecs_in_m_line_order_with_their_fmtp():
    media = SessionDescription.parse(CHROME_OFFER).media[0]
    assert media.proto == "UDP/TLS/RTP/SAVPF"
    assert [c.payload_type for c in media.codecs] == [111, 63, 9, 0, 8, 13, 110, 126]
    assert media.codecs[0] == Codec("opus", 48000, 2, 111, "minptime=10;useinbandfec=1")
    assert media.rtcp_mux
    assert media.setup == "actpass"
    assert media.direction is Direction.SENDRECV


def test_unknown_attributes_keep_their_order_and_exact_value():
    session = SessionDescription.parse(CHROME_OFFER)
    semantic = Attribute("msid-semantic", " WMS 5c2ed1a3-6d1e-4d43-9d2c-3c2a9c9f8b11")
    assert session.attributes[2] == semantic
    assert session.attribute("extmap-allow-mixed") == ""
    assert session.media[0].attribute_values("extmap")[1].startswith("2 http://www.webrtc.org")


def test_baresip_offer_has_session_connection_bandwidth_and_ptime():
    session = SessionDescription.parse(BARESIP_OFFER)
    media = session.media[0]
    assert session.connection == Connection("192.168.1.10")
    assert session.media_connection(media) == Connection("192.168.1.10")
    assert media.bandwidths == (Bandwidth("AS", 80),)
    assert media.ptime == 20
    assert session.origin.session_version == 3040478452


def test_static_payload_types_without_rtpmap_are_known_from_rfc_3551():
    text = crlf("""
        v=0
        o=- 1 1 IN IP4 192.0.2.1
        s=-
        c=IN IP4 192.0.2.1
        t=0 0
        m=audio 4000 RTP/AVP 0 8 18 99
    """)
    codecs = SessionDescription.parse(text).media[0].codecs
    assert [(c.encoding_name, c.clock_rate) for c in codecs] == [
        ("PCMU", 8000), ("PCMA", 8000), ("G729", 8000)
    ]


def test_msrp_offer_exposes_path_and_accept_types():
    session = SessionDescription.parse(MSRP_OFFER)
    media = session.media[0]
    assert (media.media, media.port, media.proto) == ("message", 7777, "TCP/MSRP")
    assert media.formats == ("*",)
    assert media.path == ("msrp://alicepc.example.com:7777/iau39soe2843z;tcp",)
    assert media.accept_types == ("text/plain",)
    assert media.codecs == ()
    assert session.connection.address == "alicepc.example.com"


def test_msrp_tls_offer_exposes_relay_path_wrapped_types_and_setup():
    media = SessionDescription.parse(MSRP_TLS_OFFER).media[0]
    assert media.proto == "TCP/TLS/MSRP"
    assert len(media.path) == 2 and media.path[0].startswith("msrps://relay")
    assert media.accept_wrapped_types == ("text/plain", "message/imdn+xml")
    assert media.setup == "active"


def test_ims_offer_keeps_both_bandwidth_levels_and_amr_fmtp():
    session = SessionDescription.parse(IMS_AMR_WB_OFFER)
    media = session.media[0]
    assert [b.type for b in session.bandwidths] == ["AS", "RR", "RS"]
    assert media.bandwidths == (Bandwidth("AS", 41), Bandwidth("TIAS", 36000))
    assert media.codecs[1] == Codec(
        "AMR-WB", 16000, 1, 107, "octet-align=1;mode-change-capability=2;max-red=0"
    )
    assert media.maxptime == 240
    assert media.attribute_values("curr") == ["qos local none", "qos remote none"]


def test_bare_lf_line_ends_are_accepted_and_written_back_as_crlf():
    text = BARESIP_OFFER.replace("\r\n", "\n")
    assert str(SessionDescription.parse(text)) == BARESIP_OFFER


def test_session_level_direction_applies_to_media_without_their_own():
    text = crlf("""
        v=0
        o=- 1 1 IN IP4 192.0.2.1
        s=-
        t=0 0
        a=sendonly
        m=audio 4000 RTP/AVP 0
        m=video 4002 RTP/AVP 31
        a=inactive
    """)
    session = SessionDescription.parse(text)
    assert session.media[0].direction is None
    assert session.media_direction(session.media[0]) is Direction.SENDONLY
    assert session.media_direction(session.media[1]) is Direction.INACTIVE


def test_media_without_direction_defaults_to_sendrecv():
    session = SessionDescription.parse(MSRP_OFFER)
    assert session.media_direction(session.media[0]) is Direction.SENDRECV


def test_with_direction_replaces_only_the_direction_attribute():
    media = SessionDescription.parse(BARESIP_OFFER).media[0]
    held = media.with_direction(Direction.SENDONLY)
    assert held.direction is Direction.SENDONLY
    assert [a.name for a in held.attributes].count("sendonly") == 1
    assert "sendrecv" not in [a.name for a in held.attributes]
    assert held.ptime == 20


def test_repeat_times_stay_with_their_timing_line():
    text = crlf("""
        v=0
        o=- 1 1 IN IP4 192.0.2.1
        s=Seminar
        i=A talk
        u=http://www.example.com/seminars/sdp.pdf
        e=j.doe@example.com (Jane Doe)
        p=+1 617 555-6011
        t=2873397496 2873404696
        r=7d 1h 0 25h
        t=0 0
        z=2882844526 -1h 2898848070 0
        m=audio 49170 RTP/AVP 0
        i=main audio
    """)
    session = SessionDescription.parse(text)
    assert session.timings[0].repeats == ("7d 1h 0 25h",)
    assert session.timings[1].repeats == ()
    assert session.media[0].title == "main audio"
    assert str(session) == text


HEAD = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n"


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("", "must start with v=, o= and s="),
        ("v=0\r\ns=-\r\no=- 1 1 IN IP4 h\r\nt=0 0\r\n", "must start with v=, o= and s="),
        ("v=1\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n", "unsupported version"),
        ("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n", "o= needs 6 fields"),
        ("v=0\r\no=- 1 x IN IP4 h\r\ns=-\r\nt=0 0\r\n", "session version 'x'"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n", "no t= line"),
        ("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nr=1d\r\nt=0 0\r\n", "r= line before any t= line"),
        (HEAD + "hello\r\n", "line 5 'hello'"),
        (HEAD + "m=audio 1 RTP/AVP\r\n", "at least one format"),
        (HEAD + "m=audio 70000 RTP/AVP 0\r\n", "invalid port"),
        (HEAD + "m=audio 1 RTP/AVP pcmu\r\n", "payload types 0-127"),
        (HEAD + "m=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus\r\n", "a=rtpmap:96 opus"),
        (HEAD + "m=audio 1 RTP/AVP 0\r\na=ptime:x\r\n", "a=ptime:x"),
        (HEAD + "m=audio 1 RTP/AVP 0\r\nt=0 0\r\n", "t= line is not allowed in the m=audio"),
        (HEAD + "b=AS\r\n", "b= must be"),
        (HEAD + "c=IN IP4\r\n", "c= needs 3 fields"),
    ],
)
def test_malformed_sdp_raises_remote_protocol_error_saying_what_is_wrong(text, complaint):
    with pytest.raises(RemoteProtocolError) as caught:
        SessionDescription.parse(text)
    assert complaint in caught.value.reason
    assert caught.value.status_hint == 400


def test_non_utf8_sdp_is_malformed():
    with pytest.raises(RemoteProtocolError, match="not UTF-8"):
        SessionDescription.parse(b"v=0\r\no=\xff 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n")


def test_oversized_sdp_is_refused_with_413():
    with pytest.raises(RemoteProtocolError) as caught:
        SessionDescription.parse("v=0\r\n" + "a=x\r\n" * (MAX_SDP_BYTES // 5))
    assert caught.value.status_hint == 413


def test_too_many_media_sections_are_refused():
    text = HEAD + "m=audio 0 RTP/AVP 0\r\n" * (MAX_MEDIA_SECTIONS + 1)
    with pytest.raises(RemoteProtocolError, match="media sections"):
        SessionDescription.parse(text)
