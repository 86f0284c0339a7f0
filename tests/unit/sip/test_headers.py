from __future__ import annotations

import pytest

from webims.sip import (
    Authenticate,
    Authorization,
    Contact,
    CSeq,
    EventHeader,
    Headers,
    LocalProtocolError,
    NameAddr,
    Privacy,
    RemoteProtocolError,
    SipUri,
    SubscriptionState,
    TelUri,
    TokenList,
    Via,
)
from webims.sip.headers import canonical_name, split_list


def test_names_are_case_insensitive_and_compact_forms_expand():
    headers = Headers([("v", "SIP/2.0/UDP a"), ("call-id", "x"), ("X-Custom", "1")])
    assert [name for name, _ in headers] == ["Via", "Call-ID", "X-Custom"]
    assert headers.get("VIA") == headers.get("v") == "SIP/2.0/UDP a"
    assert "i" in headers and "x-custom" in headers and "Route" not in headers


@pytest.mark.parametrize(
    ("compact", "full"),
    [("i", "Call-ID"), ("m", "Contact"), ("e", "Content-Encoding"), ("l", "Content-Length"),
     ("f", "From"), ("t", "To"), ("v", "Via"), ("s", "Subject"), ("k", "Supported"),
     ("c", "Content-Type"), ("o", "Event"), ("u", "Allow-Events"), ("r", "Refer-To"),
     ("b", "Referred-By"), ("x", "Session-Expires"), ("y", "Identity")],
)
def test_every_compact_form_maps_to_its_full_name(compact, full):
    assert canonical_name(compact) == canonical_name(compact.upper()) == full


def test_values_are_kept_verbatim_and_in_order():
    headers = Headers([("Via", "a"), ("To", "b"), ("Via", "c , d")])
    assert list(headers) == [("Via", "a"), ("To", "b"), ("Via", "c , d")]
    assert headers.get_all("Via") == ["a", "c", "d"]


def test_only_list_headers_are_split_and_quotes_and_brackets_are_respected():
    headers = Headers([
        ("Contact", '"Doe, John" <sip:j@a.com;x=1,2>;q=0.5, <sip:k@b.com>'),
        ("WWW-Authenticate", 'Digest realm="a", nonce="b"'),
        ("Date", "Sat, 13 Nov 2010 23:29:00 GMT"),
    ])
    assert headers.get_all("Contact") == ['"Doe, John" <sip:j@a.com;x=1,2>;q=0.5', "<sip:k@b.com>"]
    assert headers.get_all("WWW-Authenticate") == ['Digest realm="a", nonce="b"']
    assert headers.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert split_list('"a\\", b", c') == ['"a\\", b"', "c"]


def test_set_replaces_all_fields_at_the_first_position_and_remove_drops_all():
    headers = Headers([("Route", "a"), ("To", "t"), ("Route", "b")])
    headers.set("route", "c")
    assert list(headers) == [("Route", "c"), ("To", "t")]
    headers.set("Subject", "new")
    assert list(headers)[-1] == ("Subject", "new")
    headers.remove("ROUTE")
    headers.remove("Absent")
    assert list(headers) == [("To", "t"), ("Subject", "new")]


def test_insert_puts_a_new_top_via_before_existing_ones():
    headers = Headers([("To", "t"), ("Via", "old")])
    headers.insert("Via", "new")
    assert headers.get_all("Via") == ["new", "old"]


def test_header_injection_and_content_length_are_refused():
    headers = Headers()
    with pytest.raises(LocalProtocolError):
        headers.add("Subject", "hi\r\nVia: evil")
    with pytest.raises(LocalProtocolError):
        headers.add("Bad Name", "x")
    with pytest.raises(LocalProtocolError):
        headers.add("l", "5")


def test_equality_ignores_name_case_but_not_order():
    assert Headers([("to", "a"), ("From", "b")]) == Headers([("To", "a"), ("f", "b")])
    assert Headers([("To", "a"), ("From", "b")]) != Headers([("From", "b"), ("To", "a")])


def test_cache_is_dropped_when_headers_change():
    headers = Headers([("CSeq", "1 INVITE")])
    assert headers.cache("cseq", lambda h: CSeq.parse(h.get("CSeq"))) == CSeq(1, "INVITE")
    headers.set("CSeq", "2 INVITE")
    assert headers.cache("cseq", lambda h: CSeq.parse(h.get("CSeq"))) == CSeq(2, "INVITE")


# --- NameAddr -----------------------------------------------------------------------------

def test_name_addr_with_quoted_display_name_unescapes_it():
    address = NameAddr.parse('"Alice \\"Al\\" Smith" <sip:alice@atlanta.com>;tag=1928301774')
    assert address.display_name == 'Alice "Al" Smith'
    assert address.uri == SipUri(user="alice", host="atlanta.com") and address.tag == "1928301774"
    assert str(address) == '"Alice \\"Al\\" Smith" <sip:alice@atlanta.com>;tag=1928301774'


def test_addr_spec_parameters_belong_to_the_header_not_the_uri():
    address = NameAddr.parse("sip:bob@biloxi.com;tag=a6c85cf")
    assert address.tag == "a6c85cf" and address.uri.params == ()
    assert str(address) == "<sip:bob@biloxi.com>;tag=a6c85cf"


def test_token_display_names_and_tel_uris_parse():
    address = NameAddr.parse("Bob Smith <tel:+15551234567>")
    assert address.display_name == "Bob Smith" and isinstance(address.uri, TelUri)


def test_with_tag_gives_a_new_value():
    address = NameAddr(None, SipUri(host="example.com"))
    assert str(address.with_tag("x1")) == "<sip:example.com>;tag=x1" and address.tag is None


@pytest.mark.parametrize(
    "text",
    ['"unterminated <sip:a@b>', "Bell, Alexander <sip:a@b>", "< sip:a@b >", "<sip:a@b",
     '"x" sip:a@b', "<sip:a@b>;;", "<sip:a@b>;tag=", "sip:a@b?x=y", ""],
)
def test_malformed_addresses_raise_remote_protocol_error(text):
    with pytest.raises(RemoteProtocolError):
        NameAddr.parse(text)


# --- Contact ------------------------------------------------------------------------------

def test_contact_exposes_outbound_and_registration_parameters():
    (contact,) = Contact.parse_list(split_list(
        '<sip:alice@192.0.2.10;transport=tcp;ob>;expires=600;q=0.7;reg-id=1;'
        '+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"'
    ))
    assert contact.expires == 600 and contact.q == 0.7 and contact.reg_id == 1
    assert contact.sip_instance == "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"
    assert contact.uri.has_param("ob")


def test_wildcard_contact_has_no_uri():
    (star,) = Contact.parse_list(["*"])
    assert star.is_wildcard and str(star) == "*"


def test_overlarge_or_malformed_expires_reads_as_absent():
    assert Contact.parse("<sip:a@b>;expires=280297596632815").expires is None
    assert Contact.parse("<sip:a@b>;expires=soon").expires is None


# --- Via, CSeq ----------------------------------------------------------------------------

def test_via_parses_sent_protocol_sent_by_and_params():
    via = Via.parse("SIP/2.0/wss example.invalid:443;branch=z9hG4bK776;rport=5060;received=192.0.2.1")
    assert (via.protocol, via.transport, via.host, via.port) == ("SIP/2.0", "WSS", "example.invalid", 443)
    assert (via.branch, via.rport, via.received) == ("z9hG4bK776", 5060, "192.0.2.1")
    assert str(via) == "SIP/2.0/WSS example.invalid:443;branch=z9hG4bK776;rport=5060;received=192.0.2.1"


def test_via_with_ipv6_sent_by_and_bare_rport():
    via = Via.parse("SIP/2.0/UDP [2001:db8::9:1]:5060;rport;branch=z9hG4bKas3")
    assert via.sent_by == ("[2001:db8::9:1]", 5060) and via.has_param("rport") and via.rport is None


@pytest.mark.parametrize("text", ["SIP/2.0 host", "SIP/2.0/UDP", "SIP/2.0/UDP host:99999", "x"])
def test_malformed_via_raises(text):
    with pytest.raises(RemoteProtocolError):
        Via.parse(text)


def test_cseq_bounds_follow_rfc3261():
    assert CSeq.parse(" 0009  INVITE ") == CSeq(9, "INVITE")
    with pytest.raises(RemoteProtocolError):
        CSeq.parse(str(2**31) + " INVITE")
    with pytest.raises(LocalProtocolError):
        CSeq(2**31, "INVITE")


# --- Authentication -----------------------------------------------------------------------

def test_challenge_params_are_unquoted_and_requoted_by_rfc7616_rules():
    challenge = Authenticate.parse(
        'Digest realm="ims.example.net", nonce="a\\"b", qop="auth,auth-int", '
        "algorithm=SHA-256, stale=TRUE"
    )
    assert challenge.scheme == "Digest" and challenge.param("NONCE") == 'a"b'
    assert str(challenge) == (
        'Digest realm="ims.example.net", nonce="a\\"b", qop="auth,auth-int", '
        "algorithm=SHA-256, stale=TRUE"
    )


def test_credentials_keep_qop_and_nc_unquoted():
    credentials = Authorization("Digest", (("username", "bob"), ("qop", "auth"), ("nc", "00000001")))
    assert str(credentials) == 'Digest username="bob", qop=auth, nc=00000001'
    assert Authorization.parse(str(credentials)) == credentials


@pytest.mark.parametrize("text", ["", "Digest realm", 'Digest realm="x" nonce="y"', "Digest ,"])
def test_malformed_challenges_raise(text):
    with pytest.raises(RemoteProtocolError):
        Authenticate.parse(text)


# --- Events, Privacy, token lists ---------------------------------------------------------

def test_event_and_subscription_state_expose_their_parameters():
    event = EventHeader.parse("presence.winfo;id=42")
    assert event.package == "presence.winfo" and event.id == "42"
    state = SubscriptionState.parse("Terminated;reason=timeout;retry-after=30")
    assert (state.state, state.reason, state.retry_after, state.expires) == (
        "terminated", "timeout", 30, None)
    assert str(SubscriptionState.parse("active;expires=3600")) == "active;expires=3600"


def test_privacy_values_are_case_insensitive():
    privacy = Privacy.parse("id; Header")
    assert "header" in privacy and "ID" in privacy and "user" not in privacy
    assert str(privacy) == "id;header"
    with pytest.raises(RemoteProtocolError):
        Privacy.parse("id;;")


def test_token_lists_are_case_sensitive_and_validated():
    supported = TokenList.parse("100rel, timer,path")
    assert list(supported) == ["100rel", "timer", "path"] and "Timer" not in supported
    assert str(supported) == "100rel, timer, path"
    with pytest.raises(RemoteProtocolError):
        TokenList.parse("100rel, <bad>")
