"""What her Contact tells the IMS she can take (RFC 3840), from the services the operator enabled: in her
REGISTER, in an answer to OPTIONS for her (RFC 3261 §11), and in her calls (TS 24.173 §5.2)."""

import trio

from webims.sip import Contact
from webims.testing.fake_ims import FakeAccount

MARY = FakeAccount("secret", ["sip:mary@ims.test"])
MMTEL = '"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel"'
SETTINGS = {"auth": {"shutdown_seconds": 0.2},
            "voice": {"browser_addresses": ["127.0.0.1"], "ims_port_min": 43000, "ims_port_max": 43999}}


async def marys_gateway(webims_gateway, webims_browser, ims, services, tmp_path):
    settings = {**SETTINGS, "im": {"store_path": str(tmp_path / "im.sqlite"), "shutdown_seconds": 0.2}}
    gateway = await webims_gateway({"auth": True, **{name: True for name in services}}, ims={"proxy": ims.uri},
                                   settings={name: settings.get(name, {}) for name in ("auth", *services)})
    tab = await webims_browser(gateway)
    await tab.request("auth", "login", {"username": "mary", "password": "secret"})
    return tab


async def options_for_mary(ims):
    agent, request = ims.request_to("mary", "OPTIONS", from_uri="sip:bob@ims.test", to_uri="sip:mary@ims.test")
    with trio.fail_after(5):
        return await agent.send(request, authenticate=False)


async def test_calls_and_chat_enabled_she_registers_and_answers_options_as_an_mmtel_and_im_client(
        webims_gateway, webims_browser, fake_ims, tmp_path):
    ims = await fake_ims({"mary": MARY})
    await marys_gateway(webims_gateway, webims_browser, ims, ("voice", "im"), tmp_path)
    registered = ims.registers()[-1].contacts[0]
    assert registered.param("+g.3gpp.icsi-ref") == MMTEL
    assert {("audio", None), ("+g.oma.sip-im", None)} <= set(registered.params)
    assert registered.sip_instance and registered.reg_id == 1  # still there, after the tags

    answer = await options_for_mary(ims)
    assert answer.status == 200
    assert set(answer.headers.get("Allow").split(", ")) == {"ACK", "CANCEL", "INVITE", "MESSAGE", "NOTIFY", "OPTIONS"}
    assert answer.headers.get("Accept").split(", ") == ["application/sdp", "message/cpim", "text/plain",
                                                         "application/im-iscomposing+xml"]
    contact = Contact.parse(answer.headers.get("Contact"))
    assert contact.uri == Contact.parse(ims.bindings["mary"].contact).uri
    assert contact.param("+g.3gpp.icsi-ref") == MMTEL and ("+g.oma.sip-im", None) in contact.params


async def test_with_messaging_alone_she_claims_no_calls(webims_gateway, webims_browser, fake_ims, tmp_path):
    ims = await fake_ims({"mary": MARY})
    await marys_gateway(webims_gateway, webims_browser, ims, ("im",), tmp_path)
    registered = ims.registers()[-1].contacts[0]
    assert registered.param("+g.3gpp.icsi-ref") is None and ("audio", None) not in registered.params
    answer = await options_for_mary(ims)
    assert "INVITE" in answer.headers.get("Allow")  # chat sessions are INVITEs too
    assert "application/sdp" not in answer.headers.get("Accept")
    assert Contact.parse(answer.headers.get("Contact")).params == (("+g.oma.sip-im", None),)


async def test_with_video_enabled_her_contact_also_says_video(webims_gateway, webims_browser, fake_ims, tmp_path):
    ims = await fake_ims({"mary": MARY})
    await marys_gateway(webims_gateway, webims_browser, ims, ("voice", "video"), tmp_path)
    registered = ims.registers()[-1].contacts[0]
    assert registered.param("+g.3gpp.icsi-ref") == MMTEL  # once, though both services name it
    assert {("audio", None), ("video", None)} <= set(registered.params)
