"""STUN/TURN for her page (ice.servers): TURN credentials made per request with the operator's shared secret, only
for a logged-in page, and a configuration that cannot make them refused at start."""

import base64
import hashlib
import hmac
import time

import pytest

from webims.errors import ConfigError
from webims.testing import BrowserError
from webims.testing.fake_ims import FakeAccount
from webims_voice.ice_servers import IcePolicy, check_urls, for_browser, policy_problem, turn_credential

from .conftest import SETTINGS, logged_in

TURN = "turn:turn.example.net:3478?transport=udp"


def test_a_turn_credential_is_the_rest_api_scheme_coturn_checks():
    username, password = turn_credential("s3cret", "mary", 1_900_000_000)
    assert username == "1900000000:mary"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1900000000:mary", hashlib.sha1).digest()).decode()
    assert password == expected


def test_the_page_gets_stun_plainly_and_turn_with_a_credential_that_expires():
    policy = IcePolicy(("stun:stun.example.net", TURN), "s3cret", 3600, "relay")
    config = for_browser(policy, "mary", now=1000.5)
    assert config["transport_policy"] == "relay"
    stun, turn = config["ice_servers"]
    assert stun == {"urls": ["stun:stun.example.net"]}
    assert turn["urls"] == [TURN] and turn["username"] == "4600:mary"
    assert turn["credential"] == turn_credential("s3cret", "mary", 4600)[1]
    assert for_browser(IcePolicy(), "mary", now=0) == {"ice_servers": [], "transport_policy": "all"}


def test_urls_and_the_secret_are_checked():
    assert check_urls(["stun:a.example", TURN, "turns:b.example:443?transport=tcp"]) is None
    assert check_urls(["http://a.example"]) == "'http://a.example' is not a stun:, turn: or turns: URL"
    assert check_urls(["turn:"]) is not None
    assert "turn_secret" in policy_problem(IcePolicy((TURN,)))
    assert "no TURN URL" in policy_problem(IcePolicy(("stun:a.example",), transport_policy="relay"))
    assert policy_problem(IcePolicy(("stun:a.example",))) is None
    assert policy_problem(IcePolicy((TURN,), "s3cret", transport_policy="relay")) is None


async def test_a_logged_in_page_gets_its_servers_and_a_page_that_is_not_gets_nothing(
        webims_gateway, webims_browser, fake_ims, tmp_path):
    ims = await fake_ims({"mary": FakeAccount("secret", ["sip:mary@ims.test"])})
    voice = {**SETTINGS["voice"], "call_settings_path": str(tmp_path / "calls.sqlite"), "page_ice_servers": [TURN],
             "turn_secret": "s3cret", "turn_credential_seconds": 600, "ice_transport_policy": "relay"}
    gateway = await webims_gateway({"auth": True, "voice": True}, ims={"proxy": ims.uri},
                                   settings={**SETTINGS, "voice": voice})
    stranger = await webims_browser(gateway)
    with pytest.raises(BrowserError) as error:
        await stranger.request("voice", "ice.servers")
    assert error.value.code == "not_logged_in"
    tab = await logged_in(webims_browser, gateway)
    before = int(time.time())
    config = await tab.request("voice", "ice.servers")
    [turn] = config["ice_servers"]
    expires, _, who = turn["username"].partition(":")
    assert who == "mary" and before + 600 <= int(expires) <= int(time.time()) + 600
    assert turn["credential"] == turn_credential("s3cret", "mary", int(expires))[1]
    assert config["transport_policy"] == "relay"


async def test_turn_urls_without_a_secret_or_a_bad_url_stop_the_gateway_with_a_reason(webims_gateway, tmp_path):
    voice = {**SETTINGS["voice"], "call_settings_path": str(tmp_path / "calls.sqlite")}
    with pytest.raises(ConfigError) as error:
        await webims_gateway({"auth": True, "voice": True}, settings={**SETTINGS, "voice": {
            **voice, "page_ice_servers": ["https://turn.example.net"]}})
    assert "is not a stun:, turn: or turns: URL" in str(error.value)
    with pytest.raises(BaseExceptionGroup) as error:
        await webims_gateway({"auth": True, "voice": True}, settings={**SETTINGS, "voice": {
            **voice, "page_ice_servers": [TURN]}})
    [problem] = error.value.exceptions
    assert str(problem) == ("[settings.voice] page_ice_servers has TURN URLs but turn_secret (the TURN server's "
                            "static-auth-secret) is not set.")
