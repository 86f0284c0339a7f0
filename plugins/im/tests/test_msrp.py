"""Sans-IO MSRP (RFC 4975/4976): two sessions wired together in memory, and the reader fed hostile bytes."""

import pytest

from webims.sip import make_challenge, verify
from webims_im.msrp import (
    FrameReader,
    Granted,
    MessageAborted,
    MessageAccepted,
    MessageFailed,
    MessageReceived,
    MsrpSession,
    MsrpUri,
    RelayAuthorization,
    RelayRefused,
    RemoteProtocolError,
    ReportReceived,
    Request,
    Response,
)
from webims_im.msrp import frames

ALICE = MsrpUri.parse("msrp://alicepc.example.com:7777/iau39soe2843z;tcp")
BOB = MsrpUri.parse("msrp://bob.example.com:8888/9di4eae923wzd;tcp")
TYPES = ("message/cpim", "text/plain")

RFC4975_SEND = (
    b"MSRP a786hjs2 SEND\r\n"
    b"To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
    b"From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
    b"Message-ID: 87652491\r\n"
    b"Byte-Range: 1-25/25\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"Hey Bob, are you there?\r\n"
    b"-------a786hjs2$\r\n")


def pair(**bob_options):
    alice = MsrpSession(ALICE, (BOB,), accept_types=TYPES, chunk_bytes=10)
    bob = MsrpSession(BOB, (ALICE,), accept_types=TYPES, **bob_options)
    return alice, bob


def pump(*sessions):
    """Move bytes both ways through real frame readers until nobody has anything to say."""
    readers = {id(session): FrameReader() for session in sessions}
    a, b = sessions
    while True:
        moved = False
        for sender, receiver in ((a, b), (b, a)):
            data = sender.data_to_send()
            if data:
                moved = True
                reader = readers[id(receiver)]
                reader.receive_data(data)
                while (frame := reader.next_frame()) is not None:
                    receiver.receive_frame(frame)
        if not moved:
            return


def events(session):
    found = []
    while (event := session.next_event()) is not None:
        found.append(event)
    return found


def test_the_rfc_4975_example_send_is_read_even_byte_by_byte():
    reader = FrameReader()
    frame = None
    for byte in RFC4975_SEND:
        assert frame is None
        reader.receive_data(bytes([byte]))
        frame = reader.next_frame()
    assert isinstance(frame, Request) and frame.method == "SEND"
    assert frame.body == b"Hey Bob, are you there?"
    assert (frame.message_id, str(frame.byte_range), frame.continuation) == ("87652491", "1-25/25", "$")
    assert frame.to_bytes() == RFC4975_SEND


def test_a_message_larger_than_a_chunk_arrives_whole_with_a_success_report():
    alice, bob = pair()
    text = "Grüße! " * 5
    alice.send_message("m1", "text/plain", text.encode())
    pump(alice, bob)
    assert events(bob) == [received := MessageReceived("m1", "text/plain", text.encode())]
    assert events(alice) == [MessageAccepted("m1")]
    bob.confirm(received)  # kept: now it may be reported delivered
    pump(alice, bob)
    assert events(alice) == [ReportReceived("m1", 200, "OK", "1-45/45")]


def test_chunks_of_two_messages_interleave():
    alice, bob = pair()
    alice.send_message("long", "text/plain", b"x" * 30)
    alice.send_message("short", "text/plain", b"hi")
    first, second = alice.data_to_send(), alice.data_to_send()
    assert b"Message-ID: long" in first and b"Message-ID: short" in second


def test_content_that_looks_like_an_end_line_does_not_end_the_frame():
    reader = FrameReader()
    body = b"before\r\n-------abcd1234X not the end"
    request = frames.request("SEND", (BOB,), (ALICE,), [("Message-ID", "m"), ("Content-Type", "text/plain")],
                             body, transaction_id="abcd1234")
    reader.receive_data(request.to_bytes())
    assert reader.next_frame().body == body


@pytest.mark.parametrize("data, words", [
    (b"HTTP/1.1 200 OK\r\n", "not an MSRP start line"),
    (b"MSRP x SEND\r\n", "not an MSRP start line"),
    (b"MSRP abcd SEND\r\nFrom-Path: msrp://a:1/s;tcp\r\nTo-Path: msrp://b:2/t;tcp\r\n-------abcd$\r\n",
     "To-Path and From-Path"),
    (b"MSRP abcd 200 OK\r\nTo-Path: msrp://a:1/s;tcp\r\nFrom-Path: msrp://b:2/t;tcp\r\nContent-Type: a/b\r\n\r\n"
     b"x\r\n-------abcd$\r\n", "no content"),
    (b"MSRP abcd SEND\r\nTo-Path: msrp://a:1/s;tcp\r\nFrom-Path: msrp://b:2/t;tcp\r\nbroken header\r\n"
     b"-------abcd$\r\n", "not an MSRP header"),
    (b"MSRP abcd SEND\r\nTo-Path: msrp://a:1/s;tcp\r\nFrom-Path: msrp://b:2/t;tcp\r\n" + b"x" * 300,
     "longer than 256"),
    (b"A" * 300, "within 256 bytes"),
])
def test_bad_framing_is_the_peers_error(data, words):
    reader = FrameReader(max_frame_bytes=256)
    with pytest.raises(RemoteProtocolError) as error:
        reader.receive_data(data)
        while reader.next_frame() is not None:
            pass
    assert words in error.value.reason


def test_a_message_over_the_limit_gets_413_and_the_sender_stops_sending_it():
    alice, bob = pair(max_message_bytes=20)
    alice.send_message("big", "text/plain", b"y" * 35)
    first_chunk = alice.data_to_send()
    reader = FrameReader()
    reader.receive_data(first_chunk)
    bob.receive_frame(reader.next_frame())
    assert events(bob) == [MessageAborted("big", "the message is larger than 20 bytes")]
    reader.receive_data(bob.data_to_send())
    alice.receive_frame(response := reader.next_frame())
    assert isinstance(response, Response) and response.status == 413
    assert events(alice) == [MessageFailed("big", 413, "Too Large")]
    assert alice.data_to_send() == b""  # the other two chunks never leave


def test_a_content_type_outside_accept_types_gets_415():
    alice, bob = pair()
    alice.send_message("img", "image/png", b"\x89PNG")
    pump(alice, bob)
    assert events(bob) == []
    assert events(alice) == [MessageFailed("img", 415, "Unsupported Media Type")]


def test_a_send_for_another_session_gets_481_and_one_from_a_stranger_403():
    alice, bob = pair()
    stranger = MsrpSession(MsrpUri.parse("msrp://evil:1/x;tcp"), (BOB,), accept_types=TYPES)
    lost = MsrpSession(ALICE, (MsrpUri.parse("msrp://bob.example.com:8888/other;tcp"),), accept_types=TYPES)
    stranger.send_message("s", "text/plain", b"hi")
    lost.send_message("l", "text/plain", b"hi")
    pump(stranger, bob)
    pump(lost, MsrpSession(MsrpUri.parse("msrp://bob.example.com:8888/other2;tcp"), (ALICE,), accept_types=TYPES))
    assert events(stranger) == [MessageFailed("s", 403, "From-Path is not this session's peer")]
    assert events(lost) == [MessageFailed("l", 481, "No Such Session")]


def test_an_abandoned_message_is_reported_as_aborted():
    alice, bob = pair()
    alice.send_message("a", "text/plain", b"z" * 25)
    reader = FrameReader()
    reader.receive_data(alice.data_to_send())
    first = reader.next_frame()
    bob.receive_frame(first)
    aborted = frames.request("SEND", (BOB,), (ALICE,), [("Message-ID", "a"), ("Byte-Range", "11-10/25"),
                                                        ("Content-Type", "text/plain")], b"", "#")
    bob.receive_frame(aborted)
    assert events(bob) == [MessageAborted("a", "the sender abandoned the message")]


def test_a_lost_connection_fails_what_was_in_flight_both_ways():
    alice, bob = pair()
    alice.send_message("out", "text/plain", b"q" * 25)
    reader = FrameReader()
    reader.receive_data(alice.data_to_send())
    bob.receive_frame(reader.next_frame())
    alice.connection_lost("the other side went away")
    bob.connection_lost("the other side went away")
    assert events(alice) == [MessageFailed("out", 0, "the other side went away")]
    assert events(bob) == [MessageAborted("out", "the other side went away")]


def test_unusable_content_is_answered_with_a_failure_report():
    alice, bob = pair()
    alice.send_message("m", "message/cpim", b"not cpim at all")
    pump(alice, bob)
    [received] = events(bob)
    bob.reject(received, 400, "not CPIM")
    pump(alice, bob)
    assert ReportReceived("m", 400, "not CPIM", "1-15/15") in events(alice)


def test_failure_report_no_means_no_response_at_all():
    alice, bob = pair()
    send = frames.request("SEND", (BOB,), (ALICE,), [("Message-ID", "n"), ("Failure-Report", "no"),
                                                     ("Content-Type", "text/plain")], b"hi")
    bob.receive_frame(send)
    assert bob.data_to_send() == b""
    assert events(bob) == [MessageReceived("n", "text/plain", b"hi")]


def test_an_abandoned_send_writes_no_more_chunks():
    alice, _ = pair()
    alice.send_message("slow", "text/plain", b"w" * 30)
    alice.data_to_send()
    alice.abandon("slow")
    assert alice.data_to_send() == b""
    assert events(alice) == [MessageFailed("slow", 408, "no response from the other side")]


def test_relay_auth_answers_the_digest_challenge_and_reads_the_use_path():
    relay = MsrpUri.parse("msrp://127.0.0.1:2855;tcp")
    auth = RelayAuthorization(relay, ALICE, "mary", "mary-secret")
    first = auth.first_request()
    assert first.method == "AUTH" and first.header("Authorization") is None
    challenge = frames.response_to(first, 401, headers=[("WWW-Authenticate", make_challenge("ims.test"))])
    second = auth.receive(challenge)
    assert verify(second.header("Authorization"), method="AUTH", password="mary-secret")
    assert f'uri="{relay}"' in second.header("Authorization")
    granted = auth.receive(frames.response_to(second, 200, headers=[
        ("Use-Path", "msrp://127.0.0.1:2855/s1;tcp"), ("Expires", "600")]))
    assert granted == Granted((MsrpUri.parse("msrp://127.0.0.1:2855/s1;tcp"),), 600)


def test_relay_auth_gives_up_after_repeated_challenges():
    auth = RelayAuthorization(MsrpUri.parse("msrp://r:1;tcp"), ALICE, "mary", "wrong")
    request = auth.first_request()
    with pytest.raises(RelayRefused) as refused:
        for _ in range(5):
            request = auth.receive(frames.response_to(request, 401, headers=[
                ("WWW-Authenticate", make_challenge("ims.test"))]))
    assert "credentials" in refused.value.reason


@pytest.mark.parametrize("text", ["http://x/y", "msrp://host:99999/s;tcp", "msrp://host/s", "msrp://:1/s;tcp"])
def test_uris_that_are_not_msrp_are_refused(text):
    with pytest.raises(RemoteProtocolError):
        MsrpUri.parse(text)


def test_uri_comparison_follows_rfc_4975_section_6_1():
    assert MsrpUri.parse("MSRP://Host.Example:1/Ab;TCP").matches(MsrpUri.parse("msrp://host.example:1/Ab;tcp"))
    assert not MsrpUri.parse("msrp://h:1/Ab;tcp").matches(MsrpUri.parse("msrp://h:1/ab;tcp"))
