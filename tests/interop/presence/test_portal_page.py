"""The presence page module in Debian's headless Chromium, against the gateway and the lab: her status from the
header reaches a contact's list live, and blocking a watcher there takes her status away from him."""

from pathlib import Path

import pytest
import trio

pytestmark = [pytest.mark.interop, pytest.mark.e2e]
CHROMIUM = Path("/usr/bin/chromium")
MARY = '#presence-contacts li[data-uri="sip:mary@ims.test"]'


def logged_in_page(browser, url: str, username: str, password: str, problems: list[str]):
    page = browser.new_context().new_page()
    page.on("console", lambda message: message.type == "error" and problems.append(f"{username}: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"{username}: {error}"))
    page.goto(url)
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#presence:not([hidden])")
    return page


def browse(url: str) -> dict:
    """Mary and Carol in two browser contexts (two people): what Carol's page shows as Mary acts."""
    from playwright.sync_api import sync_playwright

    problems, seen = [], {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            mary = logged_in_page(browser, url, "mary", "mary-secret", problems)
            carol = logged_in_page(browser, url, "carol", "carol-secret", problems)
            carol.fill("#presence-add-uri", "mary@ims.test")
            carol.fill("#presence-add-name", "Mary")
            carol.fill("#presence-add-group", "Friends")
            carol.click("#presence-add")
            carol.wait_for_selector(f'{MARY}[data-basic="open"]')
            mary.select_option("#presence-status", "busy")
            mary.fill("#presence-note", "<b>in the lab</b>")
            mary.press("#presence-note", "Enter")
            carol.wait_for_selector(f'{MARY}[data-activity="busy"]')
            carol.wait_for_selector(f'{MARY}:has-text("in the lab")')  # the note may follow the activity
            seen["busy"] = carol.inner_text(MARY)
            carol.click(f'{MARY} button[aria-label="Edit Mary"]')
            carol.fill('input[aria-label="Name for sip:mary@ims.test"]', "Mary W.")
            carol.fill('input[aria-label="Group for sip:mary@ims.test"]', "Work")
            carol.click(f"{MARY} button[type=submit]")
            carol.wait_for_selector(f'{MARY}:has-text("Mary W.")')
            seen["groups"] = carol.inner_text("#presence-contacts")
            mary.click('#presence-watchers li[data-uri="sip:carol@ims.test"] button[aria-label^="Block"]')
            carol.wait_for_selector(f'{MARY}[data-basic="unknown"]')
            seen["blocked"] = carol.inner_text(MARY)
        finally:
            browser.close()
    return {"problems": problems, **seen}


async def test_her_header_status_reaches_a_contact_live_and_blocking_stops_it(gateway):
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: install it: apt-get install chromium")
    seen = await trio.to_thread.run_sync(browse, gateway.url)
    assert seen["problems"] == []
    assert "Mary" in seen["busy"] and "Busy" in seen["busy"]
    assert "<b>in the lab</b>" in seen["busy"]  # the note is text, never markup
    assert "Not sharing status with you." in seen["blocked"]
    assert seen["groups"].splitlines()[0] == "Work"  # her groups head their contacts
