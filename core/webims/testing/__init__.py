"""Test kit for webims and its plugins: an in-process gateway, a protocol-level browser, SIP and lab peers."""

from webims.testing.browser import BrowserClient, BrowserError, open_browser
from webims.testing.gateway import make_config, start_gateway

__all__ = ["BrowserClient", "BrowserError", "make_config", "open_browser", "start_gateway"]
