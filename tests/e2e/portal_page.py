"""The portal page as a test sees it: what Mary does (log in, dial, answer) and what she reads.

Locators go by role and label where the page has them (what a person or a screen reader finds); the voice
module's read-only test hooks (``window.webimsVoice``) give the call states and the remote audio's tone.
"""

from __future__ import annotations

import time

from playwright.sync_api import Locator, Page, expect


class PortalPage:
    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    # --- the shell and login --------------------------------------------------------------------------------------

    @property
    def status(self) -> Locator:
        return self.page.locator("#status")

    def open(self) -> PortalPage:
        self.page.goto(self.url)
        expect(self.page.get_by_label("Username")).to_be_visible()
        return self

    def login(self, username: str = "mary", password: str = "secret") -> PortalPage:
        if self.page.url in ("about:blank", ""):
            self.open()
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.wait_registered()
        expect(self.phone).to_be_visible()
        return self

    def wait_registered(self) -> None:
        expect(self.status).to_have_attribute("data-state", "registered")

    # --- the voice service ---------------------------------------------------------------------------------------

    @property
    def phone(self) -> Locator:
        return self.page.get_by_role("region", name="Voice calls", exact=True)

    @property
    def target(self) -> Locator:
        return self.page.get_by_label("Number or SIP address", exact=True)

    def dial(self, target: str, *, withhold: bool | None = False) -> None:
        """Call ``target``; ``withhold`` sets the call's "Withhold my number" first (None: as the page has it)."""
        self.target.fill(target)
        checkbox = self.page.get_by_label("Withhold my number", exact=True)
        if withhold is not None and checkbox.is_checked() != withhold:
            checkbox.click()
        self.page.get_by_role("button", name="Call", exact=True).click()

    def call_card(self, text: str) -> Locator:
        """The card of the call whose text (name, URI) contains ``text``."""
        return self.page.locator("li.call").filter(has_text=text)

    def banner(self, text: str | None = None) -> Locator:
        banners = self.page.locator(".incoming-call")
        return banners.filter(has_text=text) if text else banners

    def calls(self) -> list[dict]:
        return self.page.evaluate("webimsVoice.calls()")

    def call_id(self, text: str, timeout: float = 10) -> str:
        """The id of the call whose peer URI or name contains ``text``, once the gateway has named it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.calls():
                peer = call["peer"]
                if call["id"] and (text in peer["uri"] or text in peer["display_name"]):
                    return call["id"]
            self.page.wait_for_timeout(50)
        raise AssertionError(f"no call with {text!r} in {self.calls()}")

    def call_state(self, call_id: str) -> str | None:
        for call in self.calls():
            if call["id"] == call_id:
                return call["state"]
        return None

    def wait_for(self, predicate, timeout: float = 10, what: str = "the condition") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; calls: {self.calls()}")
            self.page.wait_for_timeout(50)

    def dominant_frequency(self, call_id: str) -> float | None:
        return self.page.evaluate("(id) => webimsVoice.dominantFrequency(id)", call_id)

    def wait_for_tone(self, call_id: str, hz: float, tolerance: float = 15, timeout: float = 10) -> None:
        self.wait_for(lambda: abs((self.dominant_frequency(call_id) or 0) - hz) <= tolerance, timeout,
                      f"a {hz} Hz tone on call {call_id}")

    def history(self) -> list[dict]:
        return self.page.evaluate("webimsVoice.history()")
