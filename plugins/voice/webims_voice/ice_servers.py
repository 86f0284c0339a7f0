"""The STUN/TURN servers her page may use to reach the gateway's media, with short-lived TURN credentials.

A TURN server relays for whoever knows its credentials, so they are never fixed ones written into the page:
each logged-in tab asks (``ice.servers``) and gets a username that carries its own expiry and a password the
TURN server can check without asking us, the "TURN REST API" scheme coturn implements (``use-auth-secret``,
``static-auth-secret``): username ``<expiry unix time>:<who>``, password ``base64(HMAC-SHA1(secret, username))``.
Nothing is sent to a page that is not logged in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import attrs

__all__ = ["IcePolicy", "check_urls", "policy_problem", "turn_credential", "for_browser"]

TRANSPORT_POLICIES = ("all", "relay")


@attrs.frozen
class IcePolicy:
    urls: tuple[str, ...] = ()
    turn_secret: str = attrs.field(default="", repr=False)
    credential_seconds: int = 86400
    transport_policy: str = "all"  # "relay": the page uses TURN only (its own addresses stay hidden)


def check_urls(urls: list) -> str | None:
    """What is wrong with the configured URLs, in words, or None (RFC 7064 stun:, RFC 7065 turn:/turns:)."""
    for url in urls:
        if not isinstance(url, str) or not url.startswith(("stun:", "stuns:", "turn:", "turns:")) \
                or not url.partition(":")[2]:
            return f"{url!r} is not a stun:, turn: or turns: URL"
    return None


def policy_problem(policy: IcePolicy) -> str | None:
    """What the settings miss together (each alone is checked by the schema), or None."""
    has_turn = any(url.startswith("turn") for url in policy.urls)
    if has_turn and not policy.turn_secret:
        return "page_ice_servers has TURN URLs but turn_secret (the TURN server's static-auth-secret) is not set"
    if policy.transport_policy == "relay" and not has_turn:
        return "ice_transport_policy is relay but page_ice_servers has no TURN URL: pages could send no media"
    return None


def turn_credential(secret: str, who: str, expires: int) -> tuple[str, str]:
    """``(username, password)`` valid until ``expires`` (unix time) on a TURN server sharing ``secret``."""
    username = f"{expires}:{who}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def for_browser(policy: IcePolicy, who: str, now: float) -> dict:
    """The page's RTCPeerConnection configuration: ``{"ice_servers": [...], "transport_policy"}``."""
    stun = [url for url in policy.urls if url.startswith("stun")]
    turn = [url for url in policy.urls if url.startswith("turn")]
    servers: list[dict] = [{"urls": stun}] if stun else []
    if turn:
        expires = int(now) + policy.credential_seconds
        username, credential = turn_credential(policy.turn_secret, who, expires)
        servers.append({"urls": turn, "username": username, "credential": credential})
    return {"ice_servers": servers, "transport_policy": policy.transport_policy}
