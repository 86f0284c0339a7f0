"""RFC 4475 SIP torture tests, each message re-typed from the RFC (§3).

Line breaks in the RFC text become CRLF (``wire``); bytes that the RFC marks as non-printable
or non-ASCII are spelled out with escapes so the messages stay byte-exact.
"""

from __future__ import annotations

import pytest

from webims.sip import (
    AbsoluteUri,
    Authorization,
    RemoteProtocolError,
    Request,
    Response,
    SipUri,
    parse_message,
    uri_equal,
)
from webims.sip.uri import unescape


def wire(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def sdp(ip: str, t: str = "0 0", extra: str = "") -> str:
    return (
        f"v=0\no=mhandley 29739 7272939 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt={t}\n"
        f"m=audio 49217 RTP/AVP 0 12\nm=video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n{extra}"
    )


# --- 3.1.1 Valid messages ------------------------------------------------------------------

WSINV = wire(
    "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n"
    "TO :\n"
    " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n"
    'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\n'
    "  ;\n"
    "  tag = 98asjd8\n"
    "MaX-fOrWaRdS: 0068\n"
    "Call-ID: wsinv.ndaksdj@192.0.2.1\n"
    "Content-Length   : 150\n"
    "cseq: 0009\n"
    "  INVITE\n"
    "Via  : SIP  /   2.0\n"
    " /UDP\n"
    "    192.0.2.2;branch=390skdjuw\n"
    "s :\n"
    "NewFangledHeader:   newfangled value\n"
    " continued newfangled value\n"
    "UnknownHeaderWithUnusualValue: ;;,,;;,;\n"
    "Content-Type: application/sdp\n"
    "Route:\n"
    " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\n"
    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n"
    "  branch  =   z9hG4bK9ikj8  ,\n"
    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n"
    " z9hG4bK30239\n"
    'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\n'
    "      newvalue ;\n"
    "  secondparam ; q = 0.33\n"
    "\n" + sdp("192.0.2.3").replace("c=IN IP4 192.0.2.3", "c=IN IP4 192.0.2.4")
)


def test_short_tortuous_invite_is_well_formed():
    m = parse_message(WSINV)
    assert isinstance(m, Request)
    assert m.uri.has_param("unknownparam") and m.uri.host == "chair-dnrc.example.com"
    assert m.to.tag == "1918181833n"
    assert m.from_.display_name == 'J Rosenberg \\"' and m.from_tag == "98asjd8"
    assert m.max_forwards == 68 and m.cseq.seq == 9 and m.cseq.method == "INVITE"
    vias = m.vias
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert m.headers.get("Subject") == ""
    assert m.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert m.route[0].uri.has_param("unknown-no-value")
    (contact,) = m.contacts
    assert contact.display_name == 'Quoted string ""'
    assert contact.param("newparam") == "newvalue" and contact.has_param("secondparam")
    assert contact.q == 0.33
    assert len(m.body) == 150 and m.body.startswith(b"v=0\r\n")


INTMETH_METHOD = "!interesting-Method0123456789_*+`.%indeed'~"
INTMETH_USER = "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
INTMETH = wire(
    f"{INTMETH_METHOD} sip:{INTMETH_USER}:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    "@example.com SIP/2.0\n"
    "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\n"
    f'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:{INTMETH_USER}@example.com>\n'
    "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;"
    "fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.\n"
    "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\n"
    f"CSeq: 139122385 {INTMETH_METHOD}\n"
    "Max-Forwards: 255\n"
    "extensionHeader-!.%*+_`'~:\ufeff大停電\n"
    "Content-Length: 0\n\n"
)


def test_wide_range_of_valid_characters_is_accepted_byte_for_byte():
    assert b"\x07 NUL:\\\x00 DEL:\\\x7f" in INTMETH  # the RFC's raw control bytes
    m = parse_message(INTMETH)
    assert m.method == INTMETH_METHOD and m.cseq.method == INTMETH_METHOD
    assert m.uri.user == INTMETH_USER
    assert m.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.branch == "z9hG4bK-.!%66*_+`'~"
    assert m.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert m.from_.param("fromParam''~+*_!.-%") == '"работающий"'
    assert m.from_tag == "_token~1'+`*%!-."
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert m.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"
    assert "\ufeff大停電".encode() in m.to_bytes()  # non-ASCII survives re-serialisation


ESC01 = wire(
    "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\n"
    "To: sip:%75se%72@example.com\n"
    "From: <sip:I%20have%20spaces@example.net>;tag=938\n"
    "Max-Forwards: 87\n"
    "i: esc01.239409asdfakjkn23onasd0-3234\n"
    "CSeq: 234234 INVITE\n"
    "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\n"
    "C: application/sdp\n"
    "Contact:\n"
    "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\n"
    "Content-Length: 150\n\n" + sdp("192.0.2.1")
)


def test_escaped_characters_are_kept_and_compare_as_their_characters():
    m = parse_message(ESC01)
    assert m.uri.user == "sips%3Auser%40example.com" and m.uri.host == "example.net"
    assert unescape(m.to.uri.user) == "user"
    assert uri_equal(m.to.uri, SipUri(user="user", host="example.com"))
    assert m.call_id == "esc01.239409asdfakjkn23onasd0-3234" and m.media_type == "application/sdp"
    contact = m.contacts[0].uri
    assert contact.has_param("%6C%72") and contact.param("n%61me") == "v%61lue%25%34%31"
    # unescaping is never recursive: the value is "value%41" (escaped: value%2541), not valueA
    assert uri_equal(contact, SipUri(user="caller", host="host5.example.net",
                                     params=(("lr", None), ("name", "value%2541"))))
    assert not uri_equal(contact, SipUri(user="caller", host="host5.example.net",
                                         params=(("lr", None), ("name", "valueA"))))


ESCNULL = wire(
    "REGISTER sip:example.com SIP/2.0\n"
    "To: sip:null-%00-null@example.com\n"
    "From: sip:null-%00-null@example.com;tag=839923423\n"
    "Max-Forwards: 70\n"
    "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\n"
    "CSeq: 14398234 REGISTER\n"
    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\n"
    "Contact: <sip:%00@host5.example.com>\n"
    "Contact: <sip:%00%00@host5.example.com>\n"
    "L:0\n\n"
)


def test_escaped_nulls_do_not_shorten_user_parts():
    m = parse_message(ESCNULL)
    assert m.to.uri.user == "null-%00-null"
    first, second = m.contacts
    assert (first.uri.user, second.uri.user) == ("%00", "%00%00")
    assert not uri_equal(first.uri, second.uri)


ESC02 = wire(
    "RE%47IST%45R sip:registrar.example.com SIP/2.0\n"
    'To: "%Z%45" <sip:resource@example.com>\n'
    'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23\n'
    "Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\n"
    "Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234\n"
    "CSeq: 29344 RE%47IST%45R\n"
    "Max-Forwards: 70\n"
    "Contact: <sip:alias1@host1.example.com>\n"
    "C%6Fntact: <sip:alias2@host2.example.com>\n"
    "Contact: <sip:alias3@host3.example.com>\n"
    "l: 0\n\n"
)


def test_percent_outside_uris_is_not_an_escape():
    m = parse_message(ESC02)
    assert m.method == "RE%47IST%45R" != "REGISTER"
    assert m.to.display_name == "%Z%45"
    assert [c.uri.user for c in m.contacts] == ["alias1", "alias3"]
    assert m.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


LWSDISP = wire(
    "OPTIONS sip:user@example.com SIP/2.0\n"
    "To: sip:user@example.com\n"
    "From: caller<sip:caller@example.com>;tag=323\n"
    "Max-Forwards: 70\n"
    "Call-ID: lwsdisp.1234abcd@funky.example.com\n"
    "CSeq: 60 OPTIONS\n"
    "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\n"
    "l: 0\n\n"
)


def test_display_name_without_space_before_angle_bracket_is_accepted():
    m = parse_message(LWSDISP)
    assert m.from_.display_name == "caller" and m.from_tag == "323"


LONG = "long" * 20
LONGREQ_VIAS = "".join(
    f"{name}: SIP/2.0/TCP sip{n}.example.com\n"
    for n, name in zip(
        range(33, 0, -1),
        ["Via", "v", "V", "Via", "ViA", "VIa", "VIA", "via", "viA", "vIa", "vIA", "V ",
         "v ", "V  ", "v  ", "Via ", "Via  "] + ["Via"] * 16,
    )
)
LONGREQ = wire(
    "INVITE sip:user@example.com SIP/2.0\n"
    'To: "I have a user name of ' + "extreme" * 10 + ' proportion"<sip:user@example.com:6000;'
    f"unknownparam1=very{LONG}value;longparam" + "name" * 25 + "=shortvalue;"
    f"very{LONG}longlonglonglonglongParameterNameWithNoValue>\n"
    "F: sip:" + "amazinglylongcallername" * 5 + "@example.net;tag=" + "1298" + "2982" * 38
    + "2424;unknownheaderparam" + "name" * 20 + "=unknowheaderparam" + "value" * 15
    + ";unknownValuelessparamname" + "paramname" * 9 + "\n"
    "Call-ID: longreq.one" + "really" * 20 + "longcallid\n"
    "CSeq: 3882340 INVITE\n"
    f"Unknown-{'Long' * 20}-Name: unknown-{LONG}-value; unknown-{LONG}-parameter-name = "
    f"unknown-{LONG}-parameter-value\n"
    + LONGREQ_VIAS
    + "Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very"
    + "long" * 50 + "branchvalue\n"
    "Max-Forwards: 70\n"
    "Contact: <sip:" + "amazinglylongcallername" * 5 + "@host5.example.net>\n"
    "Content-Type: application/sdp\n"
    "l: 150\n\n" + sdp("192.0.2.1")
)


def test_long_values_and_many_vias_are_accepted():
    m = parse_message(LONGREQ)
    assert m.to.uri.port == 6000 and m.to.uri.param("longparam" + "name" * 25) == "shortvalue"
    assert m.from_tag.startswith("1298") and m.from_.has_param(
        "unknownValuelessparamname" + "paramname" * 9
    )
    vias = m.vias
    assert len(vias) == 34
    assert [v.host for v in vias[:33]] == [f"sip{n}.example.com" for n in range(33, 0, -1)]
    assert vias[33].received == "192.0.2.5" and vias[33].branch.endswith("branchvalue")


DBLREQ = wire(
    "REGISTER sip:example.com SIP/2.0\n"
    "To: sip:j.user@example.com\n"
    "From: sip:j.user@example.com;tag=43251j3j324\n"
    "Max-Forwards: 8\n"
    "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\n"
    "Contact: sip:j.user@host.example.com\n"
    "CSeq: 8 REGISTER\n"
    "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\n"
    "Content-Length: 0\n\n"
    "INVITE sip:joe@example.com SIP/2.0\n"
    "t: sip:joe@example.com\n"
    "From: sip:caller@example.net;tag=141334\n"
    "Max-Forwards: 8\n"
    "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\n"
    "CSeq: 8 INVITE\n"
    "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 150\n\n" + sdp("192.0.2.15").replace("m=video", "m =video")
)


def test_octets_after_the_body_of_a_datagram_are_ignored():
    m = parse_message(DBLREQ)
    assert m.method == "REGISTER" and m.body == b""
    assert m.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"


SEMIURI = wire(
    "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\n"
    "To: sip:j_user@example.com\n"
    "From: sip:caller@example.org;tag=33242\n"
    "Max-Forwards: 3\n"
    "Call-ID: semiuri.0ha0isndaksdj\n"
    "CSeq: 8 OPTIONS\n"
    "Accept: application/sdp, application/pkcs7-mime,\n"
    "        multipart/mixed, multipart/signed,\n"
    "        message/sip, message/sipfrag\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\n"
    "l: 0\n\n"
)


def test_semicolon_in_user_part_belongs_to_the_user():
    m = parse_message(SEMIURI)
    assert m.uri.user == "user;par=u%40example.net" and m.uri.params == ()
    assert unescape(m.uri.user) == "user;par=u%40example.net"  # @ is reserved: stays escaped
    assert len(m.headers.get_all("Accept")) == 6


TRANSPORTS = wire(
    "OPTIONS sip:user@example.com SIP/2.0\n"
    "To: sip:user@example.com\n"
    "From: <sip:caller@example.com>;tag=323\n"
    "Max-Forwards: 70\n"
    "Call-ID:  transports.kijh4akdnaqjkwendsasfdj\n"
    "Accept: application/sdp\n"
    "CSeq: 60 OPTIONS\n"
    "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\n"
    "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\n"
    "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\n"
    "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\n"
    "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\n"
    "l: 0\n\n"
)


def test_unknown_transports_in_via_are_accepted():
    m = parse_message(TRANSPORTS)
    assert [v.transport for v in m.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert m.call_id == "transports.kijh4akdnaqjkwendsasfdj"


# The signed part of RFC 4475 §3.1.1.11: a DER blob full of NULs and high bytes.
MPART_BINARY = bytes.fromhex(
    "308201520609 2a864886f70d010702a082014330 82013f020101310930070605 2b0e03021a30"
    "0b06092a864886f70d010701318201203082011c020101307c3070310b3009060355040613025553"
    "31133011060355040813 0a43616c69666f726e6961311130 0f0603550407130853616e204a6f7365"
    "310e300c060355040a13057369706974312930270603 55040b13205369706974205465737420436572"
    "7469666963617465 20417574686f72697479020801950071023301133007 06052b0e03021a300d0609"
    "2a864886f70d0101010500048180 8ef466f948f0522dd2e5978e9d95aae9f2fe15a06659716292e8"
    "da2aa8d8350a68ceffae3cbd2bff1675ddd5648e593dd64728f26220f7e941749e330d9a15edabdb"
    "93d10c42102e7b7289d29cc0c9ae2efbc7c0cff9172f3b027e4fc027e1546de4b6aa3abb3e66cccb"
    "5dd6c64b8383149cb8e6ff182d944fe57b65bc99d005".replace(" ", "")
)
MPART_BODY = (
    b"--7a9cbec02ceef655\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary"
    b"\r\n\r\nHello\r\n--7a9cbec02ceef655\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n" + MPART_BINARY + b"\r\n--7a9cbec02ceef655--\r\n"
)
MPART01 = (
    wire(
        "MESSAGE sip:kumiko@example.org SIP/2.0\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport\n"
        "Max-Forwards: 70\n"
        "Route: <sip:127.0.0.1:5080>\n"
        "Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+"
        "813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFte"
        "eivUhkMWYUA=\n"
        "Contact: <sip:fluffy@127.0.0.1:5070>\n"
        "To: <sip:kumiko@example.org>\n"
        "From: <sip:fluffy@example.com>;tag=2fb0dcc9\n"
        "Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..\n"
        "CSeq: 1 MESSAGE\n"
        "Content-Transfer-Encoding: binary\n"
        "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655\n"
        "Date: Sat, 15 Oct 2005 04:44:56 GMT\n"
        "User-Agent: SIPimp.org/0.2.5 (curses)\n"
        f"Content-Length: {len(MPART_BODY)}\n\n"
    )
    + MPART_BODY
)


def test_binary_multipart_body_is_framed_by_content_length():
    assert b"\x00" in MPART_BINARY
    m = parse_message(MPART01)
    assert m.body == MPART_BODY
    assert m.top_via.port == 5070 and m.top_via.has_param("rport") and m.top_via.rport is None
    assert m.route[0].uri.port == 5080
    assert m.headers.get("Date") == "Sat, 15 Oct 2005 04:44:56 GMT"
    assert m.media_type == "multipart/mixed"


UNREASON_PHRASE = "= 2**3 * 5**2 но сто девяносто девять - простое"
UNREASON = wire(
    f"SIP/2.0 200 {UNREASON_PHRASE}\n"
    "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\n"
    "Call-ID: unreason.1234ksdfak3j2erwedfsASdf\n"
    "CSeq: 35 INVITE\n"
    "From: sip:user@example.com;tag=11141343\n"
    "To: sip:user@example.edu;tag=2229\n"
    "Content-Length: 154\n"
    "Content-Type: application/sdp\n"
    "Contact: <sip:user@host198.example.com>\n\n" + sdp("192.0.2.198")
)


def test_utf8_reason_phrase_is_accepted():
    m = parse_message(UNREASON)
    assert isinstance(m, Response) and m.status == 200 and m.reason == UNREASON_PHRASE
    assert len(m.body) == 154 and m.to_tag == "2229"


NOREASON = wire(
    "SIP/2.0 100\x20\n"
    "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\n"
    "Call-ID: noreason.asndj203insdf99223ndf\n"
    "CSeq: 35 INVITE\n"
    "From: <sip:user@example.com>;tag=39ansfi3\n"
    "To: <sip:user@example.edu>;tag=902jndnke3\n"
    "Content-Length: 0\n"
    "Contact: <sip:user@host105.example.com>\n\n"
)


def test_empty_reason_phrase_is_accepted():
    m = parse_message(NOREASON)
    assert (m.status, m.reason) == (100, "")
    assert m.to_bytes().startswith(b"SIP/2.0 100 \r\n")


# --- 3.1.2 Invalid messages ----------------------------------------------------------------

def request(lines: str, body: str = "") -> bytes:
    return wire(lines + "\n" + body)


INVALID = {
    "badinv01": request(
        "INVITE sip:user@example.com SIP/2.0\nTo: sip:j.user@example.com\n"
        "From: sip:caller@example.net;tag=134161461246\nMax-Forwards: 7\n"
        "Call-ID: badinv01.0ha0isndaksdjasdf3234nas\nCSeq: 8 INVITE\n"
        "Via: SIP/2.0/UDP 192.0.2.15;;,;,,\nContact: \"Joe\" <sip:joe@example.org>;;;;\n"
        "Content-Length: 152\nContent-Type: application/sdp\n", sdp("192.0.2.15")),
    "clerr": request(
        "INVITE sip:user@example.com SIP/2.0\nMax-Forwards: 80\nTo: sip:j.user@example.com\n"
        "From: sip:caller@example.net;tag=93942939o2\nContact: <sip:caller@hungry.example.net>\n"
        "Call-ID: clerr.0ha0isndaksdjweiafasdk3\nCSeq: 8 INVITE\n"
        "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\n"
        "Content-Type: application/sdp\nContent-Length: 9999\n", sdp("192.0.2.155")),
    "ncl": request(
        "INVITE sip:user@example.com SIP/2.0\nMax-Forwards: 254\nTo: sip:j.user@example.com\n"
        "From: sip:caller@example.net;tag=32394234\nCall-ID: ncl.0ha0isndaksdj2193423r542w35\n"
        "CSeq: 0 INVITE\nVia: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw\n"
        "Contact: <sip:caller@example53.example.net>\nContent-Type: application/sdp\n"
        "Content-Length: -999\n", sdp("192.0.2.53")),
    "scalar02": request(
        "REGISTER sip:example.com SIP/2.0\n"
        "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\n"
        "To: <sip:user@example.com>\nFrom: <sip:user@example.com>;tag=239232jh3\n"
        "CSeq: 36893488147419103232 REGISTER\nCall-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\n"
        "Max-Forwards: 300\nExpires: 1" + "0" * 100 + "\n"
        "Contact: <sip:user@host129.example.com>\n  ;expires=280297596632815\n"
        "Content-Length: 0\n"),
    "quotbal": request(
        "INVITE sip:user@example.com SIP/2.0\nTo: \"Mr. J. User <sip:j.user@example.com>\n"
        "From: sip:caller@example.net;tag=93334\nMax-Forwards: 10\nCall-ID: quotbal.aksdj\n"
        "Contact: <sip:caller@host59.example.net>\nCSeq: 8 INVITE\n"
        "Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234\n"
        "Content-Type: application/sdp\nContent-Length: 152\n", sdp("192.0.2.15")),
    "ltgtruri": request(
        "INVITE <sip:user@example.com> SIP/2.0\nTo: sip:user@example.com\n"
        "From: sip:caller@example.net;tag=39291\nMax-Forwards: 23\n"
        "Call-ID: ltgtruri.1@192.0.2.5\nCSeq: 1 INVITE\nVia: SIP/2.0/UDP 192.0.2.5\n"
        "Contact: <sip:caller@host5.example.net>\nContent-Type: application/sdp\n"
        "Content-Length: 159\n", sdp("192.0.2.5", t="3149328700 0")),
    "lwsruri": request(
        "INVITE sip:user@example.com; lr SIP/2.0\nTo: sip:user@example.com;tag=3xfe-9921883-z9f\n"
        "From: sip:caller@example.net;tag=231413434\nMax-Forwards: 5\n"
        "Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423\nCSeq: 2130706432 INVITE\n"
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395\n"
        "Contact: <sip:caller@host1.example.net>\nContent-Type: application/sdp\n"
        "Content-Length: 159\n", sdp("192.0.2.1", t="3149328700 0")),
    "lwsstart": request(
        "INVITE  sip:user@example.com  SIP/2.0\nMax-Forwards: 8\nTo: sip:user@example.com\n"
        "From: sip:caller@example.net;tag=8814\n"
        "Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com\nCSeq: 1893884 INVITE\n"
        "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923\n"
        "Contact: <sip:caller@host1.example.net>\nContent-Type: application/sdp\n"
        "Content-Length: 150\n", sdp("192.0.2.1")),
    "trws": request(
        "OPTIONS sip:remote-target@example.com SIP/2.0\x20\x20\n"
        "Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093\n"
        "To: <sip:remote-target@example.com>\n"
        "From: <sip:local-resource@example.com>;tag=329429089\n"
        "Call-ID: trws.oicu34958239neffasdhr2345r\nAccept: application/sdp\n"
        "CSeq: 238923 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n"),
    "escruri": request(
        "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\n"
        "To: sip:user@example.com\nFrom: sip:caller@example.net;tag=341518\nMax-Forwards: 7\n"
        "Contact: <sip:caller@host39923.example.net>\n"
        "Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5\nCSeq: 149209342 INVITE\n"
        "Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw\n"
        "Content-Type: application/sdp\nContent-Length: 150\n", sdp("192.0.2.1")),
    "regbadct": request(
        "REGISTER sip:example.com SIP/2.0\nTo: sip:user@example.com\n"
        "From: sip:user@example.com;tag=998332\nMax-Forwards: 70\n"
        "Call-ID: regbadct.k345asrl3fdbv@10.0.0.1\nCSeq: 1 REGISTER\n"
        "Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw\n"
        "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\nl: 0\n"),
    "badaspec": request(
        "OPTIONS sip:user@example.org SIP/2.0\n"
        "Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234\nMax-Forwards: 70\n"
        "From: \"Bell, Alexander\" <sip:a.g.bell@example.com>;tag=433423\n"
        "To: \"Watson, Thomas\" < sip:t.watson@example.org >\n"
        "Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3\nAccept: application/sdp\n"
        "CSeq: 3923239 OPTIONS\nl: 0\n"),
    "baddn": request(
        "OPTIONS sip:t.watson@example.org SIP/2.0\n"
        "Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw\nMax-Forwards:      70\n"
        "From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43\n"
        "To:      Watson, Thomas <sip:t.watson@example.org>\nCall-ID: baddn.31415@c.example.com\n"
        "Accept: application/sdp\nCSeq:    3923239 OPTIONS\nl: 0\n"),
    "mismatch01": request(
        "OPTIONS sip:user@example.com SIP/2.0\nTo: sip:j.user@example.com\n"
        "From: sip:caller@example.net;tag=34525\nMax-Forwards: 6\n"
        "Call-ID: mismatch01.dj0234sxdfl3\nCSeq: 8 INVITE\n"
        "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\nl: 0\n"),
    "mismatch02": request(
        "NEWMETHOD sip:user@example.com SIP/2.0\nTo: sip:j.user@example.com\n"
        "From: sip:caller@example.net;tag=34525\nMax-Forwards: 6\n"
        "Call-ID: mismatch02.dj0234sxdfl3\nCSeq: 8 INVITE\n"
        "Contact: <sip:caller@host.example.net>\n"
        "Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw\n"
        "Content-Type: application/sdp\nl: 138\n",
        "v=0\no=mhandley 29739 7272939 IN IP4 192.0.2.1\nc=IN IP4 192.0.2.1\n"
        "m=audio 49217 RTP/AVP 0 12\nm=video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n"),
    # §3.3: semantic errors the parser catches because the stack relies on these fields.
    "insuf": request(
        "INVITE sip:user@example.com SIP/2.0\nCSeq: 193942 INVITE\n"
        "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\nContent-Type: application/sdp\n"
        "l: 152\n", sdp("192.0.2.95")),
    "multi01": request(
        "INVITE sip:user@company.com SIP/2.0\nContact: <sip:caller@host25.example.net>\n"
        "Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw\nMax-Forwards: 70\nCSeq: 5 INVITE\n"
        "Call-ID: multi01.98asdh@192.0.2.1\nCSeq: 59 INVITE\nCall-ID: multi01.98asdh@192.0.2.2\n"
        "From: sip:caller@example.com;tag=3413415\nTo: sip:user@example.com\n"
        "To: sip:other@example.net\nFrom: sip:caller@example.net;tag=2923420123\n"
        "Content-Type: application/sdp\nl: 154\nContact: <sip:caller@host36.example.net>\n"
        "Max-Forwards: 5\n", sdp("192.0.2.25", extra="\n")),
    "mcl01": request(
        "OPTIONS sip:user@example.com SIP/2.0\n"
        "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423\nTo: sip:user@example.com\n"
        "From: sip:other@example.net;tag=3923942\nCall-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf\n"
        "CSeq: 15932 OPTIONS\nContent-Length: 13\nMax-Forwards: 60\nContent-Length: 5\n"
        "Content-Type: text/plain\n",
        "There's no way to know how many octets are supposed to be here.\n"),
}

INVALID_REASONS = {
    "badinv01": "Via", "clerr": "Content-Length", "ncl": "Content-Length", "scalar02": "CSeq",
    "quotbal": "quoted", "ltgtruri": "URI", "lwsruri": "Request-Line",
    "lwsstart": "Request-Line", "trws": "Request-Line", "escruri": "headers", "regbadct": "<>",
    "badaspec": "URI", "baddn": "display name", "mismatch01": "CSeq method",
    "mismatch02": "CSeq method", "insuf": "lacks", "multi01": "more than once",
    "mcl01": "Content-Length appears more than once",
}


def receive(data: bytes) -> Request | Response:
    """Parse as a UAS does before acting: addresses are parsed lazily, so read them too."""
    message = parse_message(data)
    message.from_, message.to, message.contacts, message.route  # noqa: B018
    return message


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_request_is_refused_with_400(name):
    with pytest.raises(RemoteProtocolError, match=INVALID_REASONS[name]) as caught:
        receive(INVALID[name])
    assert caught.value.status_hint == 400


@pytest.mark.parametrize("name", ["badaspec", "baddn", "quotbal", "regbadct"])
def test_malformed_addresses_are_found_when_first_read_not_while_framing(name):
    message = parse_message(INVALID[name])
    with pytest.raises(RemoteProtocolError):
        message.from_, message.to, message.contacts  # noqa: B018


BADVERS = request(
    "OPTIONS sip:t.watson@example.org SIP/7.0\n"
    "Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\nMax-Forwards:     70\n"
    "From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\n"
    "To:      T. Watson <sip:t.watson@example.org>\nCall-ID: badvers.31417@c.example.com\n"
    "CSeq:    1 OPTIONS\nl: 0\n"
)


def test_unknown_protocol_version_gets_505():
    with pytest.raises(RemoteProtocolError) as caught:
        parse_message(BADVERS)
    assert caught.value.status_hint == 505


SCALARLG = request(
    "SIP/2.0 503 Service Unavailable\n"
    "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129\n"
    "To: <sip:user@example.com>\nFrom: <sip:other@example.net>;tag=2easdjfejw\n"
    "CSeq: 9292394834772304023312 OPTIONS\n"
    "Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r\n"
    "Retry-After: 949302838503028349304023988\nWarning: 1812 overture \"In Progress\"\n"
    "Content-Length: 0\n"
)
BIGCODE = request(
    "SIP/2.0 4294967301 better not break the receiver\n"
    "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\n"
    "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i\nCSeq: 353494 INVITE\n"
    "From: <sip:user@example.com>;tag=39ansfi3\nTo: <sip:user@example.edu>;tag=902jndnke3\n"
    "Content-Length: 0\nContact: <sip:user@host105.example.com>\n"
)


@pytest.mark.parametrize("data", [SCALARLG, BIGCODE], ids=["scalarlg", "bigcode"])
def test_invalid_response_is_dropped_without_answer(data):
    with pytest.raises(RemoteProtocolError) as caught:
        parse_message(data)
    assert caught.value.status_hint is None


BADDATE = request(
    "INVITE sip:user@example.com SIP/2.0\nTo: sip:user@example.com\n"
    "From: sip:caller@example.net;tag=2234923\nMax-Forwards: 70\n"
    "Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234\nCSeq: 1392934 INVITE\n"
    "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\n"
    "Date: Fri, 01 Jan 2010 16:00:00 EST\nContact: <sip:caller@host5.example.net>\n"
    "Content-Type: application/sdp\nContent-Length: 150\n", sdp("192.0.2.5")
)


def test_non_gmt_date_is_kept_verbatim_since_the_parser_does_not_use_it():
    assert parse_message(BADDATE).headers.get("Date") == "Fri, 01 Jan 2010 16:00:00 EST"


# --- 3.2 Transaction layer, 3.3 application layer, 3.4 backward compatibility --------------

def test_branch_with_only_the_magic_cookie_parses():
    m = parse_message(request(
        "OPTIONS sip:user@example.com SIP/2.0\nTo: sip:user@example.com\n"
        "From: sip:caller@example.org;tag=33242\nMax-Forwards: 3\n"
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\nAccept: application/sdp\n"
        "Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n\nCSeq: 8 OPTIONS\nl: 0\n"))
    assert m.branch == "z9hG4bK"


def test_unknown_request_uri_schemes_stay_opaque():
    unkscm = parse_message(request(
        "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\nTo: sip:user@example.com\n"
        "From: sip:caller@example.net;tag=384\nMax-Forwards: 3\n"
        "Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34\nCSeq: 3923423 OPTIONS\n"
        "Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\nContent-Length: 0\n"))
    assert unkscm.uri == AbsoluteUri("nobodyknowsthisscheme", "totallyopaquecontent")
    novelsc = parse_message(request(
        "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\nTo: sip:user@example.com\n"
        "From: sip:caller@example.net;tag=384\nMax-Forwards: 3\n"
        "Call-ID: novelsc.asdfasser0q239nwsdfasdkl34\nCSeq: 3923423 OPTIONS\n"
        "Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\nContent-Length: 0\n"))
    assert novelsc.uri == AbsoluteUri("soap.beep", "//192.0.2.103:3002")


def test_unknown_uri_schemes_in_header_fields_are_accepted():
    m = parse_message(request(
        "REGISTER sip:example.com SIP/2.0\nTo: isbn:2983792873\n"
        "From: <http://www.example.com>;tag=3234233\n"
        "Call-ID: unksm2.daksdj@hyphenated-host.example.com\nCSeq: 234902 REGISTER\n"
        "Max-Forwards: 70\nVia: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\n"
        "Contact: <name:John_Smith>\nl: 0\n"))
    assert m.to.uri == AbsoluteUri("isbn", "2983792873")
    assert m.from_.uri == AbsoluteUri("http", "//www.example.com") and m.from_tag == "3234233"
    assert m.contacts[0].uri == AbsoluteUri("name", "John_Smith")


def test_unsupported_extensions_are_visible_to_the_application():
    m = parse_message(request(
        "OPTIONS sip:user@example.com SIP/2.0\nTo: sip:j_user@example.com\n"
        "From: sip:caller@example.net;tag=242etr\nMax-Forwards: 6\n"
        "Call-ID: bext01.0ha0isndaksdj\n"
        "Require: nothingSupportsThis, nothingSupportsThisEither\n"
        "Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis\nCSeq: 8 OPTIONS\n"
        "Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw\n"
        "Content-Length: 0\n"))
    assert list(m.tokens("Require")) == ["nothingSupportsThis", "nothingSupportsThisEither"]
    assert "noProxiesSupportThis" in m.tokens("Proxy-Require")


def test_unknown_content_type_and_accept_are_passed_up():
    invut = parse_message(request(
        "INVITE sip:user@example.com SIP/2.0\nContact: <sip:caller@host5.example.net>\n"
        "To: sip:j.user@example.com\nFrom: sip:caller@example.net;tag=8392034\n"
        "Max-Forwards: 70\nCall-ID: invut.0ha0isndaksdjadsfij34n23d\nCSeq: 235448 INVITE\n"
        "Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw\n"
        "Content-Type: application/unknownformat\nContent-Length: 40\n",
        '<audio>\n <pcmu port="443"/>\n</audio>\n'))
    assert invut.media_type == "application/unknownformat" and len(invut.body) == 40
    sdp01 = parse_message(request(
        "INVITE sip:user@example.com SIP/2.0\nTo: sip:j_user@example.com\n"
        "Contact: <sip:caller@host15.example.net>\nFrom: sip:caller@example.net;tag=234\n"
        "Max-Forwards: 5\nCall-ID: sdp01.ndaksdj9342dasdd\nAccept: text/nobodyKnowsThis\n"
        "CSeq: 8 INVITE\nVia: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw\n"
        "Content-Length: 150\nContent-Type: application/sdp\n", sdp("192.0.2.5")))
    assert sdp01.headers.get_all("Accept") == ["text/nobodyKnowsThis"]


def test_unknown_authorization_scheme_parses():
    m = parse_message(request(
        "REGISTER sip:example.com SIP/2.0\nTo: sip:j.user@example.com\n"
        "From: sip:j.user@example.com;tag=87321hj23128\nMax-Forwards: 8\n"
        "Call-ID: regaut01.0ha0isndaksdj\nCSeq: 9338 REGISTER\n"
        "Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw\n"
        "Authorization: NoOneKnowsThisScheme opaque-data=here\nContent-Length:0\n"))
    credentials = Authorization.parse(m.headers.get("Authorization"))
    assert credentials.scheme == "NoOneKnowsThisScheme"
    assert credentials.param("opaque-data") == "here"


def test_response_with_broadcast_via_parses_for_the_application_to_judge():
    m = parse_message(request(
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\n"
        "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23\n"
        "Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf\nCSeq: 35 INVITE\n"
        "From: sip:user@example.com;tag=11141343\nTo: sip:user@example.edu;tag=2229\n"
        "Content-Length: 154\nContent-Type: application/sdp\n"
        "Contact: <sip:user@host28.example.com>\n", sdp("192.0.2.198")))
    assert m.vias[1].host == "255.255.255.255"


def test_zero_max_forwards_is_visible():
    m = parse_message(request(
        "OPTIONS sip:user@example.com SIP/2.0\nTo: sip:user@example.com\n"
        "From: sip:caller@example.net;tag=3ghsd41\nCall-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas\n"
        "CSeq: 39234321 OPTIONS\nVia: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i\n"
        "Max-Forwards: 0\nContent-Length: 0\n"))
    assert m.max_forwards == 0


CPARAM = (
    "REGISTER sip:example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\nMax-Forwards: 70\n"
    "From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe\nTo: sip:watson@example.com\n"
    "Call-ID: cparam01.70710@saturn.example.com\nCSeq: 2 REGISTER\nContact: {}\nl: 0\n"
)


def test_contact_parameters_bind_to_header_or_uri_depending_on_angle_brackets():
    bare = parse_message(request(CPARAM.format("sip:+19725552222@gw1.example.net;unknownparam")))
    assert bare.contacts[0].has_param("unknownparam")
    assert not bare.contacts[0].uri.has_param("unknownparam")
    angled = parse_message(request(CPARAM.format("<sip:+19725552222@gw1.example.net;unknownparam>")))
    assert angled.contacts[0].uri.has_param("unknownparam")
    assert not angled.contacts[0].has_param("unknownparam")


def test_escaped_headers_in_contact_uri_are_kept():
    m = parse_message(request(
        "REGISTER sip:example.com SIP/2.0\nTo: sip:user@example.com\n"
        "From: sip:user@example.com;tag=8\nMax-Forwards: 70\n"
        "Call-ID: regescrt.k345asrl3fdbv@192.0.2.1\nCSeq: 14398234 REGISTER\n"
        "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\n"
        "M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>\nL:0\n"))
    assert m.contacts[0].uri.headers == (("Route", "%3Csip:sip.example.com%3E"),)


def test_rfc2543_invite_without_branch_max_forwards_or_content_length_parses():
    m = parse_message(request(
        "INVITE sip:UserB@example.com SIP/2.0\nVia: SIP/2.0/UDP iftgw.example.com\n"
        "From: <sip:+13035551111@ift.client.example.net;user=phone>\n"
        "Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>\n"
        "To: sip:+16505552222@ss1.example.net;user=phone\n"
        "Call-ID: inv2543.1717@ift.client.example.com\nCSeq: 56 INVITE\n"
        "Content-Type: application/sdp\n",
        "v=0\no=mhandley 29739 7272939 IN IP4 192.0.2.5\ns=-\nc=IN IP4 192.0.2.5\nt=0 0\n"
        "m=audio 49217 RTP/AVP 0\n"))
    assert m.branch is None and m.max_forwards is None and m.from_tag is None
    assert m.body.endswith(b"RTP/AVP 0\r\n")  # no Content-Length: body runs to the end
    assert m.to.param("user") == "phone"  # addr-spec: the parameter is the header's
    assert m.record_route[0].uri.param("maddr") == "ss1.example.com"
