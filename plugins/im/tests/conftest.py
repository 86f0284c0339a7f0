"""The im service against the test kit's fake IMS core: a gateway with auth and im, Mary logged in."""

import pytest

from webims.sip import Request
from webims.testing.fake_ims import FakeAccount

MARY = FakeAccount("secret", ["sip:mary@ims.test", "tel:+15550100", "sip:mary.work@ims.test"])
AUTH = {"keepalive_interval": 5, "grace_seconds": 5, "shutdown_seconds": 0.2}


@pytest.fixture
async def ims(fake_ims):
    return await fake_ims({"mary": MARY})


@pytest.fixture
def im_settings(tmp_path, request):
    """The im settings of the test's gateway; a test changes some with parametrize(..., indirect=True)."""
    return {"store_path": str(tmp_path / "im.sqlite"), "max_incoming_bytes": 16384, "shutdown_seconds": 0.2,
            **getattr(request, "param", {})}


@pytest.fixture
async def gateway(webims_gateway, ims, im_settings):
    return await webims_gateway({"auth": True, "im": True}, ims={"proxy": ims.uri},
                                settings={"auth": AUTH, "im": im_settings})


@pytest.fixture
def login(webims_browser, gateway):
    async def log_in():
        tab = await webims_browser(gateway)
        await tab.request("auth", "login", {"username": "mary", "password": "secret"})
        return tab
    return log_in


@pytest.fixture
def deliver(ims):
    """``await deliver(body, content_type, called=..., sender=...)``: the fake IMS core delivers a MESSAGE to
    Mary's registered contact as the S-CSCF would (asserted sender, called identity); returns the status."""
    async def to_mary(body: bytes, content_type="text/plain;charset=utf-8", *, called="sip:mary@ims.test",
                      sender="sip:bob@ims.test", headers=()) -> int:
        return await _message_to_mary(ims, body, content_type, called, sender, headers)
    return to_mary


async def _message_to_mary(ims, body, content_type, called, sender, headers) -> int:
    binding = ims.bindings["mary"]
    agent = ims.agent(binding.source)
    contact = binding.contact.split(">")[0].lstrip("<")
    fields = [("P-Asserted-Identity", f'"Bob" <{sender}>'), ("P-Called-Party-ID", f"<{called}>"), *headers]
    request: Request = agent.build_request("MESSAGE", contact, from_uri=sender, to_uri=called, route=(),
                                           headers=fields, body=body, content_type=content_type)
    return (await agent.send(request, authenticate=False)).status

