from __future__ import annotations

import pytest

from webims.sip import (
    AbsoluteUri,
    LocalProtocolError,
    RemoteProtocolError,
    SipUri,
    TelUri,
    parse_uri,
    uri_equal,
)


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@example.com",
        "sips:alice:secret@example.com:5061;transport=tcp;lr?subject=hi&priority=urgent",
        "sip:[2001:db8::1]:5070;maddr=[2001:db8::2]",
        "sip:+15551234567@ims.example.net;user=phone",
        "sip:example.com",
        "tel:+1-555-123-4567;ext=22",
        "tel:7042;phone-context=example.com",
        "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    ],
)
def test_uri_text_survives_a_parse_and_str_round_trip(text):
    assert str(parse_uri(text)) == text


def test_sip_uri_components_are_split_as_rfc3261_defines():
    uri = parse_uri("sips:alice:secret@Example.COM:5061;transport=TCP;lr?Subject=hi")
    assert uri == SipUri(
        scheme="sips", user="alice", password="secret", host="Example.COM", port=5061,
        params=(("transport", "TCP"), ("lr", None)), headers=(("Subject", "hi"),),
    )
    assert uri.transport == "tcp" and uri.has_param("LR") and uri.param("lr") is None


def test_scheme_is_case_insensitive_and_lowercased():
    assert parse_uri("SIP:bob@example.com").scheme == "sip"


def test_ipv6_hosts_keep_their_brackets_and_bare_ones_gain_them():
    assert parse_uri("sip:alice@[2001:db8::10]:5060").host == "[2001:db8::10]"
    # RFC 5118 §4.3: inside the brackets ":5070" is part of the address, not a port
    ambiguous = parse_uri("sip:alice@[2001:db8::10:5070]")
    assert (ambiguous.host, ambiguous.port) == ("[2001:db8::10:5070]", None)
    assert str(SipUri(host="2001:db8::10", port=5060)) == "sip:[2001:db8::10]:5060"
    assert SipUri(host="[::1]").host_is_ip and not SipUri(host="example.com").host_is_ip


@pytest.mark.parametrize(
    "text",
    [
        "alice@example.com",  # no scheme
        "sip:alice@[2001:db8::10",
        "sip:alice@[2001:db8:::1]",
        "sip:alice@example.com:99999",
        "sip:alice@exa mple.com",
        "sip:al ice@example.com",
        "sip:alice@example.com;transport=",
        "sip:",
        "tel:1234",  # local number without phone-context (RFC 3966 §5.1.5)
        "tel:+",
        "mailto:<x>",
    ],
)
def test_malformed_uris_raise_remote_protocol_error(text):
    with pytest.raises(RemoteProtocolError):
        parse_uri(text)


def test_tel_uris_distinguish_global_and_local_numbers():
    global_number = parse_uri("tel:+1-555-123-4567")
    local_number = parse_uri("tel:7042;phone-context=example.com")
    assert isinstance(global_number, TelUri) and global_number.is_global
    assert global_number.digits == "+15551234567"
    assert not local_number.is_global and local_number.phone_context == "example.com"


def test_other_schemes_are_kept_opaque():
    assert parse_uri("urn:service:sos") == AbsoluteUri("urn", "service:sos")


def test_with_params_replaces_in_place_and_appends_new_ones():
    uri = parse_uri("sip:alice@example.com;transport=udp;lr")
    changed = uri.with_params(transport="tcp", ob=None)
    assert str(changed) == "sip:alice@example.com;transport=tcp;lr;ob"
    assert str(changed.without_params("LR", "ob")) == "sip:alice@example.com;transport=tcp"
    assert str(uri) == "sip:alice@example.com;transport=udp;lr"  # values never change


def test_constructing_an_invalid_uri_is_a_local_error():
    with pytest.raises(LocalProtocolError):
        SipUri(host="example.com", port=70000)
    with pytest.raises(ValueError):
        SipUri(scheme="http", host="example.com")


# RFC 3261 §19.1.4 examples of equivalent URIs
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
        ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"),
        ("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
         "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"),
        ("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
         "sip:alice@atlanta.com?priority=urgent&subject=project%20x"),
        ("sip:alice@[2001:db8::1]", "sip:alice@[2001:DB8:0::1]"),
        ("tel:+1-555-123-4567", "tel:+1.555.1234567"),
    ],
)
def test_equivalent_uris_compare_equal(a, b):
    assert uri_equal(parse_uri(a), parse_uri(b)) and uri_equal(parse_uri(b), parse_uri(a))


# RFC 3261 §19.1.4 examples of URIs that are not equivalent
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp;user=phone"),
        ("sip:bob@biloxi.com", "sips:bob@biloxi.com"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com;maddr=10.0.0.1"),
        ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),
        ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
        ("sip:a%40b@example.com", "sip:a%2540b@example.com"),  # decoding is not recursive
        ("tel:+15551234567", "sip:+15551234567@example.com"),
    ],
)
def test_different_uris_do_not_compare_equal(a, b):
    assert not uri_equal(parse_uri(a), parse_uri(b))
