"""A contact's Call and Message buttons (the presence module) reach the voice and im modules through the portal.

The usual fake world (fake IMS core, auth, the fake voice service) with the real presence and im services beside
it: the fake IMS core never answers their PUBLISHes or SUBSCRIBEs, so contacts' status stays unknown, which is
all these tests need.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .harness import FakeGateway
from .portal_page import PortalPage


@pytest.fixture
def world(trio_thread, tmp_path):
    return FakeGateway(trio_thread, services={
        "presence": {"store_path": str(tmp_path / "presence.sqlite"), "shutdown_seconds": 0.2},
        "im": {"store_path": str(tmp_path / "im.sqlite"), "shutdown_seconds": 0.2}})


@pytest.fixture
def mary(world, page):  # this order: the page closes before the gateway stops
    mary = PortalPage(page, world.url).login()
    page.locator("#presence-add-uri").fill("sip:bob@ims.test")
    page.locator("#presence-add-name").fill("Bob")
    page.locator("#presence-add").click()
    expect(page.locator('#presence-contacts li[data-uri="sip:bob@ims.test"]')).to_be_visible()
    return mary


def test_call_on_a_contact_calls_them_from_her_chosen_identity(mary, world, screenshot):
    mary.page.get_by_label("Act as").select_option("sip:mary.work@ims.test")
    mary.page.get_by_role("button", name="Call Bob", exact=True).click()
    expect(mary.call_card("sip:bob@ims.test")).to_contain_text("Connected")
    expect(mary.call_card("sip:bob@ims.test")).to_contain_text("Bob")  # the name she gave her contact
    screenshot(mary.page, "call-from-a-contact")
    start = world.requests("call.start")[-1]
    assert (start["target"], start["identity"], start["name"]) == ("sip:bob@ims.test", "sip:mary.work@ims.test", "Bob")


def test_message_on_a_contact_opens_the_conversation_ready_to_type(mary):
    mary.page.get_by_label("Write to (number or SIP address)").fill("a draft to someone else")
    mary.page.get_by_role("button", name="Message Bob", exact=True).click()
    expect(mary.page.locator("#im-conversation-title")).to_have_text("sip:bob@ims.test")
    expect(mary.page.locator("#im-compose")).to_be_focused()
    expect(mary.page.locator("#im-new-target")).to_have_value("a draft to someone else")
