"""Property tests: built messages survive the wire, and hostile bytes only ever raise
RemoteProtocolError.

Equality is the messages' own: method/status, reason, URI (scheme lowercased), headers
(names case-insensitive, values verbatim after trimming, order kept) and body bytes.
"""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webims.sip import (
    Headers,
    RemoteProtocolError,
    Request,
    Response,
    SipUri,
    StreamFramer,
    parse_message,
)

ALNUM = string.ascii_letters + string.digits
tokens = st.text(ALNUM + "-.!%*_+`'~", min_size=1, max_size=12)
labels = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
hostnames = st.lists(labels, min_size=1, max_size=4).map(".".join)
ipv6 = st.ip_addresses(v=6).map(lambda a: f"[{a}]")
hosts = st.one_of(hostnames, st.ip_addresses(v=4).map(str), ipv6)
users = st.text(ALNUM + "-_.!~*'()&=+$,;?/", min_size=1, max_size=12)
params = st.lists(st.tuples(tokens, st.none() | tokens), max_size=3).map(tuple)
uri_params = st.lists(
    st.tuples(st.text(ALNUM + "-_.", min_size=1, max_size=8),
              st.none() | st.text(ALNUM + "-_.", min_size=1, max_size=8)),
    max_size=3,
).map(tuple)
ports = st.none() | st.integers(0, 65535)
sip_uris = st.builds(
    lambda scheme, user, host, port, ps: SipUri(
        scheme=scheme, user=user, host=host, port=port, params=ps),
    st.sampled_from(["sip", "sips"]), st.none() | users, hosts, ports, uri_params,
)
# Header text: printable, any Unicode letter, no CR/LF, no surrounding whitespace.
field_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\n"), max_size=30
).map(str.strip)
methods = st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS",
                           "SUBSCRIBE", "NOTIFY", "MESSAGE", "PRACK", "UPDATE", "REFER"]) | tokens


@st.composite
def header_sets(draw, method: str) -> Headers:
    headers = Headers()
    for _ in range(draw(st.integers(1, 3))):
        port = draw(ports)
        headers.add("Via", f"SIP/2.0/{draw(st.sampled_from(['UDP', 'TCP', 'TLS', 'WSS']))} "
                           f"{draw(hosts)}{'' if port is None else f':{port}'}"
                           f";branch=z9hG4bK{draw(tokens)}")
    headers.add(draw(st.sampled_from(["From", "f"])), f"<{draw(sip_uris)}>;tag={draw(tokens)}")
    headers.add(draw(st.sampled_from(["To", "t"])), f'"{draw(st.text(ALNUM + " ", max_size=10))}"'
                                                     f" <{draw(sip_uris)}>")
    headers.add("Call-ID", draw(tokens) + draw(st.sampled_from(["", "@example.com"])))
    headers.add("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}")
    for _ in range(draw(st.integers(0, 4))):
        headers.add("X-" + draw(tokens), draw(field_text))
    return headers


@st.composite
def requests(draw) -> Request:
    method = draw(methods)
    return Request(method, draw(sip_uris), draw(header_sets(method)), draw(st.binary(max_size=64)))


@st.composite
def responses(draw) -> Response:
    reason = draw(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20))
    return Response(draw(st.integers(100, 699)), reason, draw(header_sets(draw(methods))),
                    draw(st.binary(max_size=64)))


messages = requests() | responses()


@given(messages)
def test_built_messages_survive_a_datagram_round_trip(message):
    assert parse_message(message.to_bytes()) == message


@given(st.lists(messages, min_size=1, max_size=3), st.data())
def test_built_messages_survive_a_stream_cut_anywhere(batch, data):
    wire = b"".join(m.to_bytes() for m in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=5)))
    framer, received = StreamFramer(), []
    for start, end in zip([0, *cuts], [*cuts, len(wire)]):
        if start == end:
            continue  # b"" would tell the framer the peer closed
        framer.receive_data(wire[start:end])
        while (event := framer.next_message()) is not None:
            received.append(event)
    assert received == batch


def read_everything(message) -> None:
    """Touch every typed view a stack might read."""
    message.from_, message.to, message.contacts, message.route, message.record_route
    message.max_forwards, message.expires, message.media_type, message.branch
    message.tokens("Supported"), message.name_addrs("P-Asserted-Identity")
    for contact in message.contacts:
        contact.expires, contact.q, contact.reg_id, contact.sip_instance
    for via in message.vias:
        via.rport, via.received


def survives(data: bytes) -> None:
    try:
        read_everything(parse_message(data))
    except RemoteProtocolError:
        pass
    framer = StreamFramer()
    framer.receive_data(data)
    try:
        while framer.next_message() is not None:
            pass
    except RemoteProtocolError:
        pass


@given(st.binary(max_size=2048))
def test_random_bytes_only_raise_remote_protocol_error(data):
    survives(data)


SEED = (
    b"INVITE sip:bob@biloxi.example.com;transport=tcp SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP pc33.example.com:5060;branch=z9hG4bK776;rport=5060\r\n"
    b"Max-Forwards: 70\r\nRoute: <sip:p.example.com;lr>\r\n"
    b'From: "A" <sip:alice@example.com>;tag=1928\r\nTo: <sip:bob@example.com>\r\n'
    b"Call-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\nSupported: 100rel\r\n"
    b'Contact: <sip:alice@pc33.example.com>;expires=60;q=0.5;reg-id=1;+sip.instance="<u>"\r\n'
    b"Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n"
)
interesting = st.sampled_from(list(b'\r\n :;,<>"\\@%=/\x00\xff0123456789') + list("²".encode()))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SEED)), st.integers(0, 3),
                          st.binary(max_size=4) | st.lists(interesting, max_size=3).map(bytes)),
                max_size=6))
def test_mutated_valid_messages_only_raise_remote_protocol_error(edits):
    data = bytearray(SEED)
    for position, deleted, inserted in edits:
        data[position:position + deleted] = inserted
    survives(bytes(data))
