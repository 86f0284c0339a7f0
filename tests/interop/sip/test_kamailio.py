"""webims' SIP stack against Kamailio, a SIP server nobody here wrote (the lab IMS core, started by the test)."""

import pytest
import trio

from webims.ims.transport import Address
from webims.sip import SipUri
from webims.sip.dialog import Dialog, dialog_response
from webims.testing.peers.kamailio import LabCore

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def sha256_lab(tmp_path_factory):
    lab = LabCore.start(tmp_path_factory.mktemp("lab-sha256"), digest_algorithm="SHA-256")
    yield lab
    lab.stop()


def lab_address(lab, transport="UDP"):
    return Address("127.0.0.1", lab.port, transport)


async def register(peer, lab, username, password, identity, transport="UDP"):
    agent = peer.agent(lab_address(lab, transport), username=username, password=password, contact_user=username)
    request = agent.build_request("REGISTER", f"sip:{lab.domain}", from_uri=identity, to_uri=identity, route=(),
                                  headers=[("Contact", agent.contact()), ("Expires", "60")])
    return agent, await agent.send(request)


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_register_with_md5_digest_returns_the_implicit_set(lab_core, sip_peer, transport):
    agent, response = await register(await sip_peer(), lab_core, "mary", "mary-secret", "sip:mary@ims.test",
                                     transport)
    assert response.status == 200, response.reason
    associated = [str(a.uri) for a in response.name_addrs("P-Associated-URI")]
    assert associated == ["sip:mary@ims.test", "tel:+15550100", "sip:mary.work@ims.test"]
    assert response.name_addrs("Service-Route")
    assert any(contact.uri.user == "mary" for contact in response.contacts if isinstance(contact.uri, SipUri))


async def test_register_with_sha256_digest(sha256_lab, sip_peer):
    _, response = await register(await sip_peer(), sha256_lab, "bob", "bob-secret", "sip:bob@ims.test")
    assert response.status == 200, response.reason


async def test_a_wrong_password_is_refused(lab_core, sip_peer):
    _, response = await register(await sip_peer(), lab_core, "carol", "not-her-password", "sip:carol@ims.test")
    assert response.status == 403


async def test_options_to_the_core_is_answered(lab_core, sip_peer):
    peer = await sip_peer()
    agent = peer.agent(lab_address(lab_core))
    response = await agent.send(agent.build_request("OPTIONS", lab_core.sip_uri, from_uri="sip:mary@ims.test"))
    assert response.status == 200


async def test_a_message_is_relayed_to_the_other_registered_ua(lab_core, sip_peer, nursery):
    mary_phone, bob_phone = await sip_peer(), await sip_peer()
    await register(mary_phone, lab_core, "mary", "mary-secret", "sip:mary@ims.test")
    bob, response = await register(bob_phone, lab_core, "bob", "bob-secret", "sip:bob@ims.test")
    bob.service_route = tuple(response.name_addrs("Service-Route"))
    received = trio.Event()

    async def mary_answers():
        incoming = await mary_phone.expect("MESSAGE")
        assert incoming.request.body == "Grüße ✓".encode()
        assert incoming.request.headers.get("P-Called-Party-ID") == "<tel:+15550100>"
        await incoming.reply(200)
        received.set()
    nursery.start_soon(mary_answers)
    message = bob.build_request("MESSAGE", "tel:+15550100", from_uri="sip:bob@ims.test",
                                body="Grüße ✓".encode(), content_type="text/plain;charset=utf-8")
    assert (await bob.send(message)).status == 200
    assert received.is_set()


async def test_invite_ack_bye_through_the_record_routing_core(lab_core, sip_peer, nursery):
    mary_phone, bob_phone = await sip_peer(), await sip_peer()
    await register(mary_phone, lab_core, "mary", "mary-secret", "sip:mary@ims.test")
    bob, response = await register(bob_phone, lab_core, "bob", "bob-secret", "sip:bob@ims.test")
    bob.service_route = tuple(response.name_addrs("Service-Route"))
    callee = {}

    async def mary_answers():
        incoming = await mary_phone.expect("INVITE")
        assert incoming.request.record_route, "the lab record-routes INVITEs"
        ok = dialog_response(incoming.request, 200, to_tag="mary1", contact=f"<{mary_phone.uri('mary')}>")
        await incoming.respond(ok)
        callee["dialog"] = Dialog.from_uas(incoming.request, ok)
        ack = await mary_phone.expect("ACK")
        callee["ack"] = ack.request
        bye = await mary_phone.expect("BYE")
        assert callee["dialog"].receive_request(bye.request) is None
        await bye.reply(200)
    nursery.start_soon(mary_answers)
    invite = bob.build_request("INVITE", "sip:mary@ims.test", from_uri="sip:bob@ims.test",
                               headers=[("Contact", f"<{bob.contact_uri()}>")])
    ok = await bob.send(invite)
    assert ok.status == 200
    dialog = Dialog.from_uac(invite, ok)
    assert dialog.route_set, "the route set comes from Record-Route"
    await bob.endpoint.send_stateless(bob.with_via(dialog.create_ack(ok)), lab_address(lab_core))
    bye = bob.with_via(dialog.create_request("BYE"))
    assert (await bob.send(bye, authenticate=False)).status == 200
    assert callee["ack"].cseq.seq == invite.cseq.seq


async def test_a_second_credential_registers_its_temporary_public_identity(lab_core, sip_peer):
    """TS 23.003 §13.4B: without an ISIM the client registers sip:IMPI@domain; the set is the subscription's."""
    _, response = await register(await sip_peer(), lab_core, "mary.phone", "mary-phone-secret",
                                 "sip:mary.phone@ims.test")
    assert response.status == 200, response.reason
    assert str(response.name_addrs("P-Associated-URI")[0].uri) == "sip:mary@ims.test"
