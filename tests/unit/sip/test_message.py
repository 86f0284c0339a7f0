from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from webims.sip import (
    CSeq,
    LocalProtocolError,
    NameAddr,
    Request,
    Response,
    SipUri,
    TelUri,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
    parse_message,
)


def invite(**extra: str) -> Request:
    return Request(
        "INVITE",
        SipUri(user="bob", host="biloxi.example.com"),
        [
            ("Via", "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKnashds7;rport"),
            ("Via", "SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"),
            ("Max-Forwards", "70"),
            ("Route", "<sip:pcscf.atlanta.example.com;lr>, <sip:scscf.atlanta.example.com;lr>"),
            ("Record-Route", "<sip:rr.atlanta.example.com;lr>"),
            ("From", '"Alice" <sip:alice@atlanta.example.com>;tag=1928301774'),
            ("To", "Bob <sip:bob@biloxi.example.com>"),
            ("Call-ID", "a84b4c76e66710@pc33.atlanta.example.com"),
            ("CSeq", "314159 INVITE"),
            ("Contact", "<sip:alice@pc33.atlanta.example.com;ob>;expires=3600"),
            ("Expires", "120"),
            ("Supported", "100rel, timer"),
            ("Content-Type", "application/SDP; charset=utf-8"),
            *extra.items(),
        ],
        b"v=0\r\n",
    )


def test_typed_views_read_the_fields_the_stack_needs():
    request = invite()
    assert request.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert request.cseq == CSeq(314159, "INVITE")
    assert request.from_.display_name == "Alice" and request.from_tag == "1928301774"
    assert request.to.display_name == "Bob" and request.to_tag is None
    assert [v.transport for v in request.vias] == ["WSS", "TCP"]
    assert request.top_via.host == "df7jal23ls0d.invalid" and request.branch == "z9hG4bKnashds7"
    assert [str(r.uri) for r in request.route] == [
        "sip:pcscf.atlanta.example.com;lr", "sip:scscf.atlanta.example.com;lr"]
    assert request.record_route[0].uri.host == "rr.atlanta.example.com"
    assert request.contacts[0].expires == 3600 and request.contacts[0].uri.has_param("ob")
    assert (request.max_forwards, request.expires) == (70, 120)
    assert request.content_type == "application/SDP; charset=utf-8"
    assert request.media_type == "application/sdp"
    assert "timer" in request.tokens("Supported")


def test_absent_optional_fields_read_as_none_and_missing_required_ones_raise():
    request = Request("OPTIONS", SipUri(host="example.com"))
    assert request.max_forwards is None and request.expires is None
    assert request.content_type is None and request.contacts == [] and request.route == []
    with pytest.raises(LocalProtocolError, match="Call-ID"):
        request.call_id
    with pytest.raises(LocalProtocolError, match="Via"):
        request.top_via


def test_to_bytes_writes_content_length_last_and_the_body_after_the_blank_line():
    data = invite().to_bytes()
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\nVia: ")
    assert head.endswith(b"\r\nContent-Length: 5") and body == b"v=0\r\n"


def test_response_to_bytes_writes_the_status_line():
    response = Response(486, "Busy Here", [("Via", "SIP/2.0/UDP a;branch=z9hG4bKx")])
    assert response.to_bytes().startswith(b"SIP/2.0 486 Busy Here\r\nVia:")
    assert response.is_final and not response.is_provisional


def test_copy_gives_headers_that_can_change_without_touching_the_original():
    request = invite()
    changed = request.copy()
    changed.headers.set("Max-Forwards", "69")
    assert request.max_forwards == 70 and changed.max_forwards == 69
    assert request != changed and request == invite()


def test_typed_views_follow_header_changes():
    request = invite()
    assert request.cseq.seq == 314159
    request.headers.set("CSeq", "314160 INVITE")
    assert request.cseq.seq == 314160


def test_messages_are_frozen_values():
    request = invite()
    with pytest.raises(AttributeError):
        request.method = "BYE"  # type: ignore[misc]


def test_invalid_start_lines_are_refused_when_built():
    with pytest.raises(LocalProtocolError):
        Request("IN VITE", SipUri(host="example.com"))
    with pytest.raises(LocalProtocolError):
        Response(99, "Too Low")
    with pytest.raises(LocalProtocolError):
        Response(200, "OK\r\nVia: x")


def test_make_response_copies_the_rfc3261_fields_and_adds_the_to_tag():
    response = make_response(invite(), 180, to_tag="a6c85cf", headers=[("Contact", "<sip:b@c>")])
    assert (response.status, response.reason) == (180, "Ringing")
    assert [name for name, _ in response.headers] == [
        "Via", "Via", "From", "To", "Call-ID", "CSeq", "Contact"]
    assert response.headers.get_all("Via") == invite().headers.get_all("Via")
    assert response.to_tag == "a6c85cf" and response.to.display_name == "Bob"
    assert response.cseq == invite().cseq and response.call_id == invite().call_id
    assert "Record-Route" not in response.headers  # the dialog layer decides (§12.1.1)


def test_make_response_keeps_an_existing_to_tag():
    request = invite()
    request.headers.set("To", "<sip:bob@biloxi.example.com>;tag=old")
    assert make_response(request, 200, to_tag="new").to_tag == "old"


def test_make_response_copies_timestamp_into_100_trying_only():
    request = invite(Timestamp="54")
    assert make_response(request, 100).headers.get("Timestamp") == "54"
    assert "Timestamp" not in make_response(request, 200, "Fine").headers


def test_make_response_copies_a_malformed_to_untouched_for_a_400():
    data = invite().to_bytes().replace(b"To: Bob <sip:", b'To: "Bob <sip:')
    response = make_response(parse_message(data), 400, to_tag="x")
    assert response.headers.get("To") == '"Bob <sip:bob@biloxi.example.com>'
    assert response.reason == "Bad Request"


def test_identifiers_are_random_and_well_formed():
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100 and all(b.startswith("z9hG4bK") for b in branches)
    assert len({new_tag() for _ in range(100)}) == 100
    assert new_call_id("example.com").endswith("@example.com")
    assert re.fullmatch(r"[0-9a-f]{32}", new_call_id())


def test_requests_accept_tel_request_uris():
    request = Request("INVITE", TelUri("+15551234567"))
    assert request.to_bytes().startswith(b"INVITE tel:+15551234567 SIP/2.0\r\n")


def test_name_addrs_reads_any_address_list_header():
    request = invite(**{"P-Associated-URI": "<sip:+1555@ims.example.net>, <tel:+1555>"})
    assert [str(a) for a in request.name_addrs("p-associated-uri")] == [
        "<sip:+1555@ims.example.net>", "<tel:+1555>"]
    assert request.name_addrs("Service-Route") == []
    assert isinstance(request.name_addrs("P-Associated-URI")[1], NameAddr)


IO_MODULES = ("socket", "trio", "asyncio", "selectors", "ssl")


def test_sip_package_imports_no_io_module():
    # A fresh, isolated interpreter: what is loaded afterwards was loaded by webims.sip.
    code = f"""
import json, pkgutil, importlib, sys
before = set(sys.modules)
import webims.sip
for info in pkgutil.iter_modules(webims.sip.__path__, "webims.sip."):
    importlib.import_module(info.name)
print(json.dumps(sorted(m for m in set(sys.modules) - before if m.split(".")[0] in {IO_MODULES!r})))
"""
    env_path = [p for p in sys.path if p]
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:0] = {env_path!r}\n{code}"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(result.stdout) == []
