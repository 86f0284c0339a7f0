"""CPIM (RFC 3862), IMDN (RFC 5438) and is-composing (RFC 3994) bodies: what is understood, what is refused."""

import pytest

from webims_im import content, cpim, imdn, iscomposing
from webims_im.errors import ContentError

RFC3862_EXAMPLE = (
    b"From: MR SANDERS <im:piglet@100akerwood.com>\r\n"
    b"To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n"
    b"DateTime: 2000-12-13T13:40:00-08:00\r\n"
    b"Subject: the weather will be fine today\r\n"
    b"\r\n"
    b"Content-type: text/plain\r\n"
    b"Content-ID: <1234567890@foo.com>\r\n"
    b"\r\n"
    b"Here is the text of my message.")


def test_the_rfc_3862_example_parses():
    message = cpim.parse(RFC3862_EXAMPLE)
    assert message.from_uri == "im:piglet@100akerwood.com"
    assert message.to_uri == "im:eeyore@100akerwood.com"
    assert message.header("subject") == "the weather will be fine today"
    assert message.content_type == "text/plain"
    assert message.content == b"Here is the text of my message."


def test_imdn_headers_are_found_whatever_prefix_the_sender_declared():
    body = (b"From: <sip:bob@ims.test>\r\nTo: <sip:mary@ims.test>\r\nNS: x <urn:ietf:params:imdn>\r\n"
            b"x.Message-ID: 34jk324j\r\nx.Disposition-Notification: positive-delivery, display\r\n\r\n"
            b"Content-Type: text/plain;charset=utf-8\r\n\r\nhi")
    text = content.interpret("message/cpim", body, max_bytes=4096)
    assert text == content.Text("hi", True, "34jk324j", frozenset({"positive-delivery", "display"}),
                                "sip:bob@ims.test", "sip:mary@ims.test")


def test_what_we_write_we_read_back():
    kind, body = content.compose_text("Grüße 👋\nline two", wrap=True, sender="sip:mary@ims.test",
                                      recipient="tel:+15550101", imdn_id="m1",
                                      notifications=frozenset({imdn.POSITIVE_DELIVERY, imdn.DISPLAY}))
    text = content.interpret(kind, body, max_bytes=4096)
    assert text.text == "Grüße 👋\nline two"
    assert (text.imdn_id, text.sender, text.recipient) == ("m1", "sip:mary@ims.test", "tel:+15550101")
    assert text.notifications == {"positive-delivery", "display"}


def test_plain_text_is_taken_as_utf8():
    assert content.interpret("text/plain; charset=UTF-8", "ça va".encode(), max_bytes=100).text == "ça va"
    assert content.interpret("text/plain", b"hi", max_bytes=100) == content.Text("hi")


@pytest.mark.parametrize("content_type, body, status, words", [
    ("text/plain", b"\xff\xfe broken", 400, "not valid UTF-8"),
    ("text/plain;charset=iso-8859-1", b"caf\xe9", 415, "charset"),
    ("text/plain", b"x" * 121, 413, "121 bytes"),
    ("text/html", b"<b>hi</b>", 415, "text/html"),
    ("text/plain", b"   ", 400, "no text"),
    ("message/cpim", b"From: <sip:a@b>\r\nno colon here\r\n\r\nContent-Type: text/plain\r\n\r\nx", 400, "not a"),
    ("message/cpim", b"From: <sip:a@b>\r\n", 400, "no empty line"),
    ("message/cpim", b"From: <sip:a@b>\r\n\r\nContent-Length: 3\r\n\r\nabc", 400, "no Content-Type"),
    ("message/cpim", b"From: <sip:a@b>\r\n\r\nContent-Type: text/plain\r\nContent-Length: 99\r\n\r\nabc", 400,
     "Content-Length"),
    ("message/cpim", b"From: \xff<sip:a@b>\r\n\r\nContent-Type: text/plain\r\n\r\nabc", 400, "not UTF-8"),
    ("message/cpim", b"NS: imdn <urn:ietf:params:imdn>\r\nimdn.Disposition-Notification: display\r\n\r\n"
                     b"Content-Type: text/plain\r\n\r\nabc", 400, "without an imdn.Message-ID"),
    ("message/cpim", b"From: <sip:a@b>\r\n\r\nContent-Type: image/png\r\n\r\n\x89PNG", 415, "image/png"),
])
def test_bad_bodies_are_refused_with_a_status_and_a_reason(content_type, body, status, words):
    with pytest.raises(ContentError) as error:
        content.interpret(content_type, body, max_bytes=120)
    assert error.value.status == status
    assert words in error.value.reason


def test_a_notification_round_trips_inside_cpim():
    notification = imdn.Notification("34jk324j", "display", "displayed", "2008-04-04T12:16:49-05:00",
                                     "sip:mary@ims.test")
    kind, body = content.compose_report(notification, sender="sip:mary@ims.test", recipient="sip:bob@ims.test",
                                        imdn_id="n1")
    report = content.interpret(kind, body, max_bytes=4096)
    assert report == content.Report(notification)
    assert cpim.parse(body).content_header("Content-Disposition") == "notification"
    assert cpim.parse(body).get(cpim.IMDN_NS, "Disposition-Notification") is None  # never asks for more


RFC5438_DELIVERED = b"""<?xml version="1.0" encoding="UTF-8"?>
<imdn xmlns="urn:ietf:params:xml:ns:imdn">
  <message-id>34jk324j</message-id>
  <datetime>2008-04-04T12:16:49-05:00</datetime>
  <recipient-uri>im:bob@example.com</recipient-uri>
  <original-recipient-uri>im:bob@example.com</original-recipient-uri>
  <delivery-notification><status><delivered/></status></delivery-notification>
</imdn>"""


def test_the_rfc_5438_delivery_example_parses():
    assert imdn.parse(RFC5438_DELIVERED) == imdn.Notification(
        "34jk324j", "delivery", "delivered", "2008-04-04T12:16:49-05:00", "im:bob@example.com",
        "im:bob@example.com")


@pytest.mark.parametrize("document, words", [
    (b"<imdn", "well-formed"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><imdn xmlns="urn:ietf:params:xml:ns:imdn">'
     b"<message-id>&a;</message-id></imdn>", "well-formed"),
    (b'<other xmlns="urn:ietf:params:xml:ns:imdn"/>', "root element"),
    (b'<imdn xmlns="urn:ietf:params:xml:ns:imdn"><datetime>x</datetime></imdn>', "no message-id"),
    (b'<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>1</message-id></imdn>', "no delivery"),
    (b'<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>1</message-id><display-notification><status>'
     b"<delivered/></status></display-notification></imdn>", "no status"),
])
def test_malformed_notifications_are_refused(document, words):
    with pytest.raises(ContentError) as error:
        imdn.parse(document)
    assert words in error.value.reason


def test_is_composing_round_trips_and_times_out_per_rfc_3994():
    kind, body = content.compose_typing(True, 60)
    typing = content.interpret(kind, body, max_bytes=4096)
    assert typing == content.Typing(iscomposing.Composing(True, 60, "text/plain"))
    assert iscomposing.parse(iscomposing.write(iscomposing.Composing(False))).expires_after == 120


@pytest.mark.parametrize("document", [
    b'<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>typing</state></isComposing>',
    b'<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>active</state>'
    b"<refresh>-5</refresh></isComposing>",
    b"<isComposing><state>active</state></isComposing>",
    b"not xml",
])
def test_malformed_is_composing_is_refused(document):
    with pytest.raises(ContentError):
        iscomposing.parse(document)


def test_cpim_relabelled_text_plain_by_a_network_store_is_still_read_as_cpim():
    # Kamailio's msilo stores message/cpim as text/plain and re-sends it so.
    kind, body = content.compose_text("stored", wrap=True, sender="sip:bob@ims.test", recipient="sip:mary@ims.test",
                                      imdn_id="s1", notifications=frozenset({"positive-delivery"}))
    text = content.interpret("text/plain", body, max_bytes=4096)
    assert (text.text, text.imdn_id, text.notifications) == ("stored", "s1", {"positive-delivery"})
    assert content.interpret("text/plain", b"From: <sip:x@y>\r\n\r\nlooks like headers", max_bytes=99).cpim is False
