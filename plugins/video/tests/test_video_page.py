"""The video page module in Debian's headless Chromium, in a stand-in world (tests/page/harness.js): the voice
module's extension point, a client whose gateway is a second RTCPeerConnection in the page, one call. It checks
what only a real browser can: the camera opens, the other side's picture plays, and the camera button
renegotiates the call's own connection. (Whole calls through a gateway: tests/interop/video.)"""

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

import webims

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
STATIC = Path(__file__).parents[1] / "webims_video" / "static"
ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.fixture
def site(tmp_path):
    """The module's files and the harness, served over HTTP on loopback (ES modules need it), with the core's
    page helpers at /static/ as the gateway serves them."""
    for source in [*STATIC.iterdir(), *(Path(__file__).parent / "page").iterdir()]:
        shutil.copy(source, tmp_path / source.name)
    shutil.copytree(Path(webims.__file__).parent / "static", tmp_path / "static")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/harness.html"
    server.shutdown()


@pytest.fixture
def page(site):
    if not CHROMIUM.exists():
        pytest.fail("Browser tests drive Debian's Chromium: apt-get install chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.goto(site)
        yield page
        browser.close()
        assert not errors, errors


def test_a_call_gets_her_camera_the_other_sides_picture_and_a_camera_button_that_renegotiates(page):
    page.evaluate("window.harness.startCall()")
    page.wait_for_function("window.webimsVideo.calls()[0]?.cameraOn === true")
    page.evaluate("window.harness.event('call.media', {video: {codec: 'VP8', to_browser: true, to_ims: true,"
                  " reason: '', reoffer: false}})")
    page.wait_for_function("window.webimsVideo.calls()[0].remote.width > 0", timeout=10000)
    assert page.locator(".video-status").inner_text() == "You see the other side; they see you."
    assert page.evaluate("window.harness.lastOfferDirection()") == "sendrecv"

    page.click("button.video-camera")  # camera off: a new offer on the same connection, video receive-only
    page.wait_for_function("window.harness.offers() === 2")
    assert page.evaluate("window.harness.lastOfferDirection()") == "recvonly"
    assert page.locator("button.video-camera").inner_text() == "Camera on"
    assert page.locator(".video-self").is_hidden()

    page.click("button.video-camera")
    page.wait_for_function("window.harness.offers() === 3")
    assert page.evaluate("window.harness.lastOfferDirection()") == "sendrecv"
    assert page.evaluate("window.webimsVideo.calls()[0].cameraOn")


def test_a_reason_from_the_gateway_is_shown_and_a_reoffer_request_is_followed(page):
    page.evaluate("window.harness.startCall()")
    page.wait_for_function("window.webimsVideo.calls()[0]?.cameraOn === true")
    page.evaluate("window.harness.event('call.media', {video: {codec: 'H.264', to_browser: true, to_ims: true,"
                  " reason: '', reoffer: true}})")
    page.wait_for_function("window.harness.offers() === 2")  # the page sent a new offer by itself
    page.evaluate("window.harness.event('call.media', {video: {codec: null, to_browser: false, to_ims: false,"
                  " reason: 'The other phone offers only H.263 video; this gateway relays VP8 and H.264.',"
                  " reoffer: false}})")
    assert page.locator(".video-status").inner_text() == ("The other phone offers only H.263 video; this gateway "
                                                          "relays VP8 and H.264.")
