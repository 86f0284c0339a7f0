"""Addresses as people type them and as services compare them, shared by every service.

:func:`target_uri` turns what a person types (``+1 555 0101``, ``bob``, ``bob@example.net``) into the URI a
call or message goes to. :func:`peer_key` folds the forms one person reaches us in (``tel:+15550101``,
``sip:+15550101@ims.test;user=phone``) into one key, so her history or contact entry with someone is one.
"""

from __future__ import annotations

import re

from webims.errors import ServiceError
from webims.sip import RemoteProtocolError, SipUri, TelUri, parse_uri

_NUMBER = re.compile(r"^\+?[0-9][0-9 ()./-]{0,30}$")
_USER = re.compile(r"^[A-Za-z0-9._~!$&'*+=-]{1,64}$")
_GLOBAL_NUMBER = re.compile(r"^\+[0-9]{1,20}$")


def target_uri(text: object, domain: str, *, action: str = "reach") -> str:
    """``+1 555 0101`` → ``tel:+15550101``; ``bob`` → ``sip:bob@domain``; a sip:/sips:/tel: URI as it is.

    ``action`` completes the error text for empty input: "Enter a number or a SIP address to {action}."
    A local number (no +) gets the home domain as its phone-context (RFC 3966 §5.1.5).
    """
    if not isinstance(text, str) or not text.strip() or len(text) > 256:
        raise ServiceError("bad_target", f"Enter a number or a SIP address to {action}.")
    text = text.strip()
    if _NUMBER.match(text):
        digits = re.sub(r"[ ()./-]", "", text)
        return f"tel:{digits}" if digits.startswith("+") else f"tel:{digits};phone-context={domain}"
    if _USER.match(text):
        return f"sip:{text}@{domain}"
    if "@" in text and ":" not in text.split("@", 1)[0]:
        text = f"sip:{text}"
    try:
        uri = parse_uri(text)
    except RemoteProtocolError:
        uri = None
    if not isinstance(uri, SipUri | TelUri):
        raise ServiceError("bad_target", f"{text} is not a number or SIP address.")
    return str(uri)


def peer_key(uri: str) -> str:
    """The conversation key of a peer URI: ``tel:+…`` for global numbers, else ``sip:user@host``."""
    try:
        parsed = parse_uri(uri)
    except RemoteProtocolError:
        return uri
    if isinstance(parsed, TelUri):
        return f"tel:{parsed.number}" if parsed.is_global else str(parsed)
    if isinstance(parsed, SipUri):
        user = parsed.user or ""
        if _GLOBAL_NUMBER.match(user):
            # RFC 3261 §19.1.6 (user=phone), and IMS cores treat +digits@home-domain alike (docs/lab.md)
            return f"tel:{user}"
        return f"{parsed.scheme}:{user + '@' if user else ''}{parsed.host.lower()}"
    return str(parsed)
