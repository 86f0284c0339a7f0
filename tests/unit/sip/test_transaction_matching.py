"""Matching messages to transactions (RFC 3261 §17.1.3, §17.2.3, §9), CANCEL, the table."""

import pytest

from webims.sip.errors import LocalProtocolError
from webims.sip.transaction import (
    Deliver,
    TransactionTable,
    cancel_target_key,
    client_key,
    make_cancel,
    server_key,
)
from webims.sip.transaction_client import InviteClientTransaction, NonInviteClientTransaction
from webims.sip.transaction_server import InviteServerTransaction, NonInviteServerTransaction

from .test_transaction_client import request, respond


def with_via(req, via):
    copy = req.copy()
    copy.headers.set("Via", via)
    return copy


def test_response_matches_client_transaction_by_branch_and_cseq_method():
    invite = request("INVITE")
    assert client_key(respond(invite, 200)) == client_key(invite)
    assert client_key(respond(make_cancel(invite), 200)) != client_key(invite)


def test_server_key_uses_branch_sent_by_and_method_with_the_magic_cookie():
    invite = request("INVITE")
    key = server_key(invite)
    assert key.branch == "z9hG4bKclient1" and key.method == "INVITE"
    assert key.sent_by == ("pc33.atlanta.example.com", 5060)
    same = "SIP/2.0/UDP PC33.Atlanta.example.com:5060;branch=z9hG4bKclient1"
    other_host = "SIP/2.0/UDP other.example.com:5060;branch=z9hG4bKclient1"
    assert server_key(with_via(invite, same)) == key
    assert server_key(with_via(invite, other_host)) != key


def test_ack_matches_the_invite_server_transaction():
    assert server_key(request("ACK")) == server_key(request("INVITE"))


def test_cancel_has_its_own_server_transaction_but_targets_the_invite():
    invite = request("INVITE")
    cancel = make_cancel(invite)
    assert server_key(cancel) != server_key(invite)
    assert cancel_target_key(cancel) == server_key(invite)


def test_rfc_2543_requests_match_on_uri_tags_call_id_cseq_and_via():
    old = request("INVITE", branch="1")
    assert server_key(old).branch is None
    assert server_key(request("INVITE", branch="1")) == server_key(old)
    assert server_key(request("ACK", branch="1")) == server_key(old)
    assert server_key(request("INVITE", branch="1", seq=2)) != server_key(old)


def test_cancel_is_built_from_the_invite_per_section_9_1():
    invite = request("INVITE", extra=[("Content-Type", "application/sdp")])
    cancel = make_cancel(invite)
    assert cancel.method == "CANCEL" and cancel.uri == invite.uri
    assert cancel.headers.get_all("Via") == invite.headers.get_all("Via")[:1]
    assert cancel.headers.get_all("Route") == invite.headers.get_all("Route")
    for name in ("From", "To", "Call-ID"):
        assert cancel.headers.get(name) == invite.headers.get(name)
    assert str(cancel.cseq) == "1 CANCEL"
    assert "Content-Type" not in cancel.headers and cancel.body == b""


def test_table_routes_responses_to_client_transactions():
    table = TransactionTable()
    invite = request("INVITE")
    transaction = InviteClientTransaction(invite, reliable=False)
    table.add(transaction)
    transaction.start()
    ringing = respond(invite, 180)
    routed, actions = table.route(ringing)
    assert routed is transaction and Deliver(ringing) in actions


def test_table_routes_retransmitted_requests_and_acks_to_server_transactions():
    table = TransactionTable()
    invite = request("INVITE", transport="TCP")
    transaction = InviteServerTransaction(invite, reliable=True)
    table.add(transaction)
    transaction.start()
    transaction.send_response(respond(invite, 486))
    routed, _ = table.route(request("ACK", transport="TCP"))
    assert routed is transaction
    assert transaction.terminated and transaction not in table  # Timer I is 0 over TCP


def test_table_says_no_match_for_new_requests_and_stray_responses():
    table = TransactionTable()
    assert table.route(request("INVITE")) is None
    assert table.route(respond(request("INVITE"), 200)) is None


def test_table_finds_the_invite_a_cancel_targets():
    table = TransactionTable()
    invite = request("INVITE")
    transaction = InviteServerTransaction(invite, reliable=False)
    table.add(transaction)
    assert table.find(make_cancel(invite)) is None  # the CANCEL gets its own transaction
    assert table.find_cancelled(make_cancel(invite)) is transaction


def test_table_keeps_client_and_server_transactions_with_the_same_branch_apart():
    table = TransactionTable()
    options = request("OPTIONS")
    client = NonInviteClientTransaction(options, reliable=False)
    server = NonInviteServerTransaction(options, reliable=False)
    table.add(client)
    table.add(server)
    assert table.find(respond(options, 200)) is client
    assert table.find(options) is server
    assert len(table) == 2


def test_table_refuses_two_transactions_with_one_key():
    table = TransactionTable()
    table.add(InviteClientTransaction(request("INVITE"), reliable=False))
    with pytest.raises(LocalProtocolError):
        table.add(InviteClientTransaction(request("INVITE"), reliable=False))


def test_discarding_a_transaction_forgets_it():
    table = TransactionTable()
    transaction = InviteClientTransaction(request("INVITE"), reliable=False)
    table.add(transaction)
    table.discard(transaction)
    assert transaction not in table and len(table) == 0
