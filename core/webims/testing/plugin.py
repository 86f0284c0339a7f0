"""pytest plugin (entry point ``pytest11``): test one webims plugin in isolation, as pytester tests pytest plugins.

Fixtures (pytest-trio, ``trio_mode = true``):

- ``webims_gateway``: ``await webims_gateway(services={...}, instances={...}, settings={...}, **gateway_keys)``
  starts an in-process gateway with only what you name enabled; it stops when the test ends.
- ``webims_browser``: ``await webims_browser(gateway)`` opens a protocol-level browser tab (hello done) on it.
- ``fake_ims``: ``await fake_ims({"mary": FakeAccount("pw", ["sip:mary@ims.test"])})`` starts a small scriptable
  IMS core (registrar with digest, reg event); point the gateway at it with ``ims={"proxy": ims.uri}``.
- ``webrtc_browser``: ``make()`` an aiortc peer that sends a 440 Hz tone and records what it hears.
- ``lab_core``, ``baresip_factory``, ``sipp``: real peers (Kamailio lab, baresip, SIPp), see webims.testing.peers.
- ``sip_peer``: ``await sip_peer()`` starts a scriptable SIP peer (``webims.testing.sip_peer.SipPeer``) on a
  free loopback port: ``expect()`` requests and answer them, or send requests of its own.
"""

from __future__ import annotations

import pytest

from webims.testing.browser import BrowserClient, BrowserError, open_browser
from webims.testing.gateway import make_config, start_gateway
# Native peers (Kamailio lab, baresip, SIPp): lab_core, baresip_factory, sipp.
from webims.testing.peers.fixtures import baresip_factory, lab_core, sipp  # noqa: F401

__all__ = ["BrowserClient", "BrowserError", "make_config"]


@pytest.fixture
async def webims_gateway(nursery):
    async def start(services=None, *, instances=None, settings=None, ims=None, **gateway):
        return await start_gateway(nursery, services, instances=instances, settings=settings, ims=ims, **gateway)
    return start


@pytest.fixture
async def sip_peer(nursery):
    from webims.testing.sip_peer import SipPeer

    async def start(answer_within: float = 30) -> SipPeer:
        return await SipPeer(answer_within).start(nursery)
    return start


@pytest.fixture
async def fake_ims(nursery):
    from webims.testing.fake_ims import FakeIms

    async def start(accounts) -> FakeIms:
        return await FakeIms(accounts).start(nursery)
    return start


@pytest.fixture
def loopback_ice(monkeypatch):
    """Let aiortc peers in this process offer 127.0.0.1, which aioice leaves out of its candidates (NOTES)."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture
async def webrtc_browser(loopback_ice):
    """``make(codecs=("opus",), tone=440)``: an aiortc peer playing a browser's WebRTC side (webims.testing.webrtc)."""
    from webims.media.loop_thread import LoopThread
    from webims.testing.webrtc import BrowserHandle, FakeBrowser

    loop = LoopThread("test-browsers")
    loop.start()
    made = []

    def make(codecs=("opus",), tone=440):
        made.append(BrowserHandle(loop, FakeBrowser(codecs, tone)))
        return made[-1]

    yield make
    for handle in made:
        await handle.close()
    await loop.stop()


@pytest.fixture
async def webims_browser(nursery):
    async def open_tab(gateway, *, origin=None, hello=True) -> BrowserClient:
        return await open_browser(nursery, gateway.url, origin=origin, hello=hello)
    return open_tab


# --- im: an MSRP peer for chat tests (added by the im service; webims.testing.msrp_peer) -------------------------

@pytest.fixture
async def msrp_peer(nursery):
    """``await msrp_peer()``: a scriptable MSRP endpoint (:class:`webims.testing.msrp_peer.MsrpPeer`) on a free
    loopback port, the other side of a chat: it listens or connects, sends and answers what it is told, and can
    break framing or vanish mid-chunk."""
    from webims.testing.msrp_peer import MsrpPeer

    async def start() -> MsrpPeer:
        return await MsrpPeer().start(nursery)
    return start
