"""Her contact list: each contact's URI, the name she gave it, and its group. Sans-IO values and edits.

The list is kept in order (new contacts last) and at most ``max_contacts`` long; the page sends URIs as people
type them, so :func:`contact_uri` accepts ``bob@ims.test`` and ``+15550101`` too.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from webims.sip import RemoteProtocolError, SipUri, TelUri, parse_uri

MAX_URI_CHARS = 256
MAX_NAME_CHARS = 100
MAX_GROUP_CHARS = 64
_TEL = re.compile(r"^\+[0-9]{3,15}$")


class ContactError(ValueError):
    """A contact the page sent is not usable; the message says why, for a person."""


@attrs.frozen
class Contact:
    uri: str
    display_name: str = ""
    group: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"uri": self.uri, "display_name": self.display_name, "group": self.group}


def contact_uri(text: Any) -> str:
    """A SIP, SIPS or tel URI from what she typed; ContactError if it is none of those."""
    if not isinstance(text, str) or not 0 < len(text.strip()) <= MAX_URI_CHARS:
        raise ContactError(f"Give the contact's address (sip:name@domain or a +number), "
                           f"at most {MAX_URI_CHARS} characters.")
    text = text.strip()
    if _TEL.match(text):
        text = f"tel:{text}"
    elif ":" not in text.split("@", 1)[0] and "@" in text:
        text = f"sip:{text}"
    try:
        uri = parse_uri(text)
    except RemoteProtocolError:
        raise ContactError(f"{text} is not a SIP or tel address.") from None
    if not isinstance(uri, (SipUri, TelUri)):
        raise ContactError(f"{text} is not a SIP or tel address.")
    return str(uri)


def _label(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit or any(ord(c) < 32 for c in value):
        raise ContactError(f"A {what} is one line of at most {limit} characters.")
    return value.strip()


def contact_from_browser(body: dict[str, Any], existing: Contact | None = None) -> Contact:
    """The contact a page's ``contact.add``/``contact.update`` body describes (unsent fields stay as they are)."""
    base = existing or Contact(contact_uri(body.get("uri")))
    return Contact(base.uri, _label(body.get("display_name", base.display_name), "name", MAX_NAME_CHARS),
                   _label(body.get("group", base.group), "group", MAX_GROUP_CHARS))


def added(contacts: tuple[Contact, ...], contact: Contact, max_contacts: int) -> tuple[Contact, ...]:
    if any(c.uri == contact.uri for c in contacts):
        raise ContactError(f"{contact.uri} is in your contacts already.")
    if len(contacts) >= max_contacts:
        raise ContactError(f"Your contact list is full ({max_contacts} contacts).")
    return (*contacts, contact)


def replaced(contacts: tuple[Contact, ...], contact: Contact) -> tuple[Contact, ...]:
    if not any(c.uri == contact.uri for c in contacts):
        raise ContactError(f"{contact.uri} is not in your contacts.")
    return tuple(contact if c.uri == contact.uri else c for c in contacts)


def removed(contacts: tuple[Contact, ...], uri: str) -> tuple[Contact, ...]:
    if not any(c.uri == uri for c in contacts):
        raise ContactError(f"{uri} is not in your contacts.")
    return tuple(c for c in contacts if c.uri != uri)
