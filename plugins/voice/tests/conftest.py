"""Mary's answered call to Bob through the test kit's fake IMS core, where Bob's phone is played by the test."""

import random
import socket

import attrs
import pytest
import trio

from webims.sip import new_tag
from webims.sip.dialog import Dialog, dialog_response
from webims.sip.media_control import MEDIA_TYPE as MEDIA_CONTROL
from webims.testing.fake_ims import FakeAccount

MARY = FakeAccount("secret", ["sip:mary@ims.test"])
SETTINGS = {"auth": {"shutdown_seconds": 0.2},
            "voice": {"browser_addresses": ["127.0.0.1"], "ims_port_min": 43000, "ims_port_max": 43999}}
PHONE_PORTS = range(44000, 44998, 2)  # Bob's even RTP ports, RTCP on the next: away from the gateway's


def bobs_sdp(port: int) -> bytes:
    return (b"v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            b"m=audio %d RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n" % port)


async def rtp_and_rtcp_sockets() -> tuple[trio.socket.SocketType, trio.socket.SocketType]:
    """A bound RTP/RTCP port pair for Bob's phone, as a phone has one (RFC 3550 §11)."""
    for port in random.sample(PHONE_PORTS, 50):
        rtp, rtcp = trio.socket.socket(type=socket.SOCK_DGRAM), trio.socket.socket(type=socket.SOCK_DGRAM)
        try:
            await rtp.bind(("127.0.0.1", port))
            await rtcp.bind(("127.0.0.1", port + 1))
        except OSError:
            rtp.close()
            rtcp.close()
            continue
        return rtp, rtcp
    raise OSError("no free RTP/RTCP port pair for Bob's phone")


@attrs.define
class BobsPhone:
    """Bob's side of the call, played by the fake IMS core: answers Mary's INVITE, sends INFO in the dialog."""

    ims: object
    rtp: trio.socket.SocketType  # his media sockets, named in his SDP
    rtcp: trio.socket.SocketType
    dialog: Dialog | None = None
    invite: object = None  # the last INVITE of Mary's he answered

    async def answer_marys_invite(self) -> None:
        incoming = await self.ims.expect("INVITE")
        self.invite = incoming.request
        ok = dialog_response(incoming.request, 200, to_tag=new_tag(),
                             contact=f"<sip:bob@127.0.0.1:{self.ims.address.port}>",
                             headers=[("Content-Type", "application/sdp")],
                             body=bobs_sdp(self.rtp.getsockname()[1]))
        await incoming.respond(ok)
        self.dialog = Dialog.from_uas(incoming.request, ok)

    async def info(self, body: bytes, content_type: str = MEDIA_CONTROL):
        return await self._send("INFO", body=body, content_type=content_type)

    async def hang_up(self):
        return await self._send("BYE")

    async def _send(self, method: str, **body):
        agent = self.ims.agent(self.ims.bindings["mary"].source)
        return await agent.send(agent.with_via(self.dialog.create_request(method, **body)), authenticate=False)


@attrs.frozen
class AnsweredCall:
    tab: object
    bob: BobsPhone
    call: object  # the voice plugin's Call
    browser: object  # Mary's WebRTC peer (aiortc)


@pytest.fixture
async def call_bob(webims_gateway, webims_browser, webrtc_browser, fake_ims):
    """``await call_bob(settings)``: Mary's call to Bob, answered, with audio connected on her browser's side,
    through a gateway with those voice ``settings`` (SETTINGS by default)."""
    bobs = []

    async def call(settings: dict = SETTINGS) -> AnsweredCall:
        ims = await fake_ims({"mary": MARY})
        gateway = await webims_gateway({"auth": True, "voice": True}, ims={"proxy": ims.uri}, settings=settings)
        tab = await webims_browser(gateway)
        await tab.request("auth", "login", {"username": "mary", "password": "secret"})
        browser = webrtc_browser(("PCMU",))
        bob = BobsPhone(ims, *await rtp_and_rtcp_sockets())
        bobs.append(bob)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(bob.answer_marys_invite)
            started = await tab.request("voice", "call.start", {"target": "sip:bob@ims.test",
                                                                "sdp": await browser.offer()})
        await browser.accept_answer(started["sdp"])
        await tab.next_event("voice", "call.answered")
        return AnsweredCall(tab, bob, gateway.plugins.services["voice"].plugin.calls[started["call"]], browser)

    yield call
    for bob in bobs:
        await bob.hang_up()  # else the gateway's own BYE at shutdown waits for an answer nobody gives
        bob.rtp.close()
        bob.rtcp.close()


@pytest.fixture
async def answered_call(call_bob):
    """Mary's call to Bob, answered, with audio connected on her browser's side."""
    return await call_bob()


# --- Mary's call settings (forwarding, barring): calls from Bob, played by the fake core --------------------------

MARY_TWO_NUMBERS = FakeAccount("secret", ["sip:mary@ims.test", "tel:+15550100"])


@pytest.fixture
async def marys_gateway(webims_gateway, fake_ims, tmp_path):
    """(gateway, fake IMS core) for Mary, whose call settings live in a file of this test's own."""
    ims = await fake_ims({"mary": MARY_TWO_NUMBERS})
    voice = {**SETTINGS["voice"], "call_settings_path": str(tmp_path / "call-settings.sqlite")}
    gateway = await webims_gateway({"auth": True, "voice": True}, ims={"proxy": ims.uri},
                                   settings={**SETTINGS, "voice": voice})
    return gateway, ims


async def logged_in(webims_browser, gateway):
    tab = await webims_browser(gateway)
    await tab.request("auth", "login", {"username": "mary", "password": "secret"})
    return tab


async def bob_calls_mary(ims, *, caller: str = "sip:bob@ims.test", headers=()):
    """``caller``'s INVITE to Mary's registered contact; returns the transaction (its final response comes later)."""
    agent, invite = ims.request_to("mary", "INVITE", from_uri=caller, to_uri="sip:mary@ims.test",
                                   body=bobs_sdp(44990), content_type="application/sdp",
                                   headers=[("Contact", f"<sip:bob@127.0.0.1:{ims.address.port}>"),
                                            ("P-Asserted-Identity", f"<{caller}>"), *headers])
    return await agent.start(invite)


async def final(transaction, timeout=10):
    with trio.fail_after(timeout):
        return await transaction.final_response()
