"""The video service in a gateway with the voice service and the test kit's fake IMS core: what it adds to calls,
what the page learns, and the renegotiation request's refusals. Whole video calls: tests/unit/media/test_video.py
(the bridge) and tests/interop/video (baresip through the lab)."""

import pytest

from webims.errors import ConfigError
from webims.hookspecs import hookimpl
from webims.service import CallMedia, Service, collect_call_media
from webims.testing import BrowserError
from webims.testing.fake_ims import FakeAccount
from webims_video.plugin import VideoPlugin

MARY = FakeAccount("secret", ["sip:mary@ims.test"])
SETTINGS = {"auth": {"shutdown_seconds": 0.2},
            "voice": {"browser_addresses": ["127.0.0.1"], "ims_port_min": 43000, "ims_port_max": 43999},
            "video": {"codecs": ["h264"], "max_bitrate": 800, "max_width": 640, "max_height": 360,
                      "keyframe_request_info": "always"}}


@pytest.fixture
async def gateway(webims_gateway, fake_ims):
    ims = await fake_ims({"mary": MARY})
    return await webims_gateway({"auth": True, "voice": True, "video": True}, ims={"proxy": ims.uri},
                                settings=SETTINGS)


async def logged_in_tab(webims_browser, gateway):
    tab = await webims_browser(gateway)
    await tab.request("auth", "login", {"username": "mary", "password": "secret"})
    return tab


async def test_the_voice_service_gives_every_call_the_video_the_settings_allow(gateway):
    voice = gateway.plugins.services["voice"].plugin
    assert voice.call_media == (CallMedia("video", ("H264",), max_bitrate=800, max_width=640, max_height=360,
                                          max_framerate=30, keyframe_request_info="always"),)


async def test_the_page_learns_the_limits_to_ask_of_the_camera(gateway, webims_browser):
    tab = await logged_in_tab(webims_browser, gateway)
    assert await tab.request("video", "video.settings") == {
        "enabled": True, "codecs": ["H264"], "max_width": 640, "max_height": 360, "max_framerate": 30,
        "max_bitrate": 800}


async def test_renegotiating_a_call_that_is_not_there_says_so(gateway, webims_browser):
    tab = await logged_in_tab(webims_browser, gateway)
    with pytest.raises(BrowserError) as error:
        await tab.request("video", "video.renegotiate", {"call": "c99", "sdp": "v=0\r\n"})
    assert (error.value.code, error.value.message) == ("no_such_call", "That call has already ended.")


async def test_a_bad_codec_setting_is_a_config_problem_naming_the_key(webims_gateway):
    with pytest.raises(ConfigError, match="settings.video.codecs: must list VP8 and/or H264"):
        await webims_gateway({"video": True}, settings={"video": {"codecs": ["H263"]}})


async def test_keyframe_requests_by_sip_info_are_auto_always_or_never(webims_gateway):
    with pytest.raises(ConfigError, match="settings.video.keyframe_request_info: must be one of auto, always, "
                                          "never; not 'sometimes'"):
        await webims_gateway({"video": True}, settings={"video": {"keyframe_request_info": "sometimes"}})
    assert VideoPlugin().webims_settings_schema()["keyframe_request_info"].default == "auto"


class OtherVideo:
    """A third-party plugin that also adds video to calls."""

    @hookimpl
    def webims_service(self):
        return Service(name="other", version="1.0")

    @hookimpl
    def webims_call_media(self, settings):
        return CallMedia("video", ("VP8",))


async def test_two_plugins_adding_video_to_calls_is_a_startup_error_naming_both(webims_gateway):
    with pytest.raises(ExceptionGroup) as startup:  # the gateway's nursery carries it out
        await webims_gateway({"other": True, "video": True, "voice": True}, instances={"other": OtherVideo()},
                             settings={"voice": {"ims_port_min": 43000, "ims_port_max": 43999}})
    assert startup.group_contains(ConfigError, match="services.video: adds video to calls, as other does; enable "
                                                     "only one of them")


def test_collecting_asks_each_plugin_with_its_own_settings():
    class Host:
        services = {"video": type("Loaded", (), {"settings": {"codecs": ["VP8"], "max_bitrate": 100,
                                                              "max_width": 320, "max_height": 240,
                                                              "max_framerate": 15,
                                                              "keyframe_request_info": "never"}})()}

        def call_owner(self, name, hook_name, settings):
            return [VideoPlugin().webims_call_media(settings)]

    assert collect_call_media(Host()) == (CallMedia("video", ("VP8",), 100, 320, 240, 15, "never"),)
