"""The auth service against the test kit's fake IMS core: login, identities, abuse, logout, resume."""

import pytest
import trio

from webims.errors import IdentityError
from webims.testing import BrowserError
from webims.testing.fake_ims import FakeAccount

MARY = FakeAccount("secret", ["sip:mary@ims.test", "tel:+15550100", "sip:mary.work@ims.test"])
FAST = {"keepalive_interval": 0.5, "grace_seconds": 2, "max_failures": 3, "lockout_seconds": 30,
        "shutdown_seconds": 0.2}


@pytest.fixture
async def ims(fake_ims):
    return await fake_ims({"mary": MARY, "mary.phone": FakeAccount("other", MARY.identities)})


@pytest.fixture
async def gateway(webims_gateway, ims):
    return await webims_gateway({"auth": True}, ims={"proxy": ims.uri}, settings={"auth": FAST})


async def login(tab, username="mary", password="secret"):
    return await tab.request("auth", "login", {"username": username, "password": password})


async def test_login_registers_and_returns_the_implicit_set(gateway, webims_browser, ims):
    result = await login(await webims_browser(gateway))
    assert [i["uri"] for i in result["identities"]] == list(MARY.identities)
    assert result["default"] == "sip:mary@ims.test"
    assert result["state"] == "registered"
    assert "mary" in ims.bindings
    register = ims.registers()[-1]
    contact = register.contacts[0]
    assert contact.sip_instance and contact.reg_id == 1


async def test_her_instance_id_is_the_same_after_a_gateway_restart_and_differs_per_gateway_and_subscriber(
        webims_gateway, webims_browser, ims):
    """RFC 5626 §4.1: derived from [ims] instance and the private identity, not drawn at random per login."""
    instances = []
    for name, username, password in (("gw1", "mary", "secret"), ("gw1", "mary", "secret"),
                                      ("gw2", "mary", "secret"), ("gw1", "mary.phone", "other")):
        gateway = await webims_gateway({"auth": True}, ims={"proxy": ims.uri, "instance": name},
                                       settings={"auth": FAST})
        await login(await webims_browser(gateway), username, password)
        instances.append(ims.registers()[-1].contacts[0].sip_instance)
    assert instances[0] == instances[1]
    assert len(set(instances)) == 3 and all(i.strip('"<>').startswith("urn:uuid:") for i in instances)


async def test_each_credential_of_a_subscription_works(gateway, webims_browser, ims):
    assert (await login(await webims_browser(gateway), "mary.phone", "other"))["state"] == "registered"
    assert "mary.phone" in ims.bindings


async def test_a_wrong_password_gets_one_generic_error_and_leaves_no_registration(gateway, webims_browser, ims):
    tab = await webims_browser(gateway)
    for username, password in (("mary", "wrong"), ("nobody", "secret")):
        with pytest.raises(BrowserError) as error:
            await login(tab, username, password)
        assert error.value.code == "login_failed"
        assert error.value.message == "The username or password is not correct."
    assert ims.bindings == {}
    assert len(gateway.contexts) == 0


async def test_repeated_failures_lock_the_username_out_with_a_wait_time(gateway, webims_browser):
    tab = await webims_browser(gateway)
    for _ in range(3):
        with pytest.raises(BrowserError):
            await login(tab, password="wrong")
    with pytest.raises(BrowserError) as error:
        await login(tab)  # even the right password waits now
    assert error.value.code == "too_many_attempts"
    assert "Try again in 30 s" in error.value.message


async def test_services_needing_login_refuse_before_it(gateway, webims_browser):
    tab = await webims_browser(gateway)
    with pytest.raises(BrowserError) as error:
        await tab.request("auth", "login", {"username": "mary"})
    assert error.value.code == "bad_request"


async def test_two_tabs_share_one_registration(gateway, webims_browser, ims):
    first, second = await webims_browser(gateway), await webims_browser(gateway)
    await login(first)
    await login(second)
    assert len(ims.registers()) == 2  # one challenged, one authorized: a single registration
    assert len(gateway.contexts) == 1


async def test_logout_deregisters_and_tells_every_tab(gateway, webims_browser, ims):
    first, second = await webims_browser(gateway), await webims_browser(gateway)
    await login(first)
    await login(second)
    await first.request("auth", "logout")
    assert ims.bindings == {}
    event = await second.next_event("auth", "logged_out")
    assert event["body"]["reason"] == "You logged out."
    assert ims.registers()[-1].expires == 0


async def test_a_reloaded_tab_resumes_without_a_new_register(gateway, webims_browser, ims):
    tab = await webims_browser(gateway)
    token = (await login(tab))["resume_token"]
    await tab.websocket.aclose()
    registers = len(ims.registers())
    reloaded = await webims_browser(gateway)
    result = await reloaded.request("auth", "resume", {"token": token})
    assert result["state"] == "registered" and result["resume_token"] != token
    assert len(ims.registers()) == registers
    with pytest.raises(BrowserError) as error:  # a token works once
        await (await webims_browser(gateway)).request("auth", "resume", {"token": token})
    assert error.value.code == "resume_failed"


async def test_without_a_tab_the_registration_ends_after_the_grace_period(gateway, webims_browser, ims):
    tab = await webims_browser(gateway)
    token = (await login(tab))["resume_token"]
    await tab.websocket.aclose()
    with trio.fail_after(10):
        while ims.bindings:
            await trio.sleep(0.1)
    with pytest.raises(BrowserError):
        await (await webims_browser(gateway)).request("auth", "resume", {"token": token})


async def logged_in_watching_her_registration(gateway, webims_browser, ims):
    """A tab of Mary's, logged in, once the gateway's reg event subscription has reached the fake core."""
    tab = await webims_browser(gateway)
    await login(tab)
    with trio.fail_after(5):
        while "mary" not in ims.reg_subscribers:
            await trio.sleep(0.05)
    return tab


async def test_network_deregistration_reaches_the_browser_at_once(gateway, webims_browser, ims):
    tab = await logged_in_watching_her_registration(gateway, webims_browser, ims)
    assert await ims.deregister("mary") == 200
    event = await tab.next_event("auth", "logged_out")
    assert event["body"]["reason"] == "The IMS network ended your registration."
    with trio.fail_after(2):
        while len(gateway.contexts):
            await trio.sleep(0.01)


async def test_an_identity_the_operator_adds_reaches_her_tabs_at_once_and_is_hers_to_use(gateway, webims_browser, ims):
    tab = await logged_in_watching_her_registration(gateway, webims_browser, ims)
    assert await ims.add_identity("mary", "sip:mary.team@ims.test") == 200
    event = await tab.next_event("auth", "registration")
    uris = [identity["uri"] for identity in event["body"]["identities"]]
    assert uris[-1] == "sip:mary.team@ims.test" and event["body"]["default"] == uris[0] != uris[-1]
    assert gateway.contexts.get("mary").require_identity("sip:mary.team@ims.test").uri == "sip:mary.team@ims.test"


async def test_an_identity_only_a_notify_names_is_not_given_and_is_asked_about_once(gateway, webims_browser, ims):
    await logged_in_watching_her_registration(gateway, webims_browser, ims)
    registration = gateway.plugins.services["auth"].plugin.subscribers["mary"].registration
    before = registration.registers_sent
    for _ in range(2):  # the registrar's P-Associated-URI does not have it: a forged or mistaken NOTIFY
        assert await ims.add_identity("mary", "sip:eve@ims.test", grant=False) == 200
    with trio.fail_after(5):
        while registration.registers_sent == before:
            await trio.sleep(0.05)
    await trio.sleep(0.5)
    assert registration.registers_sent == before + 1  # one REGISTER to ask, not one per NOTIFY
    with pytest.raises(IdentityError):
        gateway.contexts.get("mary").require_identity("sip:eve@ims.test")


async def test_an_identity_the_operator_takes_away_leaves_her_tabs_at_once_and_the_login_goes_on(
        gateway, webims_browser, ims):
    tab = await logged_in_watching_her_registration(gateway, webims_browser, ims)
    assert await ims.remove_identity("mary", "sip:mary.work@ims.test") == 200
    event = await tab.next_event("auth", "registration")
    assert [identity["uri"] for identity in event["body"]["identities"]] == ["sip:mary@ims.test", "tel:+15550100"]
    assert event["body"]["state"] == "registered" and event["body"]["default"] == "sip:mary@ims.test"
    context = gateway.contexts.get("mary")
    with pytest.raises(IdentityError):
        context.require_identity("sip:mary.work@ims.test")
    await gateway.plugins.services["auth"].plugin.subscribers["mary"].registration.reregister("refresh")
    assert [identity.uri for identity in context.public_identities] == ["sip:mary@ims.test", "tel:+15550100"]


async def test_her_default_identity_taken_away_ends_the_login_with_the_reason(gateway, webims_browser, ims):
    tab = await logged_in_watching_her_registration(gateway, webims_browser, ims)
    assert await ims.remove_identity("mary", "sip:mary@ims.test") == 200
    event = await tab.next_event("auth", "logged_out")
    assert event["body"]["reason"] == "The IMS network rejected your registration."


async def test_an_ims_outage_shows_reconnecting_then_registers_again(gateway, webims_browser, ims, autojump_clock):
    tab = await webims_browser(gateway)
    await login(tab)
    ims.dark = True
    event = await tab.next_event("auth", "registration", timeout=120)
    assert event["body"]["state"] == "reconnecting"
    assert "not reachable" in event["body"]["reason"]
    registers = len(ims.registers())
    ims.bindings.clear()  # a restarted core has forgotten everyone
    ims.dark = False
    event = await tab.next_event("auth", "registration", timeout=120)
    assert event["body"]["state"] == "registered"
    assert "mary" in ims.bindings and len(ims.registers()) > registers


async def test_423_interval_too_brief_is_followed(gateway, webims_browser, ims):
    ims.min_expires = 3600
    await login(await webims_browser(gateway))
    assert ims.bindings["mary"].expires == 3600


async def test_the_registration_is_refreshed_before_it_expires(gateway, webims_browser, ims, autojump_clock):
    await login(await webims_browser(gateway))
    first = len(ims.registers())
    granted = ims.bindings["mary"].expires
    await trio.sleep(granted * 0.75)  # refresh comes at 50-70 % of the interval
    refreshes = ims.registers()[first:]
    assert refreshes, "no refresh REGISTER went out"
    assert refreshes[0].call_id == ims.registers()[0].call_id  # the same binding (RFC 3261 §10.2.4)
