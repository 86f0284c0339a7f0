"""The portal window: logging in, the status bar, reloads, remote text, and how it fits a phone and a keyboard."""

from __future__ import annotations

import re

from playwright.sync_api import expect

XSS = "<img src=x onerror=alert(1)>"


def test_logging_in_registers_and_shows_the_phone(portal, screenshot):
    portal.open()
    expect(portal.status).to_have_text("Not logged in")
    expect(portal.phone).to_be_hidden()
    screenshot(portal.page, "login")
    portal.login()
    expect(portal.status).to_have_text("Registered as sip:mary@ims.test")
    expect(portal.page.get_by_label("Act as")).to_have_value("sip:mary@ims.test")
    expect(portal.page.get_by_text("Calls go out from sip:mary@ims.test.")).to_be_visible()
    screenshot(portal.page, "idle")


def test_a_wrong_password_is_refused_with_a_reason_and_no_phone(portal, screenshot):
    portal.open()
    portal.page.get_by_label("Username").fill("mary")
    portal.page.get_by_label("Password").fill("wrong")
    portal.page.get_by_role("button", name="Log in").click()
    expect(portal.page.get_by_role("alert")).to_have_text("The username or password is not correct.")
    expect(portal.page.get_by_label("Password")).to_be_focused()
    expect(portal.phone).to_be_hidden()
    screenshot(portal.page, "login-error")


def test_the_identity_picker_changes_who_calls_go_out_from(portal, fake_gateway):
    portal.login()
    portal.page.get_by_label("Act as").select_option("sip:mary.work@ims.test")
    expect(portal.page.get_by_text("Calls go out from sip:mary.work@ims.test.")).to_be_visible()
    portal.dial("bob")
    expect(portal.call_card("bob")).to_contain_text("Connected")
    assert fake_gateway.requests("call.start")[-1]["identity"] == "sip:mary.work@ims.test"


def test_a_reload_within_the_grace_period_keeps_the_session(portal, fake_gateway):
    portal.login()
    registers = len(fake_gateway.ims.registers())
    portal.page.reload()
    portal.wait_registered()
    expect(portal.phone).to_be_visible()
    expect(portal.page.get_by_label("Username")).to_be_hidden()
    assert len(fake_gateway.ims.registers()) == registers  # resumed with the token: no new REGISTER


def test_logging_out_hides_the_phone_and_asks_for_credentials_again(portal):
    portal.login()
    portal.page.get_by_role("button", name="Log out").click()
    expect(portal.page.get_by_label("Username")).to_be_visible()
    expect(portal.phone).to_be_hidden()
    expect(portal.status).to_have_text("You logged out.")
    expect(portal.status).to_have_attribute("data-state", "idle")
    portal.page.reload()  # the token went with the logout
    expect(portal.page.get_by_label("Username")).to_be_visible()


def test_going_offline_says_so_and_coming_back_restores_the_registration(portal):
    portal.login()
    portal.page.context.set_offline(True)
    expect(portal.status).to_have_attribute("data-state", "offline")
    expect(portal.status).to_contain_text("Offline: this device has no network connection.")
    portal.page.context.set_offline(False)
    expect(portal.status).to_have_text("Registered as sip:mary@ims.test")


def test_remote_text_is_shown_as_text_never_as_markup(portal, fake_gateway):
    dialogs = []
    portal.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    portal.login()
    call = fake_gateway.incoming_call("sip:x@ims.test", XSS)
    banner = portal.banner()
    expect(banner.get_by_text(XSS, exact=True)).to_be_visible()
    fake_gateway.remote_hangup(call, reason=f"Hung up by {XSS}")
    expect(portal.page.locator(".voice-last")).to_have_text(
        f"Missed call from {XSS} (sip:x@ims.test): Hung up by {XSS}")
    expect(portal.page.locator(".voice-history").get_by_text(XSS, exact=True)).to_be_visible()
    assert portal.page.locator("img:not(#operator-logo)").count() == 0
    assert dialogs == []


def test_at_phone_width_nothing_is_cut_off_or_scrolls_sideways(portal, fake_gateway):
    portal.page.set_viewport_size({"width": 375, "height": 740})
    portal.login()
    assert _horizontal_overflow(portal.page) == []
    fake_gateway.incoming_call("sip:bartholomew.longname@ims.test", "Bartholomew Longname-Featherstonehaugh")
    expect(portal.banner()).to_be_visible()
    assert _horizontal_overflow(portal.page) == []
    portal.banner().get_by_role("button", name="Answer").click()
    expect(portal.call_card("Bartholomew")).to_contain_text("Connected")
    assert _horizontal_overflow(portal.page) == []


def test_every_control_has_a_label_and_keyboard_focus_is_visible(portal, fake_gateway):
    portal.login()
    fake_gateway.incoming_call()
    portal.banner().get_by_role("button", name="Answer").click()
    expect(portal.call_card("Bob")).to_contain_text("Connected")
    unlabelled = portal.page.evaluate("""() => [...document.querySelectorAll('button, input, select, summary')]
        .filter((el) => el.offsetParent !== null || el.tagName === 'SUMMARY')
        .filter((el) => {
          const text = (el.getAttribute('aria-label') || el.textContent || '').trim();
          const labelled = el.labels && el.labels.length > 0 || el.getAttribute('aria-labelledby');
          return ['INPUT', 'SELECT'].includes(el.tagName) ? !labelled && !el.getAttribute('aria-label') : !text;
        })
        .map((el) => el.outerHTML.slice(0, 120))""")
    assert unlabelled == []
    # Tab through the whole page: every stop is visible and shows a focus ring.
    portal.page.locator("body").click(position={"x": 2, "y": 2})
    seen = set()
    for _ in range(40):
        portal.page.keyboard.press("Tab")
        focused = portal.page.evaluate("""() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const name = el.getAttribute('aria-label') || el.labels?.[0]?.textContent || el.textContent || '';
            return { tag: el.tagName, name: name.trim(),
                     visible: el.offsetParent !== null || el.tagName === 'SUMMARY',
                     ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
        }""")
        if focused["tag"] == "BODY":
            continue
        assert focused["visible"] and focused["ring"], focused
        seen.add(focused["name"])
    assert {"Act as", "Log out", "Number or SIP address", "Call", "Mute", "Hold", "Hang up"} <= seen, seen


def test_the_dialer_works_from_the_keyboard_alone(portal):
    portal.login()
    portal.target.focus()
    portal.page.keyboard.type("bob")
    portal.page.keyboard.press("Enter")
    card = portal.call_card("bob")
    expect(card).to_contain_text("Connected")
    card.get_by_role("button", name="Hang up").focus()
    portal.page.keyboard.press("Enter")
    expect(portal.page.locator(".voice-last")).to_contain_text("You hung up.")


def _horizontal_overflow(page) -> list[str]:
    """Elements sticking out of the viewport sideways (what makes a phone scroll horizontally)."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const out = [];
        if (document.documentElement.scrollWidth > width) out.push(`page is ${document.documentElement.scrollWidth}px wide`);
        for (const el of document.querySelectorAll('body *')) {
          const box = el.getBoundingClientRect();
          if (box.width && (box.right > width + 1 || box.left < -1) && el.offsetParent !== null)
            out.push(`${el.tagName}.${el.className} ${Math.round(box.left)}..${Math.round(box.right)}`);
        }
        return out;
    }""")


def test_no_page_script_builds_html_from_strings_or_uses_inline_style(request):
    root = request.config.rootpath
    files = [*root.glob("core/webims/static/*"), *root.glob("plugins/auth/webims_auth/static/*"),
             *root.glob("plugins/voice/webims_voice/static/*")]
    assert any(f.name == "voice.js" for f in files)
    for path in files:
        text = path.read_text()
        if path.suffix == ".js":
            assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", text), path
            assert not re.search(r"setAttribute\(\s*[\"']style", text), path
        if path.suffix == ".html":
            assert not re.search(r"\sstyle\s*=", text), path
            assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text), path
            assert not re.search(r"\son[a-z]+\s*=", text), path
