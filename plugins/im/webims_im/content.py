"""What a message body means, for page mode and chat alike: text, a disposition notification, or is-composing.

:func:`interpret` takes a Content-Type and the bytes that came with it (a MESSAGE body or a complete MSRP
message) and returns one value, or raises :class:`~webims_im.errors.ContentError` with the status to answer. The
``compose_*`` functions build what we send. Nothing here touches the network or the store.
"""

from __future__ import annotations

import datetime as dt

import attrs

from webims_im import cpim, imdn, iscomposing
from webims_im.errors import ContentError

TEXT = "text/plain"
# RFC 3428 §7 / RFC 4975 §8.6: what we take, outermost first; an answer with 415 carries this as Accept.
ACCEPTED = (cpim.CONTENT_TYPE, TEXT, iscomposing.CONTENT_TYPE)
WRAPPED = (TEXT, imdn.CONTENT_TYPE, iscomposing.CONTENT_TYPE)
_CHARSETS = {None, "utf-8", "utf8", "us-ascii"}


@attrs.frozen
class Text:
    """A text message for her. ``imdn_id``/``notifications``/``sender`` say whether and where to report."""

    text: str
    cpim: bool = False
    imdn_id: str | None = None
    notifications: frozenset[str] = frozenset()
    sender: str | None = None  # CPIM From: where notifications go (RFC 5438 §7.2.1.1)
    recipient: str | None = None  # CPIM To


@attrs.frozen
class Report:
    """A disposition notification about a message she sent."""

    notification: imdn.Notification


@attrs.frozen
class Typing:
    """The other side's is-composing state."""

    composing: iscomposing.Composing


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def interpret(content_type: str | None, body: bytes, *, max_bytes: int) -> Text | Report | Typing:
    if len(body) > max_bytes:
        raise ContentError(f"the message is {len(body)} bytes; at most {max_bytes} are accepted", 413)
    kind = media_type(content_type)
    if kind == cpim.CONTENT_TYPE:
        return _interpret_cpim(cpim.parse(body))
    if kind == iscomposing.CONTENT_TYPE:
        return Typing(iscomposing.parse(body))
    if kind == TEXT:
        return _stored_cpim(body) or Text(_decode(body, cpim.parameter(content_type or "", "charset")))
    raise ContentError(f"content of type {kind or '(none)'} is not taken here", 415)


def _stored_cpim(body: bytes) -> Text | Report | Typing | None:
    """A CPIM message that a network store relabelled ``text/plain``: Kamailio's msilo saves every
    message/cpim with that type and re-sends it so (msilo.c m_store; docs/im.md). Taken as CPIM only when it is
    unmistakably one: it parses, declares the IMDN namespace and carries an imdn.Message-ID."""
    if b"imdn.Message-ID" not in body[:2048]:
        return None
    try:
        message = cpim.parse(body)
    except ContentError:
        return None
    return _interpret_cpim(message) if message.get(cpim.IMDN_NS, "Message-ID") else None


def _interpret_cpim(message: cpim.CpimMessage) -> Text | Report | Typing:
    kind = message.content_type
    if kind == imdn.CONTENT_TYPE:
        return Report(imdn.parse(message.content))
    if kind == iscomposing.CONTENT_TYPE:
        return Typing(iscomposing.parse(message.content))
    if kind != TEXT:
        raise ContentError(f"CPIM content of type {kind} is not taken here", 415)
    imdn_id = message.get(cpim.IMDN_NS, "Message-ID")
    notifications = imdn.requested(message.get(cpim.IMDN_NS, "Disposition-Notification"))
    if notifications and not imdn_id:
        raise ContentError("CPIM: notifications are requested without an imdn.Message-ID (RFC 5438 §6.3)")
    return Text(_decode(message.content, message.charset), True, imdn_id, notifications, message.from_uri,
                message.to_uri)


def _decode(body: bytes, charset: str | None) -> str:
    if charset not in _CHARSETS:
        raise ContentError(f"text in charset {charset} is not taken here; send UTF-8", 415)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ContentError(f"the text is not valid UTF-8 ({error.reason} at byte {error.start})") from None
    if not text.strip():
        raise ContentError("the message has no text")
    if "\x00" in text:
        raise ContentError("the text contains a NUL character")
    return text


# --- what we send -----------------------------------------------------------------------------------------------

def now() -> str:
    """RFC 3339 date-time, as CPIM DateTime and IMDN datetime want it."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _imdn_headers(imdn_id: str) -> list[tuple[str, str]]:
    # RFC 5438 §6.3: Message-ID and DateTime are what a notification refers back to.
    return [("NS", f"imdn <{cpim.IMDN_NS}>"), ("imdn.Message-ID", imdn_id), ("DateTime", now())]


def compose_text(text: str, *, wrap: bool, sender: str, recipient: str, imdn_id: str,
                 notifications: frozenset[str] = frozenset()) -> tuple[str, bytes]:
    """``(content type, body)`` of a text message: plain UTF-8, or CPIM asking for ``notifications``."""
    content = text.encode("utf-8")
    if not wrap:
        return f"{TEXT};charset=UTF-8", content
    headers = _imdn_headers(imdn_id)
    if notifications:
        headers.append(("imdn.Disposition-Notification", ", ".join(sorted(notifications))))
    return cpim.CONTENT_TYPE, cpim.write(from_uri=sender, to_uri=recipient, content_type=f"{TEXT};charset=UTF-8",
                                         content=content, headers=headers)


def compose_report(notification: imdn.Notification, *, sender: str, recipient: str, imdn_id: str
                   ) -> tuple[str, bytes]:
    """A notification, CPIM-wrapped as RFC 5438 §7.2.1.1 requires; it never asks for notifications itself."""
    return cpim.CONTENT_TYPE, cpim.write(
        from_uri=sender, to_uri=recipient, content_type=imdn.CONTENT_TYPE, content=imdn.write(notification),
        headers=_imdn_headers(imdn_id), content_headers=[("Content-Disposition", "notification")])


def compose_typing(active: bool, refresh: int) -> tuple[str, bytes]:
    return iscomposing.CONTENT_TYPE, iscomposing.write(iscomposing.Composing(active, refresh, TEXT))
