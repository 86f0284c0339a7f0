"""Dialogs (RFC 3261 §12): creation on both sides, routing, target refresh, CSeq, forking,
PRACK ordering (RFC 3262 §4) and the offer/answer rules behind 491 and 500 (RFC 3311)."""

import pytest

from webims.sip.dialog import Dialog, DialogId, DialogSet, DialogState, Negotiation, Reject
from webims.sip.errors import LocalProtocolError, RemoteProtocolError
from webims.sip.message import Request, make_response
from webims.sip.uri import SipUri, parse_uri

ALICE_CONTACT = "<sip:alice@pc33.atlanta.example.com>"
BOB_CONTACT = "<sip:bob@192.0.2.4>"
SDP = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


def invite(*, body=SDP, record_route=(), seq=314159, method="INVITE"):
    headers = [
        ("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8"),
        ("Max-Forwards", "70"),
        ("To", "Bob <sip:bob@biloxi.example.com>"),
        ("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
        ("Call-ID", "a84b4c76e66710"),
        ("CSeq", f"{seq} {method}"),
        ("Contact", ALICE_CONTACT),
        *(("Record-Route", rr) for rr in record_route),
    ]
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return Request(method, SipUri(user="bob", host="biloxi.example.com"), headers, body)


def answer(request, status, *, tag="a6c85cf", contact=BOB_CONTACT, body=b"", extra=()):
    headers = [*(("Record-Route", rr) for rr in request.headers.get_all("Record-Route"))]
    headers += [("Contact", contact)] if contact else []
    headers += [("Content-Type", "application/sdp")] if body else []
    return make_response(request, status, to_tag=tag, headers=[*headers, *extra], body=body)


def reliable(request, status=183, rseq=1, body=b"", tag="a6c85cf"):
    extra = [("Require", "100rel"), ("RSeq", str(rseq))]
    return answer(request, status, tag=tag, body=body, extra=extra)


def in_dialog(dialog_of_peer_request, method, *, seq, contact=None, body=b"", headers=()):
    """A request from Bob to Alice inside the dialog Alice holds."""
    fields = [
        ("Via", "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKbob" + str(seq)),
        ("From", "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"),
        ("To", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
        ("Call-ID", "a84b4c76e66710"),
        ("CSeq", f"{seq} {method}"),
        *headers,
    ]
    fields += [("Contact", contact)] if contact else []
    fields += [("Content-Type", "application/sdp")] if body else []
    return Request(method, SipUri(user="alice", host="pc33.atlanta.example.com"), fields, body)


def from_caller(dialog_of_uas, method, *, seq, body=b"", headers=()):
    """A request from Alice (who sent the INVITE) to Bob inside the dialog Bob holds as its UAS."""
    fields = [
        ("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKalice" + str(seq)),
        ("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
        ("To", f"Bob <sip:bob@biloxi.example.com>;tag={dialog_of_uas.local_tag}"),
        ("Call-ID", "a84b4c76e66710"),
        ("CSeq", f"{seq} {method}"),
        *headers,
    ]
    fields += [("Content-Type", "application/sdp")] if body else []
    return Request(method, SipUri(user="bob", host="192.0.2.4"), fields, body)


def uac_dialog(status=200, **kwargs):
    request = invite(**kwargs)
    response = answer(request, status, body=SDP if status == 200 else b"")
    return Dialog.from_uac(request, response), request


# --- creation ---------------------------------------------------------------------------------


def test_uac_dialog_from_a_provisional_response_with_tag_is_early():
    dialog, request = uac_dialog(180)
    assert dialog.state is DialogState.EARLY
    assert dialog.id == DialogId("a84b4c76e66710", "1928301774", "a6c85cf")
    assert dialog.local_seq == 314159 and dialog.remote_seq is None
    assert dialog.remote_target == parse_uri("sip:bob@192.0.2.4")
    assert dialog.is_uac


def test_uac_dialog_from_2xx_is_confirmed():
    dialog, _ = uac_dialog(200)
    assert dialog.state is DialogState.CONFIRMED
    assert not dialog.local_invite_pending


def test_response_without_to_tag_creates_no_dialog():
    request = invite()
    with pytest.raises(RemoteProtocolError):
        Dialog.from_uac(request, make_response(request, 180))


def test_uac_route_set_is_the_record_route_reversed():
    dialog, _ = uac_dialog(record_route=["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"])
    assert [str(r.uri) for r in dialog.route_set] == [
        "sip:p1.example.com;lr", "sip:p2.example.com;lr"
    ]


def test_uas_dialog_takes_route_set_in_order_and_remote_target_from_the_request():
    request = invite(record_route=["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"])
    ok = answer(request, 200, contact="<sip:gw@198.51.100.7>", body=SDP)
    dialog = Dialog.from_uas(request, ok)
    assert dialog.id == DialogId("a84b4c76e66710", "a6c85cf", "1928301774")
    assert [str(r.uri) for r in dialog.route_set] == [
        "sip:p2.example.com;lr", "sip:p1.example.com;lr"
    ]
    assert dialog.remote_target == parse_uri("sip:alice@pc33.atlanta.example.com")
    assert dialog.remote_seq == 314159 and dialog.local_seq is None
    assert str(dialog.local_target) == "<sip:gw@198.51.100.7>"
    assert dialog.state is DialogState.CONFIRMED and not dialog.is_uac


def test_uas_dialog_after_a_provisional_response_is_early():
    request = invite()
    dialog = Dialog.from_uas(request, answer(request, 180))
    assert dialog.state is DialogState.EARLY and dialog.remote_invite_pending


def test_dialog_id_of_received_messages_reads_tags_from_our_side():
    dialog, request = uac_dialog()
    assert DialogId.of_received(in_dialog(dialog, "BYE", seq=1)) == dialog.id
    assert DialogId.of_received(answer(request, 200)) == dialog.id
    assert DialogId.of_received(invite()) is None


# --- requests we send ---------------------------------------------------------------------------


def test_in_dialog_request_uses_loose_routing_tags_and_next_cseq():
    dialog, _ = uac_dialog(record_route=["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"])
    bye = dialog.create_request("BYE")
    assert bye.uri == parse_uri("sip:bob@192.0.2.4")
    assert bye.headers.get_all("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert (bye.from_tag, bye.to_tag, bye.call_id) == ("1928301774", "a6c85cf", "a84b4c76e66710")
    assert str(bye.cseq) == "314160 BYE"
    assert bye.headers.get("To") == '"Bob" <sip:bob@biloxi.example.com>;tag=a6c85cf'
    assert "Contact" not in bye.headers and "Via" not in bye.headers


def test_strict_router_takes_the_request_uri_and_the_target_goes_last():
    dialog, _ = uac_dialog(
        record_route=["<sip:p2.example.com;lr>", "<sip:p1.example.com;method=INVITE>"]
    )
    info = dialog.create_request("INFO")
    assert info.uri == parse_uri("sip:p1.example.com")
    assert info.headers.get_all("Route") == ["<sip:p2.example.com;lr>", "<sip:bob@192.0.2.4>"]


def test_target_refresh_requests_carry_our_contact():
    dialog, _ = uac_dialog()
    reinvite = dialog.create_request("INVITE", body=SDP, content_type="application/sdp")
    assert reinvite.headers.get("Contact") == ALICE_CONTACT
    assert reinvite.media_type == "application/sdp" and reinvite.body == SDP
    message = dialog.create_request("MESSAGE", body=b"hi", content_type="text/plain")
    assert message.headers.get("Contact") is None


def test_local_cseq_increments_by_one_per_request():
    dialog, _ = uac_dialog()
    seqs = [dialog.create_request(m).cseq.seq for m in ("INFO", "MESSAGE", "NOTIFY")]
    assert seqs == [314160, 314161, 314162]


def test_uas_side_first_request_starts_its_own_cseq():
    request = invite()
    dialog = Dialog.from_uas(request, answer(request, 200, body=SDP))
    assert dialog.create_request("BYE").cseq.seq == 1


def test_body_without_content_type_is_refused():
    dialog, _ = uac_dialog()
    with pytest.raises(LocalProtocolError):
        dialog.create_request("INFO", body=b"Signal=1")


def test_ack_for_2xx_reuses_the_invite_cseq_number_without_consuming_one():
    dialog, request = uac_dialog(record_route=["<sip:p1.example.com;lr>"])
    ack = dialog.create_ack(answer(request, 200, body=SDP))
    assert str(ack.cseq) == "314159 ACK"
    assert ack.uri == parse_uri("sip:bob@192.0.2.4")
    assert ack.headers.get_all("Route") == ["<sip:p1.example.com;lr>"]
    assert dialog.create_request("BYE").cseq.seq == 314160


def test_ack_and_cancel_cannot_be_made_as_new_requests():
    dialog, _ = uac_dialog()
    for method in ("ACK", "CANCEL"):
        with pytest.raises(LocalProtocolError):
            dialog.create_request(method)


def test_sending_bye_terminates_the_dialog_and_nothing_more_can_be_sent():
    dialog, _ = uac_dialog()
    dialog.create_request("BYE")
    assert dialog.state is DialogState.TERMINATED
    with pytest.raises(LocalProtocolError):
        dialog.create_request("INFO")


# --- requests we receive ----------------------------------------------------------------------


def test_lower_remote_cseq_is_rejected_with_500():
    dialog, _ = uac_dialog()
    assert dialog.receive_request(in_dialog(dialog, "INFO", seq=10)) is None
    rejection = dialog.receive_request(in_dialog(dialog, "INFO", seq=9))
    assert isinstance(rejection, Reject) and rejection.status == 500
    assert dialog.remote_seq == 10


def test_equal_or_higher_remote_cseq_is_accepted_and_remembered():
    dialog, _ = uac_dialog()
    dialog.receive_request(in_dialog(dialog, "INFO", seq=10))
    assert dialog.receive_request(in_dialog(dialog, "INFO", seq=10)) is None
    assert dialog.receive_request(in_dialog(dialog, "INFO", seq=42)) is None
    assert dialog.remote_seq == 42


def test_ack_and_cancel_are_not_checked_against_remote_cseq():
    request = invite()
    dialog = Dialog.from_uas(request, answer(request, 200, body=SDP))
    dialog.receive_request(from_caller(dialog, "INFO", seq=314200))
    assert dialog.receive_request(from_caller(dialog, "ACK", seq=314159)) is None


def test_reinvite_with_new_contact_refreshes_the_remote_target():
    dialog, _ = uac_dialog()
    reinvite = in_dialog(dialog, "INVITE", seq=5, contact="<sip:bob@203.0.113.9>", body=SDP)
    dialog.receive_request(reinvite)
    assert dialog.remote_target == parse_uri("sip:bob@203.0.113.9")


def test_non_refresh_request_leaves_the_remote_target_alone():
    dialog, _ = uac_dialog()
    dialog.receive_request(in_dialog(dialog, "INFO", seq=5, contact="<sip:bob@203.0.113.9>"))
    assert dialog.remote_target == parse_uri("sip:bob@192.0.2.4")


def test_2xx_to_our_update_refreshes_the_remote_target():
    dialog, _ = uac_dialog()
    update = dialog.create_request("UPDATE")
    dialog.receive_response(answer(update, 200, contact="<sip:bob@203.0.113.9>"))
    assert dialog.remote_target == parse_uri("sip:bob@203.0.113.9")


def test_received_bye_terminates_the_dialog():
    dialog, _ = uac_dialog()
    assert dialog.receive_request(in_dialog(dialog, "BYE", seq=7)) is None
    assert dialog.state is DialogState.TERMINATED


@pytest.mark.parametrize("status", [408, 481])
def test_408_or_481_to_an_in_dialog_request_terminates_the_dialog(status):
    dialog, _ = uac_dialog()
    info = dialog.create_request("INFO")
    dialog.receive_response(answer(info, status))
    assert dialog.state is DialogState.TERMINATED


# --- early dialogs and forking ------------------------------------------------------------------


def test_2xx_confirms_an_early_dialog_and_recomputes_its_route_set():
    request = invite()
    dialog = Dialog.from_uac(request, answer(request, 180))
    ok = make_response(
        request, 200, to_tag="a6c85cf",
        headers=[("Record-Route", "<sip:p9.example.com;lr>"), ("Contact", "<sip:bob@203.0.113.9>")],
    )  # fmt: skip
    dialog.receive_response(ok)
    assert dialog.state is DialogState.CONFIRMED
    assert [str(r.uri) for r in dialog.route_set] == ["sip:p9.example.com;lr"]
    assert dialog.remote_target == parse_uri("sip:bob@203.0.113.9")


def test_forked_provisional_responses_make_one_early_dialog_per_to_tag():
    request = invite()
    dialogs = DialogSet(request)
    first = dialogs.receive_response(answer(request, 180, tag="fork-1"))
    second = dialogs.receive_response(answer(request, 183, tag="fork-2"))
    assert dialogs.receive_response(answer(request, 180, tag="fork-1")) is first
    assert first is not second and len(dialogs.early) == 2
    assert first.remote_tag == "fork-1" and second.remote_tag == "fork-2"


def test_100_trying_creates_no_dialog():
    request = invite()
    assert DialogSet(request).receive_response(make_response(request, 100)) is None


def test_2xx_on_one_fork_confirms_only_that_dialog():
    request = invite()
    dialogs = DialogSet(request)
    dialogs.receive_response(answer(request, 180, tag="fork-1"))
    dialogs.receive_response(answer(request, 180, tag="fork-2"))
    winner = dialogs.receive_response(answer(request, 200, tag="fork-2", body=SDP))
    assert dialogs.confirmed == [winner]
    dialogs.end_early_dialogs()
    assert dialogs.dialogs["fork-1"].state is DialogState.TERMINATED
    assert winner.state is DialogState.CONFIRMED


def test_2xx_from_a_fork_never_seen_before_creates_a_confirmed_dialog():
    request = invite()
    dialogs = DialogSet(request)
    dialogs.receive_response(answer(request, 180, tag="fork-1"))
    late = dialogs.receive_response(answer(request, 200, tag="fork-3", body=SDP))
    assert late.state is DialogState.CONFIRMED and late.remote_tag == "fork-3"


def test_failure_final_response_ends_every_early_dialog():
    request = invite()
    dialogs = DialogSet(request)
    dialogs.receive_response(answer(request, 180, tag="fork-1"))
    dialogs.receive_response(answer(request, 180, tag="fork-2"))
    assert dialogs.receive_response(answer(request, 486, tag="fork-2")) is None
    assert dialogs.early == [] and dialogs.confirmed == []


# --- PRACK, UAC side (RFC 3262 §4) ---------------------------------------------------------------


def test_reliable_provisional_response_is_pracked_with_rack():
    request = invite()
    first = reliable(request, rseq=5, body=SDP)
    dialog = Dialog.from_uac(request, first)
    prack = dialog.create_prack(first)
    assert prack.method == "PRACK" and prack.headers.get("RAck") == "5 314159 INVITE"
    assert prack.cseq.seq == 314160
    assert dialog.remote_rseq == 5


def test_retransmitted_or_out_of_order_reliable_provisional_is_ignored():
    request = invite()
    dialog = Dialog.from_uac(request, reliable(request, rseq=5))
    assert dialog.receive_response(reliable(request, rseq=5)) is False
    assert dialog.receive_response(reliable(request, rseq=7)) is False
    assert dialog.receive_response(reliable(request, 180, rseq=6)) is True
    assert dialog.remote_rseq == 6


def test_each_fork_keeps_its_own_rseq_sequence():
    request = invite()
    dialogs = DialogSet(request)
    assert dialogs.receive_response(reliable(request, rseq=5, tag="fork-1")) is not None
    assert dialogs.receive_response(reliable(request, rseq=900, tag="fork-2")) is not None
    assert dialogs.receive_response(reliable(request, rseq=900, tag="fork-2")) is None


# --- offer/answer: INVITE, PRACK, UPDATE (RFC 3264, 3262, 3311) ----------------------------------


def test_offer_in_invite_is_answered_by_the_2xx():
    request = invite()
    dialog = Dialog.from_uac(request, answer(request, 180))
    assert dialog.negotiation is Negotiation.LOCAL_OFFER
    dialog.receive_response(answer(request, 200, body=SDP))
    assert dialog.negotiation is Negotiation.STABLE


def test_sdp_in_an_unreliable_183_is_only_a_preview_of_the_answer():
    request = invite()
    dialog = Dialog.from_uac(request, answer(request, 183, body=SDP))
    assert dialog.negotiation is Negotiation.LOCAL_OFFER


def test_answer_in_reliable_183_settles_the_offer_and_the_2xx_only_repeats_it():
    request = invite()
    dialog = Dialog.from_uac(request, reliable(request, rseq=1, body=SDP))
    assert dialog.negotiation is Negotiation.STABLE
    dialog.receive_response(answer(request, 200, body=SDP))
    assert dialog.negotiation is Negotiation.STABLE


def test_offerless_invite_gets_the_offer_in_the_2xx_and_answers_in_the_ack():
    request = invite(body=b"")
    ok = answer(request, 200, body=SDP)
    dialog = Dialog.from_uac(request, ok)
    assert dialog.negotiation is Negotiation.REMOTE_OFFER
    dialog.create_ack(ok, body=SDP, content_type="application/sdp")
    assert dialog.negotiation is Negotiation.STABLE


def test_uas_offer_in_reliable_1xx_is_answered_by_prack():
    request = invite(body=b"")
    first = reliable(request, rseq=1, body=SDP)
    dialog = Dialog.from_uas(request, first)
    assert dialog.negotiation is Negotiation.LOCAL_OFFER
    prack = from_caller(dialog, "PRACK", seq=314160, body=SDP, headers=[("RAck", "1 314159 INVITE")])
    assert dialog.receive_request(prack) is None
    assert dialog.negotiation is Negotiation.STABLE


def test_update_in_an_early_dialog_negotiates_and_its_2xx_answers():
    request = invite()
    dialog = Dialog.from_uac(request, reliable(request, rseq=1, body=SDP))
    update = dialog.create_request("UPDATE", body=SDP, content_type="application/sdp")
    assert dialog.state is DialogState.EARLY
    assert dialog.negotiation is Negotiation.LOCAL_OFFER
    dialog.receive_response(answer(update, 200, body=SDP))
    assert dialog.negotiation is Negotiation.STABLE


def test_rejected_update_withdraws_our_offer():
    dialog, _ = uac_dialog()
    update = dialog.create_request("UPDATE", body=SDP, content_type="application/sdp")
    dialog.receive_response(answer(update, 488))
    assert dialog.negotiation is Negotiation.STABLE


def test_their_update_offer_crossing_ours_is_rejected_with_491():
    dialog, _ = uac_dialog()
    dialog.create_request("UPDATE", body=SDP, content_type="application/sdp")
    rejection = dialog.receive_request(in_dialog(dialog, "UPDATE", seq=3, body=SDP))
    assert rejection.status == 491


def test_second_update_offer_before_we_answered_is_rejected_with_500_and_retry_after():
    dialog, _ = uac_dialog()
    assert dialog.receive_request(in_dialog(dialog, "UPDATE", seq=3, body=SDP)) is None
    assert dialog.negotiation is Negotiation.REMOTE_OFFER
    rejection = dialog.receive_request(in_dialog(dialog, "UPDATE", seq=4, body=SDP))
    assert rejection.status == 500
    (name, seconds), = rejection.headers
    assert name == "Retry-After" and 0 <= int(seconds) <= 10


def test_our_500_to_a_crossing_update_does_not_drop_the_offer_we_owe_an_answer_to():
    dialog, _ = uac_dialog()
    first = in_dialog(dialog, "UPDATE", seq=3, body=SDP)
    dialog.receive_request(first)
    second = in_dialog(dialog, "UPDATE", seq=4, body=SDP)
    dialog.receive_request(second)
    dialog.response_sent(make_response(second, 500))
    assert dialog.negotiation is Negotiation.REMOTE_OFFER
    sdp_type = [("Content-Type", "application/sdp")]
    dialog.response_sent(make_response(first, 200, headers=sdp_type, body=SDP))
    assert dialog.negotiation is Negotiation.STABLE


def test_reinvite_crossing_our_reinvite_is_rejected_with_491():
    dialog, _ = uac_dialog()
    dialog.create_request("INVITE", body=SDP, content_type="application/sdp")
    assert dialog.receive_request(in_dialog(dialog, "INVITE", seq=3, body=SDP)).status == 491


def test_we_cannot_reinvite_while_their_reinvite_is_unanswered():
    dialog, _ = uac_dialog()
    dialog.receive_request(in_dialog(dialog, "INVITE", seq=3, body=SDP))
    with pytest.raises(LocalProtocolError):
        dialog.create_request("INVITE")


def test_we_cannot_offer_twice_before_an_answer():
    dialog, _ = uac_dialog()
    dialog.create_request("UPDATE", body=SDP, content_type="application/sdp")
    with pytest.raises(LocalProtocolError):
        dialog.create_request("UPDATE", body=SDP, content_type="application/sdp")


def test_request_without_contact_cannot_create_a_uas_dialog():
    request = invite()
    request.headers.remove("Contact")
    with pytest.raises(RemoteProtocolError, match="no Contact"):
        Dialog.from_uas(request, answer(request, 200, body=SDP))


def test_failed_update_in_an_early_dialog_keeps_the_dialog():
    request = invite()
    dialog = Dialog.from_uac(request, reliable(request, rseq=1, body=SDP))
    update = dialog.create_request("UPDATE", body=SDP, content_type="application/sdp")
    dialog.receive_response(answer(update, 488))
    assert dialog.state is DialogState.EARLY


def test_uas_failure_response_to_the_invite_ends_its_early_dialog():
    request = invite()
    dialog = Dialog.from_uas(request, answer(request, 180))
    dialog.response_sent(answer(request, 486))
    assert dialog.state is DialogState.TERMINATED and not dialog.remote_invite_pending


def test_a_request_with_our_tag_but_another_remote_tag_belongs_to_no_dialog_here():
    """§12.2.2: another fork's UAS (a second device that also answered our INVITE) cannot end or change this
    dialog by sending in it: 481."""
    dialog, _ = uac_dialog()
    stranger = in_dialog(dialog, "BYE", seq=7)
    fields = stranger.headers.copy()
    fields.set("From", "Bob <sip:bob@biloxi.example.com>;tag=second-device")
    rejection = dialog.receive_request(Request("BYE", stranger.uri, fields, b""))
    assert rejection is not None and rejection.status == 481
    assert dialog.state is DialogState.CONFIRMED
