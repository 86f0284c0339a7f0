"""Browser end-to-end tests: Debian's headless Chromium, driven by Playwright's sync API.

Tests here are synchronous (pytest-trio's ``trio_mode`` only affects ``async def`` tests); anything trio, such
as a gateway, runs in a background thread (``harness.TrioThread``). Every item in this folder is marked ``e2e``.
The session's Playwright keeps an asyncio loop in the main thread until the session ends, which is why setup.cfg
runs this folder last.

Fixtures, for these tests and for any other browser test (the real-peer ones reuse all but the fake world):

``chromium_executable`` (session)
    ``/usr/bin/chromium``; the test fails with "install it: apt-get install chromium" when it is missing.
``fake_microphone_wav`` (session)
    A 10 s, 440 Hz, 48 kHz mono WAV that Chromium's fake microphone plays (in a loop).
``chromium_args`` (session)
    The command-line flags (NOTES): fake media devices and UI, the WAV, loopback ICE candidates, no sandbox, no
    GPU, no background traffic, and autoplay without a gesture (a test cannot "click" before a reload's audio).
    Playwright gives each launch a fresh temporary profile (it refuses ``--user-data-dir``).
``browser`` (session)
    One Chromium for the whole run (a cold start costs seconds; NOTES).
``new_page`` (function)
    ``new_page(url=None, *, viewport=DESKTOP, **context_options) -> Page``: a page in a fresh context (own
    cookies and storage), watched by ``console_guard``. Call it twice for two independent users or tabs.
``page`` (function)
    ``new_page()``, for the common one-page test.
``console_guard`` (function)
    Fails the test if any of its pages logged a console error or threw an uncaught exception.
    ``console_guard.allow(r"regex")`` for the rare error a test causes on purpose.
``screenshot`` (function)
    ``screenshot(page, "ringing")`` saves ``test-artifacts/ringing-desktop.png`` (1280×800) and
    ``ringing-phone.png`` (390×844, full page) and gives the page its viewport back.
``trio_thread`` (function)
    A started ``TrioThread`` (stopped after the test): ``trio_thread.start(lambda nursery: ...)``, ``.run(fn)``.
``fake_gateway`` (function)
    The fake world of the portal tests (``harness.FakeGateway``): fake IMS core, auth, fake voice service.
``portal`` (function)
    A ``PortalPage`` (page object: login, dial, banners, test hooks) on ``page`` and ``fake_gateway``.
"""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np
import pytest

from .harness import FakeGateway, TrioThread
from .portal_page import PortalPage

CHROMIUM = Path("/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
MICROPHONE_HZ = 440


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"Browser tests drive Debian's Chromium, and {CHROMIUM} is missing: install it: "
                    "apt-get install chromium", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def fake_microphone_wav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("microphone") / f"tone-{MICROPHONE_HZ}hz.wav"
    rate = 48000
    t = np.arange(10 * rate) / rate
    samples = (np.sin(2 * np.pi * MICROPHONE_HZ * t) * 0.3 * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


@pytest.fixture(scope="session")
def chromium_args(fake_microphone_wav) -> list[str]:
    return [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={fake_microphone_wav}",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
    ]


@pytest.fixture(scope="session")
def browser(chromium_executable, chromium_args):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_executable), headless=True,
                                             args=chromium_args)
        yield browser
        browser.close()


class ConsoleGuard:
    """Console errors and uncaught exceptions of the pages of one test."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._allowed: list[re.Pattern] = []
        self.pages: list = []
        self.stopped = False

    def allow(self, pattern: str) -> None:
        self._allowed.append(re.compile(pattern))

    def watch(self, page) -> None:
        self.pages.append(page)
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self._record(f"uncaught exception on {page.url}: {error}"))
        page.on("crash", lambda _: self._record(f"the page {page.url} crashed"))

    def _console(self, page, message) -> None:
        if message.type == "error":
            location = message.location or {}
            self._record(f"console error on {page.url}: {message.text} "
                         f"({location.get('url', '?')}:{location.get('lineNumber', '?')})")

    def stop(self) -> None:
        """Stop listening: what pages say while the test's world is torn down (a gateway stopping before a
        page closes makes it log reconnect failures) is not the test's result."""
        self.flush()
        self.stopped = True

    def _record(self, text: str) -> None:
        if not self.stopped and not any(pattern.search(text) for pattern in self._allowed):
            self.problems.append(text)

    def flush(self) -> None:
        """Let Playwright deliver the events still on their way (it does so during its own calls)."""
        for page in self.pages:
            if not page.is_closed():
                try:
                    page.evaluate("0")
                except Exception:  # noqa: BLE001 - a page that is going away has nothing more to say
                    pass

    def report(self) -> str | None:
        self.flush()
        if not self.problems:
            return None
        return "the page logged errors:\n  " + "\n  ".join(self.problems)


@pytest.fixture
def console_guard():
    guard = ConsoleGuard()
    yield guard
    problem = guard.report()
    guard.problems.clear()
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that passed but whose pages logged errors fails, as the test itself (not only at teardown)."""
    outcome = yield
    report = outcome.get_result()
    guard = getattr(item, "funcargs", {}).get("console_guard")
    if report.when == "call" and guard is not None:
        problem = guard.report()
        guard.problems.clear()
        guard.stop()
        if problem and report.passed:
            report.outcome = "failed"
            report.longrepr = problem
        elif problem:
            report.sections.append(("page console errors", problem))


@pytest.fixture
def new_page(browser, console_guard):
    contexts = []

    def open_page(url: str | None = None, *, viewport: dict = DESKTOP, **context_options):
        context = browser.new_context(viewport=viewport, **context_options)
        contexts.append(context)
        context.set_default_timeout(10_000)
        page = context.new_page()
        console_guard.watch(page)
        if url:
            page.goto(url)
        return page

    yield open_page
    console_guard.flush()
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def screenshot(request):
    directory = request.config.rootpath / "test-artifacts"
    directory.mkdir(exist_ok=True)

    def take(page, name: str) -> list[Path]:
        original = page.viewport_size
        paths = []
        for suffix, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
            path = directory / f"{name}-{suffix}.png"
            page.screenshot(path=str(path), full_page=suffix == "phone", animations="disabled")
            paths.append(path)
        page.set_viewport_size(original)
        return paths

    return take


@pytest.fixture
def trio_thread():
    with TrioThread("e2e-gateway") as thread:
        yield thread


@pytest.fixture
def fake_gateway(trio_thread):
    return FakeGateway(trio_thread)


@pytest.fixture
def portal(fake_gateway, page):  # this order: the page closes before the gateway stops
    return PortalPage(page, fake_gateway.url)
