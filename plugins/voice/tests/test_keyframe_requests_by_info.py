"""RFC 5168 keyframe requests by SIP INFO, in a call through the test kit's fake IMS core: the phone's INFO reaches
the call's media bridge, and the bridge's KeyframeNeeded becomes an INFO in the call's dialog. What the bridge
does with them (PLI to the browser, when it raises KeyframeNeeded): tests/unit/media/test_video.py."""

import attrs
import pytest
import trio

from webims.media import KeyframeNeeded
from webims.sip import new_tag
from webims.sip.dialog import Dialog, dialog_response
from webims.sip.media_control import PICTURE_FAST_UPDATE, MediaControl
from webims.testing.fake_ims import FakeAccount

MARY = FakeAccount("secret", ["sip:mary@ims.test"])
SETTINGS = {"auth": {"shutdown_seconds": 0.2},
            "voice": {"browser_addresses": ["127.0.0.1"], "ims_port_min": 43000, "ims_port_max": 43999}}
MEDIA_CONTROL = "application/media_control+xml"
BOBS_SDP = (b"v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            b"m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n")


@attrs.define
class BobsPhone:
    """Bob's side of the call, played by the fake IMS core: answers Mary's INVITE, sends INFO in the dialog."""

    ims: object
    dialog: Dialog | None = None

    async def answer_marys_invite(self) -> None:
        incoming = await self.ims.expect("INVITE")
        ok = dialog_response(incoming.request, 200, to_tag=new_tag(),
                             contact=f"<sip:bob@127.0.0.1:{self.ims.address.port}>",
                             headers=[("Content-Type", "application/sdp")], body=BOBS_SDP)
        await incoming.respond(ok)
        self.dialog = Dialog.from_uas(incoming.request, ok)

    async def info(self, body: bytes, content_type: str = MEDIA_CONTROL):
        return await self._send("INFO", body=body, content_type=content_type)

    async def hang_up(self):
        return await self._send("BYE")

    async def _send(self, method: str, **body):
        agent = self.ims.agent(self.ims.bindings["mary"].source)
        return await agent.send(agent.with_via(self.dialog.create_request(method, **body)), authenticate=False)


@pytest.fixture
async def call(webims_gateway, webims_browser, webrtc_browser, fake_ims):
    """Mary's answered call to Bob: (Bob's phone, the gateway's call, what reached the bridge's operation)."""
    ims = await fake_ims({"mary": MARY})
    gateway = await webims_gateway({"auth": True, "voice": True}, ims={"proxy": ims.uri}, settings=SETTINGS)
    tab = await webims_browser(gateway)
    await tab.request("auth", "login", {"username": "mary", "password": "secret"})
    browser = webrtc_browser(("PCMU",))
    bob = BobsPhone(ims)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bob.answer_marys_invite)
        started = await tab.request("voice", "call.start", {"target": "sip:bob@ims.test",
                                                            "sdp": await browser.offer()})
    await browser.accept_answer(started["sdp"])
    await tab.next_event("voice", "call.answered")
    the_call = gateway.plugins.services["voice"].plugin.calls[started["call"]]
    passed_on = []
    keyframe_request = the_call.bridge.accept_ims_keyframe_request

    async def recorded():
        passed_on.append(trio.current_time())
        await keyframe_request()

    the_call.bridge.accept_ims_keyframe_request = recorded
    yield bob, the_call, passed_on
    await bob.hang_up()  # else the gateway's own BYE at shutdown waits for an answer nobody gives


async def until(predicate, timeout: float = 2) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.01)


async def test_the_phones_picture_fast_update_reaches_the_calls_media_bridge(call):
    bob, the_call, passed_on = call
    response = await bob.info(PICTURE_FAST_UPDATE.encode())
    assert response.status == 200
    await until(lambda: len(passed_on) == 1)


async def test_a_media_control_document_with_nothing_to_do_is_answered_200_and_goes_no_further(call):
    bob, the_call, passed_on = call
    response = await bob.info(b"<media_control><general_error>Parse error</general_error></media_control>")
    assert response.status == 200
    await trio.sleep(0.2)
    assert passed_on == [] and the_call.state == "active"


@pytest.mark.parametrize("body, status", [
    (b"<media_control><vc_primitive>", 400),
    (b'<!DOCTYPE m [<!ENTITY a "picture_fast_update">]><media_control>&a;</media_control>', 400),
    (b"<media_control>" + b" " * 5000 + b"</media_control>", 413),
], ids=["malformed", "dtd", "oversized"])
async def test_an_unreadable_media_control_body_is_refused_with_its_reason_and_the_call_goes_on(call, body, status):
    bob, the_call, passed_on = call
    response = await bob.info(body)
    assert response.status == status
    assert response.headers.get("Warning").startswith('399 webims "The media_control body')
    assert passed_on == [] and the_call.state == "active"
    assert (await bob.info(PICTURE_FAST_UPDATE.encode())).status == 200  # and the next one is read as before


async def test_keyframe_needed_becomes_an_info_in_the_dialog_one_at_a_time(call):
    bob, the_call, _ = call
    the_call.bridge._deliver(KeyframeNeeded())  # as the media engine raises it (a PLI from her browser)
    info = await bob.ims.expect("INFO")
    request = info.request
    assert request.media_type == MEDIA_CONTROL
    assert MediaControl.parse(request.body) == PICTURE_FAST_UPDATE
    assert (request.call_id, request.to_tag, request.from_tag) == (bob.dialog.call_id, bob.dialog.local_tag,
                                                                   bob.dialog.remote_tag)

    the_call.bridge._deliver(KeyframeNeeded())  # while the first is unanswered, no second one
    with pytest.raises(trio.TooSlowError):
        await bob.ims.expect("INFO", timeout=0.5)
    await info.reply(200)
    await until(lambda: not the_call.keyframe_info_pending)

    the_call.bridge._deliver(KeyframeNeeded())  # answered: the next request goes out
    await (await bob.ims.expect("INFO")).reply(200)


async def test_a_phone_that_refuses_the_info_is_not_sent_another(call):
    bob, the_call, _ = call
    the_call.bridge._deliver(KeyframeNeeded())
    await (await bob.ims.expect("INFO")).reply(415)
    await until(lambda: the_call.keyframe_info_refused)
    the_call.bridge._deliver(KeyframeNeeded())
    with pytest.raises(trio.TooSlowError):
        await bob.ims.expect("INFO", timeout=0.5)
    assert the_call.state == "active"
