"""Video calls in the portal with the real voice and video services, the lab IMS core and baresip."""

from __future__ import annotations

import functools
import re

import pytest
from playwright.sync_api import expect

from webims.testing.gateway import start_gateway

from .portal_page import PortalPage

pytestmark = pytest.mark.interop
SETTINGS = {"auth": {"keepalive_interval": 5, "shutdown_seconds": 0.5},
            "voice": {"browser_addresses": ["127.0.0.1"], "ims_port_min": 45000, "ims_port_max": 45999}}


@pytest.fixture
def gateway(trio_thread, lab_core):
    return trio_thread.start(functools.partial(
        start_gateway, services={"auth": True, "voice": True, "video": True}, settings=SETTINGS,
        ims={"proxy": lab_core.sip_uri, "domain": lab_core.domain}))


def remote_picture(portal: PortalPage) -> tuple[int, int]:
    calls = portal.page.evaluate("window.webimsVideo.calls()")
    return max(((c["remote"]["width"], c["remote"]["height"]) for c in calls), default=(0, 0))


def camera_is_on(portal: PortalPage) -> bool:
    return any(call["cameraOn"] for call in portal.page.evaluate("window.webimsVideo.calls()"))


def test_a_video_call_between_two_browsers_through_the_gateway_and_the_lab(gateway, new_page, screenshot):
    mary = PortalPage(new_page(), gateway.url).login("mary", "mary-secret")
    bob = PortalPage(new_page(), gateway.url).login("bob", "bob-secret")
    mary.dial("sip:bob@ims.test")
    bob.banner(re.compile("mary", re.I)).get_by_role("button", name="Answer").click()
    expect(mary.call_card("sip:bob@ims.test")).to_contain_text("Connected.", timeout=15_000)
    mary.wait_for(lambda: camera_is_on(mary), what="Mary's camera on")  # calls start with the camera on
    bob.wait_for(lambda: camera_is_on(bob), what="Bob's camera on")
    bob.wait_for(lambda: remote_picture(bob)[0] > 0, timeout=20, what="Mary's picture at Bob's")
    mary.wait_for(lambda: remote_picture(mary)[0] > 0, timeout=20, what="Bob's picture at Mary's")
    screenshot(mary.page, "video-call")


def test_a_video_call_to_a_native_phone(gateway, page, baresip_factory):
    phone = baresip_factory("bob", video="VP8")
    mary = PortalPage(page, gateway.url).login("mary", "mary-secret")
    mary.dial("sip:bob@ims.test")
    expect(mary.call_card("sip:bob@ims.test")).to_contain_text("Connected.", timeout=15_000)
    mary.wait_for(lambda: camera_is_on(mary), what="Mary's camera on")
    mary.wait_for(lambda: remote_picture(mary)[0] > 0, timeout=20, what="the phone's picture in the page")
    assert phone.snapshot_received(timeout=10).stat().st_size > 0  # the phone decoded a frame of hers
