"""Framing (datagrams and streams) and the limits that protect us from hostile peers."""

from __future__ import annotations

import pytest

from webims.sip import KeepAlive, Limits, RemoteProtocolError, Request, Response, StreamFramer, parse_message

HEAD = (
    "OPTIONS sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK74bf9\r\n"
    "From: <sip:alice@example.com>;tag=9fxced76sl\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: 3848276298220188511@192.0.2.1\r\n"
    "CSeq: 1 OPTIONS\r\n"
)


def message(body: bytes = b"", extra: str = "", length: int | None = None) -> bytes:
    length_line = "" if length is None else f"Content-Length: {length}\r\n"
    return (HEAD + extra + length_line + "\r\n").encode() + body


# --- datagrams ----------------------------------------------------------------------------

def test_datagram_body_runs_to_the_end_without_content_length():
    assert parse_message(message(b"hello")).body == b"hello"


def test_datagram_octets_beyond_content_length_are_discarded():
    assert parse_message(message(b"hello world", length=5)).body == b"hello"


def test_datagram_shorter_than_content_length_is_refused():
    with pytest.raises(RemoteProtocolError, match="exceeds") as caught:
        parse_message(message(b"hi", length=3))
    assert caught.value.status_hint == 400


@pytest.mark.parametrize("value", ["-1", "five", "1 2", "", "٣"])
def test_non_numeric_content_length_is_refused(value):
    with pytest.raises(RemoteProtocolError, match="Content-Length"):
        parse_message(message(extra=f"Content-Length: {value}\r\n"))


def test_leading_crlfs_before_the_start_line_are_ignored():
    assert isinstance(parse_message(b"\r\n\r\n" + message(length=0)), Request)


def test_folded_header_lines_are_unfolded_into_one_value():
    parsed = parse_message(message(extra="Subject: first\r\n \t second\r\n", length=0))
    assert parsed.headers.get("Subject") == "first second"


def test_header_section_without_blank_line_is_refused():
    with pytest.raises(RemoteProtocolError, match="empty line"):
        parse_message(HEAD.encode())


@pytest.mark.parametrize(
    "data",
    [b"", b"\r\n\r\n", b"garbage\r\n\r\n", b" INVITE sip:a@b SIP/2.0\r\n\r\n",
     HEAD.replace("CSeq: 1 OPTIONS\r\n", "CSeq 1 OPTIONS\r\n").encode() + b"\r\n",
     HEAD.replace("Via", " Via", 1).replace("OPTIONS sip", "OPTIONS sip").encode() + b"\r\n",
     HEAD.replace("\r\nTo:", "\nTo:").encode() + b"\r\n"],
    ids=["empty", "only-crlf", "garbage", "leading-space", "no-colon", "continuation-first",
         "bare-lf"],
)
def test_malformed_framing_raises_remote_protocol_error(data):
    with pytest.raises(RemoteProtocolError):
        parse_message(data)


def test_response_with_an_unknown_version_has_no_status_hint():
    data = message(length=0).replace(b"OPTIONS sip:bob@example.com SIP/2.0", b"SIP/3.0 200 OK")
    with pytest.raises(RemoteProtocolError, match="version") as caught:
        parse_message(data)
    assert caught.value.status_hint is None


def test_response_without_reason_phrase_or_space_is_tolerated():
    data = message(length=0).replace(b"OPTIONS sip:bob@example.com SIP/2.0", b"SIP/2.0 200")
    parsed = parse_message(data)
    assert isinstance(parsed, Response) and parsed.reason == ""


# --- limits -------------------------------------------------------------------------------

def test_oversized_datagram_is_refused_with_513():
    with pytest.raises(RemoteProtocolError, match="exceeds the limit of 1000") as caught:
        parse_message(message(b"x" * 1000), limits=Limits(max_message_size=1000))
    assert caught.value.status_hint == 513


def test_too_many_header_fields_are_refused_with_513():
    extra = "".join(f"X-H{n}: {n}\r\n" for n in range(20))
    with pytest.raises(RemoteProtocolError, match="header fields exceed") as caught:
        parse_message(message(extra=extra), limits=Limits(max_headers=20))
    assert caught.value.status_hint == 513


def test_too_long_header_line_is_refused_with_513():
    with pytest.raises(RemoteProtocolError, match="header line of") as caught:
        parse_message(message(extra="Subject: " + "x" * 200 + "\r\n"),
                      limits=Limits(max_line_length=100))
    assert caught.value.status_hint == 513


def test_too_long_request_line_is_refused_with_414():
    data = message().replace(b"sip:bob@example.com", b"sip:" + b"b" * 200 + b"@example.com", 1)
    with pytest.raises(RemoteProtocolError, match="start line") as caught:
        parse_message(data, limits=Limits(max_line_length=100))
    assert caught.value.status_hint == 414


def test_default_limits_accept_a_message_near_the_udp_maximum():
    body = b"x" * 60000
    assert parse_message(message(body, length=len(body))).body == body


# --- streams ------------------------------------------------------------------------------

def test_stream_framer_cuts_messages_fed_byte_by_byte():
    data = message(b"abc", length=3) * 2
    framer = StreamFramer()
    events = []
    for byte in data:
        framer.receive_data(bytes([byte]))
        while (event := framer.next_message()) is not None:
            events.append(event)
    assert [e.body for e in events] == [b"abc", b"abc"]


def test_stream_crlf_keep_alives_are_distinct_events():
    framer = StreamFramer()
    framer.receive_data(b"\r\n\r\n" + message(length=0) + b"\r\n")
    assert framer.next_message() == KeepAlive(ping=True)
    assert isinstance(framer.next_message(), Request)
    assert framer.next_message() == KeepAlive(ping=False)
    assert framer.next_message() is None


def test_stream_message_without_content_length_is_refused_and_the_error_sticks():
    framer = StreamFramer()
    framer.receive_data(message(b""))
    with pytest.raises(RemoteProtocolError, match="lacks Content-Length"):
        framer.next_message()
    framer.receive_data(message(length=0))
    with pytest.raises(RemoteProtocolError, match="lacks Content-Length"):
        framer.next_message()


def test_stream_refuses_an_oversized_message_before_buffering_its_body():
    framer = StreamFramer(limits=Limits(max_message_size=1000))
    framer.receive_data(message(length=5000))
    with pytest.raises(RemoteProtocolError) as caught:
        framer.next_message()
    assert caught.value.status_hint == 513


def test_stream_refuses_endless_headers():
    framer = StreamFramer(limits=Limits(max_message_size=1000))
    framer.receive_data(b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 200)
    with pytest.raises(RemoteProtocolError, match="exceeds the limit"):
        framer.next_message()


def test_stream_closed_mid_message_is_an_error_but_a_clean_close_is_not():
    framer = StreamFramer()
    framer.receive_data(message(b"ab", length=3))
    assert framer.next_message() is None
    framer.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match="closed"):
        framer.next_message()
    clean = StreamFramer()
    clean.receive_data(message(length=0))
    clean.receive_data(b"")
    assert isinstance(clean.next_message(), Request) and clean.next_message() is None
