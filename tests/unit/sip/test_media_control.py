"""RFC 5168 media_control bodies: the keyframe requests real phones send, the one we send, and bodies that must
be refused without harm (malformed, oversized, DTDs and entity tricks)."""

import pytest

from webims.sip.errors import RemoteProtocolError
from webims.sip.media_control import MAX_BODY_BYTES, MEDIA_TYPE, PICTURE_FAST_UPDATE, MediaControl

# As baresip's source documents it: open and close tags rather than an empty element.
BARESIP = b"""<?xml version="1.0" encoding="utf-8"?>
     <media_control>
       <vc_primitive>
         <to_encoder>
           <picture_fast_update>
           </picture_fast_update>
         </to_encoder>
       </vc_primitive>
     </media_control>
"""
# Asterisk (chan_pjsip): indented, CRLF, a space before "?>".
ASTERISK = (b'<?xml version="1.0" encoding="utf-8" ?>\r\n <media_control>\r\n  <vc_primitive>\r\n   <to_encoder>\r\n'
            b'    <picture_fast_update/>\r\n   </to_encoder>\r\n  </vc_primitive>\r\n </media_control>\r\n')
# Jami: on one line, naming the stream before the command.
JAMI = (b'<?xml version="1.0" encoding="utf-8" ?><media_control><vc_primitive> <stream_id>1</stream_id><to_encoder>'
        b'<picture_fast_update/></to_encoder></vc_primitive></media_control>')


@pytest.mark.parametrize("body", [BARESIP, ASTERISK, JAMI], ids=["baresip", "asterisk", "jami"])
def test_the_keyframe_requests_phones_send_are_read_as_such(body):
    assert MediaControl.parse(body).picture_fast_update


def test_the_streams_a_request_names_are_kept():
    assert MediaControl.parse(JAMI).stream_ids == ("1",)


def test_our_request_is_the_rfc_5168_command_and_reads_back():
    body = PICTURE_FAST_UPDATE.encode()
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>\r\n<media_control>')
    assert b"<vc_primitive>" in body and b"<to_encoder>" in body and b"<picture_fast_update/>" in body
    assert MediaControl.parse(body) == PICTURE_FAST_UPDATE
    assert MEDIA_TYPE == "application/media_control+xml"


def test_stream_ids_and_errors_are_escaped_and_read_back():
    control = MediaControl(picture_fast_update=True, stream_ids=("video<1>",), general_errors=("a & b",))
    assert b"video&lt;1&gt;" in control.encode()
    assert MediaControl.parse(control.encode()) == control


def test_an_error_report_asks_for_nothing_and_says_what_went_wrong():
    body = b"<media_control><general_error>Parse error in XML</general_error></media_control>"
    assert MediaControl.parse(body) == MediaControl(general_errors=("Parse error in XML",))


@pytest.mark.parametrize("body", [
    b"<media_control><picture_fast_update/></media_control>",                 # not inside a primitive
    b"<media_control><vc_primitive><to_decoder><picture_fast_update/></to_decoder></vc_primitive></media_control>",
    b"<media_control><vc_primitive><to_encoder><mute/></to_encoder></vc_primitive></media_control>",
    b"<media_control/>",
], ids=["loose", "to-decoder", "unknown-command", "empty"])
def test_a_well_formed_document_without_the_command_in_its_place_asks_for_nothing(body):
    assert MediaControl.parse(body) == MediaControl()


def test_elements_in_a_namespace_are_matched_by_their_local_name():
    body = (b'<m:media_control xmlns:m="urn:example"><m:vc_primitive><m:to_encoder><m:picture_fast_update/>'
            b'</m:to_encoder></m:vc_primitive></m:media_control>')
    assert MediaControl.parse(body).picture_fast_update


@pytest.mark.parametrize("body, words", [
    (b"", "not well-formed"),
    (b"picture_fast_update", "not well-formed"),  # what a regex-reading phone would take, we do not
    (b"<media_control><vc_primitive></media_control>", "not well-formed"),
    (b'<?xml version="1.0"?><media_control><vc_primitive><to_encoder><mute_state=1/></to_encoder>'
     b"</vc_primitive></media_control>", "not well-formed"),  # Jami's mute state, not XML
    (b"\xff\xfe<\x00m\x00", "not well-formed"),
    (b"<pidf><picture_fast_update/></pidf>", "root element is <pidf>"),
    (b"<media_control>&unknown;</media_control>", "not well-formed"),
])
def test_bodies_that_are_not_media_control_documents_are_refused_with_a_reason(body, words):
    with pytest.raises(RemoteProtocolError, match=words) as error:
        MediaControl.parse(body)
    assert error.value.status_hint == 400


def test_a_dtd_is_refused_so_no_entity_is_ever_expanded():
    laughs = (b'<?xml version="1.0"?><!DOCTYPE media_control [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;">]><media_control>&d;</media_control>')
    external = (b'<?xml version="1.0"?><!DOCTYPE media_control [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b"<media_control><general_error>&x;</general_error></media_control>")
    for body in (laughs, external):
        with pytest.raises(RemoteProtocolError, match="carries a DTD"):
            MediaControl.parse(body)


def test_an_oversized_body_is_refused_unread_with_413():
    body = b"<media_control>" + b" " * MAX_BODY_BYTES + b"</media_control>"
    with pytest.raises(RemoteProtocolError, match=f"at most {MAX_BODY_BYTES}") as error:
        MediaControl.parse(body)
    assert error.value.status_hint == 413
