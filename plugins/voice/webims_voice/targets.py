"""What a person types into the dial box, turned into the URI a call goes to."""

from __future__ import annotations

import re

from webims.errors import ServiceError
from webims.sip import RemoteProtocolError, SipUri, TelUri, parse_uri

_NUMBER = re.compile(r"^\+?[0-9][0-9 ()./-]{0,30}$")
_USER = re.compile(r"^[A-Za-z0-9._~!$&'*+=-]{1,64}$")


def target_uri(text: object, domain: str) -> str:
    """``+1 555 0101`` → ``tel:+15550101``; ``bob`` → ``sip:bob@domain``; a sip:/sips:/tel: URI as it is."""
    if not isinstance(text, str) or not text.strip():
        raise ServiceError("bad_target", "Enter a number or a SIP address to call.")
    text = text.strip()
    if _NUMBER.match(text):
        digits = re.sub(r"[ ()./-]", "", text)
        if digits.startswith("+"):
            return f"tel:{digits}"
        return f"tel:{digits};phone-context={domain}"  # a local number, RFC 3966 §5.1.5
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
