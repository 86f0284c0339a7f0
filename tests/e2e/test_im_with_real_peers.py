"""Messaging in the portal with the real im and voice services, the lab IMS core and baresip."""

from __future__ import annotations

import functools
import re

import pytest
from playwright.sync_api import expect

from webims.testing.gateway import start_gateway

from .portal_page import PortalPage

pytestmark = pytest.mark.interop
SETTINGS = {"auth": {"keepalive_interval": 5, "shutdown_seconds": 0.5},
            "voice": {"browser_addresses": ["127.0.0.1"], "ims_port_min": 44000, "ims_port_max": 44999}}


@pytest.fixture
def gateway(trio_thread, lab_core, tmp_path):
    settings = {**SETTINGS, "im": {"store_path": str(tmp_path / "im.sqlite")}}
    return trio_thread.start(functools.partial(
        start_gateway, services={"auth": True, "voice": True, "im": True}, settings=settings,
        ims={"proxy": lab_core.sip_uri, "domain": lab_core.domain}))


def open_conversation(portal: PortalPage, peer: str) -> None:
    portal.page.locator("#im-new-target").fill(peer)
    portal.page.locator("#im-new-open").click()


def send(portal: PortalPage, text: str) -> None:
    portal.page.locator("#im-compose").fill(text)
    portal.page.locator("#im-compose").press("Enter")


def test_mary_writes_to_a_native_phone_and_reads_its_reply(gateway, page, baresip_factory):
    bob = baresip_factory("bob", contacts=("sip:mary@ims.test",))
    mary = PortalPage(page, gateway.url).login("mary", "mary-secret")
    open_conversation(mary, "sip:bob@ims.test")
    send(mary, "Hello Bob, it's Mary ✓")
    expect(page.locator("#im-messages li.im-out").last).to_have_attribute("data-status", "sent", timeout=10_000)
    bob.send_message("sip:mary@ims.test", "Hi Mary, Bob here")
    expect(page.locator("#im-messages")).to_contain_text("Hi Mary, Bob here", timeout=10_000)
    assert any("Hello Bob" in message.text for message in bob.received_messages())


def test_a_message_sent_while_her_tab_was_closed_is_shown_when_she_logs_back_in(gateway, page, baresip_factory,
                                                                                  lab_core):
    lab_core.admin.deregister("sip:mary@ims.test")  # no binding left from an earlier test: she is offline
    bob = baresip_factory("bob", contacts=("sip:mary@ims.test",))
    bob.send_message("sip:mary@ims.test", "Call me when you are back")  # she is offline: the network keeps it
    PortalPage(page, gateway.url).login("mary", "mary-secret")
    conversations = page.locator("#im-conversations")
    expect(conversations).to_contain_text(re.compile("bob", re.I), timeout=10_000)
    conversations.locator("li", has_text=re.compile("bob", re.I)).get_by_role("button").first.click()
    expect(page.locator("#im-messages")).to_contain_text("Call me when you are back")


def test_during_a_call_with_bob_she_chats_with_him(gateway, new_page, screenshot):
    mary = PortalPage(new_page(), gateway.url).login("mary", "mary-secret")
    bob = PortalPage(new_page(), gateway.url).login("bob", "bob-secret")
    mary.dial("sip:bob@ims.test")
    bob.banner(re.compile("mary", re.I)).get_by_role("button", name="Answer").click()
    expect(mary.call_card("sip:bob@ims.test")).to_contain_text("Connected.", timeout=15_000)
    open_conversation(mary, "sip:bob@ims.test")
    mary.page.locator("#im-chat-toggle").click()
    expect(mary.page.locator("#im-chat-status")).to_contain_text("Chat session open", timeout=15_000)
    send(mary, "Can you see this while we talk?")
    conversations = bob.page.locator("#im-conversations")
    expect(conversations).to_contain_text(re.compile("mary", re.I), timeout=10_000)
    conversations.locator("li", has_text=re.compile("mary", re.I)).get_by_role("button").first.click()
    expect(bob.page.locator("#im-messages")).to_contain_text("Can you see this while we talk?", timeout=10_000)
    expect(mary.call_card("sip:bob@ims.test")).to_contain_text("Connected.")  # the call goes on beside the chat
    screenshot(mary.page, "chat-during-call")


def test_a_message_body_of_markup_is_shown_as_text(gateway, new_page):
    """XSS: what another person writes is text in the page, never HTML."""
    attack = '<img src=x onerror="document.title=\'pwned\'">'
    mary = PortalPage(new_page(), gateway.url).login("mary", "mary-secret")
    bob = PortalPage(new_page(), gateway.url).login("bob", "bob-secret")
    open_conversation(bob, "sip:mary@ims.test")
    send(bob, attack)
    conversations = mary.page.locator("#im-conversations")
    expect(conversations).to_contain_text(re.compile("bob", re.I), timeout=10_000)
    conversations.locator("li", has_text=re.compile("bob", re.I)).get_by_role("button").first.click()
    expect(mary.page.locator("#im-messages")).to_contain_text(attack)
    assert mary.page.locator("#im-messages img").count() == 0
    assert mary.page.title() != "pwned"
