"""The auth service against the lab IMS core (Kamailio, started and stopped by the tests)."""

import pytest
import trio

from webims.ims.transport import Address
from webims.lab import LabProcess
from webims.sip import Contact
from webims.testing import BrowserError, start_gateway
from webims.testing.peers.kamailio import LabCore

pytestmark = pytest.mark.interop
MARYS_SET = ["sip:mary@ims.test", "tel:+15550100", "sip:mary.work@ims.test"]
SETTINGS = {"auth": {"keepalive_interval": 0.5, "grace_seconds": 2, "max_failures": 3, "shutdown_seconds": 0.5},
            "voice": {"browser_addresses": ["127.0.0.1"]}}


@pytest.fixture
def lab(tmp_path):
    """A lab of this test's own: these tests restart it and must not disturb other tests' registrations."""
    lab = LabCore.start(tmp_path / "lab")
    yield lab
    lab.stop()


@pytest.fixture
async def gateway(webims_gateway, lab):
    return await webims_gateway({"auth": True, "voice": True}, settings=SETTINGS,
                                ims={"proxy": lab.sip_uri, "domain": lab.domain})


async def login(tab, username="mary", password="mary-secret"):
    return await tab.request("auth", "login", {"username": username, "password": password})


def contacts(lab, identity="sip:mary@ims.test"):
    return lab.admin.contacts(identity)


async def eventually(predicate, timeout=10):
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.1)


@pytest.mark.parametrize("username, password", [("mary", "mary-secret"), ("mary.phone", "mary-phone-secret")])
async def test_login_registers_a_contact_and_returns_the_labs_implicit_set(gateway, webims_browser, lab,
                                                                             username, password):
    result = await login(await webims_browser(gateway), username, password)
    assert [identity["uri"] for identity in result["identities"]] == MARYS_SET
    assert result["default"] == "sip:mary@ims.test"
    assert len(contacts(lab)) == 1
    # The lab's reginfo NOTIFY names the registered identities too; it adds none that REGISTER did not give.
    reg_event = gateway.plugins.services["auth"].plugin.subscribers[username].reg_event
    await eventually(lambda: reg_event.notifies >= 1)
    context = gateway.contexts.get(username)
    assert [identity.uri for identity in context.public_identities] == MARYS_SET


async def test_a_wrong_password_gets_the_generic_error_and_leaves_no_contact(gateway, webims_browser, lab):
    with pytest.raises(BrowserError) as error:
        await login(await webims_browser(gateway), password="wrong")
    assert error.value.message == "The username or password is not correct."
    assert contacts(lab) == []


async def test_throttling_engages_after_repeated_failures(gateway, webims_browser):
    tab = await webims_browser(gateway)
    for _ in range(3):
        with pytest.raises(BrowserError):
            await login(tab, password="wrong")
    with pytest.raises(BrowserError) as error:
        await login(tab)
    assert error.value.code == "too_many_attempts"


def record_sent(gateway, monkeypatch) -> list:
    """Every SIP message the gateway sends from now on."""
    sent = []
    transports = gateway.sip.endpoint.transports
    original = transports.send

    async def record(message, destination):
        sent.append(message)
        await original(message, destination)
    monkeypatch.setattr(transports, "send", record)
    return sent


async def test_a_spoofed_identity_is_refused_and_nothing_is_sent(gateway, webims_browser, monkeypatch):
    tab = await webims_browser(gateway)
    await login(tab)
    sent = record_sent(gateway, monkeypatch)
    with pytest.raises(BrowserError) as error:
        await tab.request("voice", "call.start", {"target": "sip:bob@ims.test", "identity": "sip:bob@ims.test",
                                                  "sdp": "v=0\r\n"})
    assert error.value.code == "forbidden_identity"
    assert not [m for m in sent if getattr(m, "method", None) == "INVITE"]


async def test_lab_initiated_deregistration_reaches_the_browser(gateway, webims_browser, lab):
    tab = await webims_browser(gateway)
    await login(tab)
    await trio.sleep(0.5)  # the reg event subscription is in place
    lab.admin.deregister("sip:mary@ims.test")
    event = await tab.next_event("auth", "logged_out")
    assert "ended your registration" in event["body"]["reason"]


async def test_an_ims_core_restart_is_survived_without_the_user_doing_anything(gateway, webims_browser, lab):
    tab = await webims_browser(gateway)
    await login(tab)
    settings = lab.process.settings
    lab.stop()
    event = await tab.next_event("auth", "registration", timeout=15)
    assert event["body"]["state"] == "reconnecting"
    lab.process = LabProcess.start(settings, lab.subscribers)  # same ports, empty location table
    event = await tab.next_event("auth", "registration", timeout=30)
    assert event["body"]["state"] == "registered"
    assert len(contacts(lab)) == 1


async def test_a_reload_within_grace_resumes_without_a_new_register(gateway, webims_browser, lab, monkeypatch):
    tab = await webims_browser(gateway)
    token = (await login(tab))["resume_token"]
    sent = record_sent(gateway, monkeypatch)
    await tab.websocket.aclose()
    reloaded = await webims_browser(gateway)
    assert (await reloaded.request("auth", "resume", {"token": token}))["state"] == "registered"
    assert not [m for m in sent if getattr(m, "method", None) == "REGISTER"]
    assert len(contacts(lab)) == 1


async def test_logout_removes_the_contact(gateway, webims_browser, lab):
    tab = await webims_browser(gateway)
    await login(tab)
    assert contacts(lab)
    await tab.request("auth", "logout")
    await eventually(lambda: contacts(lab) == [])


async def test_bob_asking_what_mary_can_do_gets_her_mmtel_contact_through_the_lab(gateway, webims_browser, lab,
                                                                                   sip_peer):
    """RFC 3261 §11 capability query, routed by Kamailio to the contact she registered with the MMTel ICSI."""
    await login(await webims_browser(gateway))
    bob = (await sip_peer()).agent(Address(lab.host, lab.port), username="bob", password="bob-secret",
                                   domain=lab.domain)
    options = bob.build_request("OPTIONS", "sip:mary@ims.test", from_uri="sip:bob@ims.test")
    with trio.fail_after(5):
        answer = await bob.send(options)
    assert answer.status == 200
    contact = Contact.parse(answer.headers.get("Contact"))
    assert contact.param("+g.3gpp.icsi-ref") == '"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel"'
    assert ("audio", None) in contact.params
    assert "INVITE" in answer.headers.get("Allow").split(", ")
    assert answer.headers.get("Accept") == "application/sdp"


async def test_after_a_gateway_crash_her_new_registration_replaces_the_dead_contact(webims_browser, lab):
    """RFC 5626: the same gateway (its [ims] instance) registers her with the same instance id and reg-id after a
    restart, so the lab replaces the binding the crashed one left instead of forking her calls to it."""
    ims = {"proxy": lab.sip_uri, "domain": lab.domain, "instance": "gateway-one"}
    settings = {"auth": SETTINGS["auth"]}
    async with trio.open_nursery() as crashing:
        crashed = await start_gateway(crashing, {"auth": True}, settings=settings, ims=ims)
        await login(await webims_browser(crashed))
        [dead] = contacts(lab)
        crashing.cancel_scope.cancel()  # no goodbye: the binding stays in the lab
    assert [contact.address for contact in contacts(lab)] == [dead.address]
    async with trio.open_nursery() as nursery:
        restarted = await start_gateway(nursery, {"auth": True}, settings=settings, ims=ims)
        await login(await webims_browser(restarted))
        [live] = contacts(lab)
        assert live.address != dead.address
        other = await start_gateway(nursery, {"auth": True}, settings=settings, ims={**ims, "instance": "gateway-two"})
        await login(await webims_browser(other))  # another gateway is another device: both are reachable
        assert len(contacts(lab)) == 2
        nursery.cancel_scope.cancel()
