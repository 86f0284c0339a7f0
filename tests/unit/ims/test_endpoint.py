"""The trio SIP layer: transports, transactions carried out on real loopback sockets, auth retries."""

import pytest
import trio

from webims.ims.agent import Credentials, UserAgent
from webims.ims.endpoint import SipEndpoint
from webims.ims.transport import Address, Transports
from webims.sip import make_challenge, parse_message, verify


async def start_endpoint(nursery, on_request, on_stray=None):
    transports = await nursery.start(Transports("127.0.0.1", 0).serve)
    return await nursery.start(SipEndpoint(transports, on_request, on_stray).run)


def agent_for(endpoint, peer, transport="UDP", password="secret"):
    port = peer.transports.local(transport).port
    return UserAgent(endpoint, Address("127.0.0.1", port, transport), "ims.test",
                     Credentials("mary", password, "ims.test"))


async def answer_ok(transaction):
    await transaction.reply(200)


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_a_request_gets_its_final_response(nursery, transport):
    server = await start_endpoint(nursery, answer_ok)
    client = await start_endpoint(nursery, answer_ok)
    agent = agent_for(client, server, transport)
    request = agent.build_request("OPTIONS", "sip:ims.test", from_uri="sip:mary@ims.test")
    response = await agent.send(request)
    assert response.status == 200
    assert response.call_id == request.call_id


async def test_an_unanswered_request_times_out_as_408(nursery, autojump_clock):
    silent = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    await silent.bind(("127.0.0.1", 0))
    received = []

    async def count():
        while True:
            received.append(await silent.recv(65535))
    nursery.start_soon(count)
    client = await start_endpoint(nursery, answer_ok)
    agent = UserAgent(client, Address("127.0.0.1", silent.getsockname()[1]), "ims.test", Credentials("m", "p"))
    response = await agent.send(agent.build_request("OPTIONS", "sip:ims.test", from_uri="sip:m@ims.test"))
    assert response.status == 408
    # Timer E retransmits over UDP: 0.5, 1, 2, 4, 4, ... until Timer F (32 s).
    assert len(received) >= 10


async def test_a_lost_response_is_recovered_by_retransmission(nursery):
    calls = 0

    async def answer_second_copy(transaction):
        nonlocal calls
        calls += 1
        await transaction.reply(200)

    # A proxy that drops the first copy of every request it sees.
    server = await start_endpoint(nursery, answer_second_copy)
    relay = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    await relay.bind(("127.0.0.1", 0))
    server_port = server.transports.local().port

    async def drop_first():
        seen = set()
        while True:
            data, source = await relay.recvfrom(65535)
            if source[1] == server_port:
                await relay.sendto(data, client_address)
                continue
            branch = parse_message(data).branch
            if branch not in seen:
                seen.add(branch)
                continue
            await relay.sendto(data, ("127.0.0.1", server_port))
    client = await start_endpoint(nursery, answer_ok)
    client_address = ("127.0.0.1", client.transports.local().port)
    nursery.start_soon(drop_first)
    agent = UserAgent(client, Address("127.0.0.1", relay.getsockname()[1]), "ims.test", Credentials("m", "p"))
    response = await agent.send(agent.build_request("OPTIONS", "sip:ims.test", from_uri="sip:m@ims.test"))
    assert response.status == 200 and calls == 1


async def challenge_then_check(transaction):
    request = transaction.request
    credentials = request.headers.get("Authorization")
    if credentials is None:
        await transaction.reply(401, headers=[("WWW-Authenticate", make_challenge("ims.test", algorithm="SHA-256"))])
    elif verify(credentials, method=request.method, password="secret"):
        await transaction.reply(200)
    else:
        await transaction.reply(403)


async def test_a_digest_challenge_is_answered_with_the_subscribers_credentials(nursery):
    server = await start_endpoint(nursery, challenge_then_check)
    client = await start_endpoint(nursery, answer_ok)
    agent = agent_for(client, server)
    response = await agent.send(agent.build_request("REGISTER", "sip:ims.test", from_uri="sip:mary@ims.test"))
    assert response.status == 200


async def test_a_wrong_password_ends_with_the_servers_refusal_not_a_loop(nursery):
    server = await start_endpoint(nursery, challenge_then_check)
    client = await start_endpoint(nursery, answer_ok)
    agent = agent_for(client, server, password="wrong")
    response = await agent.send(agent.build_request("REGISTER", "sip:ims.test", from_uri="sip:mary@ims.test"))
    assert response.status == 403


async def test_malformed_datagrams_are_dropped_and_the_endpoint_keeps_working(nursery):
    server = await start_endpoint(nursery, answer_ok)
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    for junk in (b"\x00\xff garbage", b"INVITE sip:x SIP/2.0\r\n\r\n", b"SIP/2.0 999\r\n\r\n"):
        await sock.sendto(junk, ("127.0.0.1", server.transports.local().port))
    client = await start_endpoint(nursery, answer_ok)
    agent = agent_for(client, server)
    assert (await agent.send(agent.build_request("OPTIONS", "sip:ims.test", from_uri="sip:m@ims.test"))).status == 200


async def test_a_handler_that_raises_is_answered_500_for_it(nursery):
    async def broken(transaction):
        raise RuntimeError("bug")
    server = await start_endpoint(nursery, broken)
    client = await start_endpoint(nursery, answer_ok)
    agent = agent_for(client, server)
    response = await agent.send(agent.build_request("OPTIONS", "sip:ims.test", from_uri="sip:m@ims.test"))
    assert response.status == 500 and "webims" in response.headers.get("Warning")


async def test_cancel_reaches_the_invite_owner_who_answers_487(nursery):
    async def ring_until_cancelled(transaction):
        await transaction.reply(180, to_tag="callee")
        await transaction.cancelled.wait()
        await transaction.reply(487, to_tag="callee")
    server = await start_endpoint(nursery, ring_until_cancelled)
    client = await start_endpoint(nursery, answer_ok)
    agent = agent_for(client, server)
    invite = agent.build_request("INVITE", "sip:bob@ims.test", from_uri="sip:mary@ims.test")
    transaction = await agent.start(invite)
    responses = transaction.responses()
    assert (await responses.__anext__()).status == 180
    from webims.sip.transaction import make_cancel
    cancel = await agent.send(make_cancel(invite))
    assert cancel.status == 200
    assert (await responses.__anext__()).status == 487


async def test_the_scriptable_peer_lets_a_test_answer_requests(nursery, sip_peer):
    peer, other = await sip_peer(), await sip_peer()
    agent = other.agent(peer.address)

    async def script():
        incoming = await peer.expect("MESSAGE")
        assert incoming.request.body == "héllo".encode()
        await incoming.reply(202)
    nursery.start_soon(script)
    request = agent.build_request("MESSAGE", peer.uri("bob"), from_uri="sip:mary@ims.test",
                                  body="héllo".encode(), content_type="text/plain;charset=utf-8")
    assert (await agent.send(request)).status == 202
