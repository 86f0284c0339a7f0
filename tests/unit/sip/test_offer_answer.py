"""RFC 3264 offer/answer: codec choice, directions, declined streams, versions and hold."""

import pytest

from webims.sip.offer_answer import (
    SdpSession,
    answer_direction,
    answer_media,
    common_codecs,
    explain_failure,
    explain_media_failure,
    hold_direction,
    is_hold_offer,
    reject_media,
    resume_direction,
    sdp_unchanged,
)
from webims.sip.sdp import Codec, Direction, MediaDescription, SessionDescription

from .test_sdp import BARESIP_OFFER, CHROME_OFFER, IMS_AMR_WB_OFFER, MSRP_OFFER, crlf

PCMU = Codec("PCMU", 8000)
PCMA = Codec("PCMA", 8000)
OPUS = Codec("opus", 48000, 2)
DTMF = Codec("telephone-event", 8000, fmtp="0-16")
GATEWAY_AUDIO = [PCMU, PCMA, OPUS]

S, SO, RO, I = Direction.SENDRECV, Direction.SENDONLY, Direction.RECVONLY, Direction.INACTIVE


def offer_media(text: str) -> MediaDescription:
    return SessionDescription.parse(text).media[0]


def test_answer_keeps_offerer_payload_types_in_our_preference_order():
    answer = answer_media(offer_media(BARESIP_OFFER), GATEWAY_AUDIO, port=30000)
    assert answer.formats == ("0", "8", "96")
    assert answer.port == 30000 and answer.proto == "RTP/AVP"
    assert answer.attribute_values("rtpmap") == ["0 PCMU/8000", "8 PCMA/8000", "96 opus/48000/2"]


def test_codecs_match_by_name_case_insensitively_and_by_rate_and_channels():
    offered = [
        Codec("pcmu", 8000, payload_type=0),
        Codec("OPUS", 48000, 1, 97),  # mono: not the same format as opus/48000/2
        Codec("PCMA", 16000, payload_type=98),
    ]
    assert common_codecs(offered, GATEWAY_AUDIO) == (Codec("pcmu", 8000, payload_type=0),)


def test_telephone_event_is_kept_when_both_sides_support_it():
    answer = answer_media(offer_media(BARESIP_OFFER), [PCMU, DTMF], port=30000)
    assert answer.formats == ("0", "101")
    assert "101 0-16" in answer.attribute_values("fmtp")


def test_telephone_event_is_dropped_when_we_do_not_support_it():
    assert answer_media(offer_media(BARESIP_OFFER), [PCMU], port=30000).formats == ("0",)


def test_telephone_event_only_accompanies_a_codec_of_the_same_clock_rate():
    supported = [PCMU, DTMF, Codec("telephone-event", 48000)]
    chosen = common_codecs(offer_media(CHROME_OFFER).codecs, supported)
    assert [c.payload_type for c in chosen] == [0, 126]


def test_telephone_event_alone_is_no_common_codec():
    offered = [Codec("AMR", 8000, payload_type=96), Codec("telephone-event", 8000, 1, 101)]
    assert common_codecs(offered, [PCMU, DTMF]) == ()


def test_offer_fmtp_is_kept_when_we_have_no_parameters_of_our_own():
    answer = answer_media(offer_media(BARESIP_OFFER), [OPUS], port=30000)
    assert answer.attribute_values("fmtp") == ["96 stereo=1;sprop-stereo=1"]


def test_stream_without_common_codec_is_declined_with_port_zero_and_same_media_type():
    offered = offer_media(IMS_AMR_WB_OFFER)
    answer = answer_media(offered, GATEWAY_AUDIO, port=30000)
    assert answer.is_rejected
    assert (answer.media, answer.proto, answer.formats) == ("audio", "RTP/AVP", offered.formats)
    assert answer.attributes == ()


def test_stream_with_unsupported_profile_is_declined():
    answer = answer_media(offer_media(CHROME_OFFER), GATEWAY_AUDIO, port=30000)
    assert answer.is_rejected and answer.proto == "UDP/TLS/RTP/SAVPF"


def test_a_declined_offered_stream_stays_declined():
    declined = reject_media(offer_media(BARESIP_OFFER))
    assert answer_media(declined, GATEWAY_AUDIO, port=30000).is_rejected


@pytest.mark.parametrize(
    "offered, wanted, answered",
    [
        (S, S, S), (S, SO, SO), (S, RO, RO), (S, I, I),
        (SO, S, RO), (SO, SO, I), (RO, S, SO), (RO, RO, I),
        (I, S, I),
    ],
)
def test_answer_direction_follows_rfc_3264_section_6_1(offered, wanted, answered):
    assert answer_direction(offered, wanted) is answered


def test_answer_carries_the_answered_direction_explicitly():
    offered = offer_media(BARESIP_OFFER).with_direction(SO)
    assert answer_media(offered, GATEWAY_AUDIO, port=1).direction is RO


def test_session_level_offer_direction_is_honoured_when_passed():
    offered = offer_media(BARESIP_OFFER).with_direction(S)
    answer = answer_media(offered, GATEWAY_AUDIO, port=1, offered_direction=I)
    assert answer.direction is I


@pytest.mark.parametrize("current, held", [(S, SO), (RO, I), (SO, SO), (I, I)])
def test_hold_stops_receiving_per_rfc_3264_section_8_4(current, held):
    assert hold_direction(current) is held


@pytest.mark.parametrize("held, resumed", [(SO, S), (I, RO)])
def test_resume_undoes_hold(held, resumed):
    assert resume_direction(held) is resumed


def test_sendonly_or_inactive_offer_puts_us_on_hold():
    offer = SessionDescription.parse(BARESIP_OFFER.replace("a=sendrecv", "a=sendonly"))
    assert is_hold_offer(offer, offer.media[0])
    plain = SessionDescription.parse(BARESIP_OFFER)
    assert not is_hold_offer(plain, plain.media[0])


def test_rfc_2543_zero_address_offer_puts_us_on_hold():
    text = BARESIP_OFFER.replace("c=IN IP4 192.168.1.10", "c=IN IP4 0.0.0.0")
    offer = SessionDescription.parse(text)
    assert is_hold_offer(offer, offer.media[0])


def test_failure_explains_codecs_the_other_side_offered_and_ours():
    reason = explain_failure(SessionDescription.parse(IMS_AMR_WB_OFFER), {"audio": GATEWAY_AUDIO})
    assert reason == (
        "The other side offered only AMR-WB and AMR; this gateway supports PCMU, PCMA and Opus"
    )


def test_failure_explains_a_single_foreign_codec():
    offer = SessionDescription.parse(crlf("""
        v=0
        o=- 1 1 IN IP4 192.0.2.1
        s=-
        c=IN IP4 192.0.2.1
        t=0 0
        m=audio 4000 RTP/AVP 96 101
        a=rtpmap:96 AMR-WB/16000
        a=rtpmap:101 telephone-event/16000
    """))
    assert explain_failure(offer, {"audio": GATEWAY_AUDIO}) == (
        "The other side offered only AMR-WB; this gateway supports PCMU, PCMA and Opus"
    )


def test_failure_explains_sdes_srtp_requirement():
    crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
    text = BARESIP_OFFER.replace("RTP/AVP", "RTP/SAVP").replace("a=ptime:20", f"{crypto}")
    offer = SessionDescription.parse(text)
    assert explain_failure(offer, {"audio": GATEWAY_AUDIO}) == (
        "The other side requires SRTP (SDES), which this gateway does not offer on the IMS side"
    )


def test_failure_explains_dtls_srtp_requirement():
    media = offer_media(CHROME_OFFER)
    assert "requires DTLS-SRTP" in explain_media_failure(media, GATEWAY_AUDIO)


def test_failure_explains_media_types_we_cannot_carry():
    reason = explain_failure(SessionDescription.parse(MSRP_OFFER), {"audio": GATEWAY_AUDIO})
    assert reason == "The other side offered message, which this gateway cannot carry"


def test_failure_explanation_is_empty_when_the_offer_is_acceptable():
    assert explain_failure(SessionDescription.parse(BARESIP_OFFER), {"audio": GATEWAY_AUDIO}) == ""
    assert explain_media_failure(offer_media(BARESIP_OFFER), GATEWAY_AUDIO) is None


def test_sdp_session_keeps_version_when_nothing_changed_and_increments_on_change():
    session = SdpSession("203.0.113.5", session_id="42")
    audio = answer_media(offer_media(BARESIP_OFFER), GATEWAY_AUDIO, port=30000)
    first = session.describe([audio])
    again = session.describe([audio])
    held = session.describe([audio.with_direction(SO)])
    assert first.origin.session_version == again.origin.session_version == 1
    assert held.origin.session_version == 2
    assert held.origin.session_id == "42" and held.connection.address == "203.0.113.5"


def test_sdp_session_output_round_trips_through_the_parser():
    session = SdpSession("203.0.113.5")
    audio = answer_media(offer_media(BARESIP_OFFER), GATEWAY_AUDIO, port=30000)
    described = session.describe([audio])
    assert SessionDescription.parse(described.to_bytes()) == described


def test_identical_origin_means_the_remote_sdp_is_unchanged():
    previous = SessionDescription.parse(BARESIP_OFFER)
    assert sdp_unchanged(previous, SessionDescription.parse(BARESIP_OFFER))
    bumped = BARESIP_OFFER.replace("3040478452", "3040478453")
    assert not sdp_unchanged(previous, SessionDescription.parse(bumped))
