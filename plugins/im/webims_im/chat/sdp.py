"""The SDP of a chat session (RFC 4975 §8, RFC 6135): one ``m=message`` line with path, accept-types, setup.

The path attribute is authoritative for where MSRP goes (§8.1); ``c=``/``m=`` only echo our own URI.
``a=setup`` (RFC 6135, after RFC 4145) says who opens the TCP connection; without it RFC 4975 §5.4 makes the
offerer the active end.
"""

from __future__ import annotations

import secrets

import attrs

from webims.sip import RemoteProtocolError as SdpError
from webims.sip.sdp import Attribute, Connection, MediaDescription, Origin, SessionDescription
from webims_im import content
from webims_im.errors import ContentError
from webims_im.msrp import MsrpUri, RemoteProtocolError, format_path, parse_path

ACCEPT_TYPES = content.ACCEPTED
ACCEPT_WRAPPED_TYPES = content.WRAPPED


@attrs.frozen
class MessageMedia:
    """The peer's side of a chat, as its SDP describes it."""

    path: tuple[MsrpUri, ...]
    accept_types: tuple[str, ...]
    accept_wrapped_types: tuple[str, ...] = ()
    setup: str | None = None

    def takes(self, content_type: str) -> bool:
        """Whether the peer accepts ``content_type`` (outermost, or wrapped in CPIM when it takes CPIM)."""
        kinds = {kind.lower() for kind in self.accept_types}
        wrapped = {kind.lower() for kind in self.accept_wrapped_types}
        return content_type in kinds or "*" in kinds or (
            "message/cpim" in kinds and (content_type in wrapped or "*" in wrapped))


def describe(path: tuple[MsrpUri, ...], setup: str) -> bytes:
    """Our offer or answer: ``path`` is the relay's Use-Path (if any) then our own URI."""
    own = path[-1]
    media = MediaDescription("message", own.port or 2855, "TCP/MSRP", ("*",), attributes=(
        Attribute("accept-types", " ".join(ACCEPT_TYPES)),
        Attribute("accept-wrapped-types", " ".join(ACCEPT_WRAPPED_TYPES)),
        Attribute("path", format_path(path)),
        Attribute("setup", setup),
        Attribute("sendrecv"),
    ))
    description = SessionDescription(origin=Origin("-", str(secrets.randbelow(2**31)), 1, own.host),
                                     connection=Connection(own.host), media=(media,))
    return description.to_bytes()


def message_media(body: bytes) -> MessageMedia:
    """The first usable ``m=message`` of an SDP body; :class:`ContentError` (488) when there is none."""
    try:
        description = SessionDescription.parse(body)
    except SdpError as error:
        raise ContentError(f"the session description is malformed ({error.reason})", 400) from None
    for media in description.media:
        if media.media != "message" or media.is_rejected or "MSRP" not in media.proto.upper():
            continue
        try:
            path = parse_path(" ".join(media.path))
        except RemoteProtocolError as error:
            raise ContentError(f"the chat offer's path is unusable ({error.reason})", 488) from None
        return MessageMedia(path, media.accept_types, media.accept_wrapped_types, media.setup)
    raise ContentError("the session description offers no MSRP chat (m=message TCP/MSRP)", 488)


def answer_setup(offered: str | None) -> str:
    """Our ``a=setup`` in an answer (RFC 6135 §4.2): the opposite of the offerer's, and active when it lets us
    choose, so that the gateway opens the connection; without the attribute the offerer connects (RFC 4975)."""
    return {"active": "passive", "passive": "active", "actpass": "active"}.get((offered or "").lower(), "passive")


def we_connect(our_setup: str) -> bool:
    return our_setup == "active"


def offer_connects(answer_setup_value: str | None) -> bool:
    """After our ``actpass`` offer: do we open the connection? Yes unless the answer says it will."""
    return (answer_setup_value or "passive").lower() != "active"
