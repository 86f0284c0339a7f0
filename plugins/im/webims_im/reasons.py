"""Why a message was not delivered, in words a person understands (RFC 3428 §8 responses, MSRP §10 statuses)."""

from __future__ import annotations


def page_failure(status: int, peer: str) -> str:
    """The reason for a MESSAGE's final non-2xx response ``status``."""
    if status in (404, 604):
        return f"{peer} does not exist."
    if status in (410,):
        return f"{peer} is no longer in service."
    if status == 480:
        return f"{peer} is offline and the network did not keep the message."
    if status in (413, 513):
        return f"The message is too large for {peer}."
    if status == 415:
        return f"{peer} cannot show this kind of message."
    if status in (403, 603, 486, 600):
        return f"{peer} refused the message."
    if status in (401, 407):
        return "The network did not allow this message."
    if status == 408:
        return f"No answer from the network or from {peer}; the message may not have arrived."
    if status == 503:
        return "The network is busy or unavailable; try again in a moment."
    return f"The message could not be delivered ({status})."


def stored_note(peer: str) -> str:
    # RFC 3428 §8: 202 means accepted, not delivered; in IMS it means the network stores it (msilo, docs/lab.md).
    return f"{peer} is offline; the network keeps the message and delivers it when {peer} comes online."


def chat_failure(status: int, peer: str, reason: str = "") -> str:
    """The reason for an MSRP failure: a response, a failure REPORT, or a lost connection (status 0)."""
    if status == 0:
        return f"The chat connection to {peer} was lost ({reason})." if reason else \
            f"The chat connection to {peer} was lost."
    if status == 413:
        return f"The message is too large for {peer}."
    if status == 415:
        return f"{peer} cannot show this kind of message."
    if status in (403, 481):
        return f"{peer} refused the message: the chat is no longer valid."
    if status == 408:
        return f"No answer from {peer}; the message may not have arrived."
    return f"The message could not be delivered ({status} {reason})".rstrip() + "."


def notification_failure(status: str, peer: str) -> str:
    """A negative IMDN (RFC 5438 §7.2.1.1): failed, forbidden or error."""
    if status == "forbidden":
        return f"{peer} does not accept messages from you."
    return f"{peer}'s device could not deliver the message."
