"""What a plugin tells the gateway about itself (returned by the hooks in :mod:`webims.hookspecs`)."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
from packaging.version import InvalidVersion, Version

SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MESSAGE_TYPE = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
# The core's own namespace; no plugin may take it.
CORE_SERVICE = "core"


def _check_name(instance, attribute, value):
    if not SERVICE_NAME.match(value) or value == CORE_SERVICE:
        raise ValueError(f"service name {value!r} must be lower-case letters, digits and _ (and not 'core')")


def _check_version(instance, attribute, value):
    try:
        Version(value)
    except InvalidVersion:
        raise ValueError(f"service version {value!r} is not a PEP 440 version") from None


def _check_messages(instance, attribute, value):
    for message_type in value:
        if not MESSAGE_TYPE.match(message_type):
            raise ValueError(f"message type {message_type!r} must match {MESSAGE_TYPE.pattern}")


@attrs.frozen
class Service:
    """A service: its browser namespace, version, and the request types it accepts from browsers."""

    name: str = attrs.field(validator=_check_name)
    version: str = attrs.field(validator=_check_version)
    summary: str = ""
    messages: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset, validator=_check_messages)
    # False only for services that must work before login (the auth service itself).
    requires_login: bool = True


@attrs.frozen
class PortalAssets:
    """Static files a plugin contributes to the portal, served under ``/plugins/<service>/``."""

    directory: Path = attrs.field(converter=Path)
    modules: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    styles: tuple[str, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen
class SipRoute:
    """Which incoming SIP requests a plugin handles: a method, optionally narrowed by event package, content
    type, or a media type its SDP offers (``SipRoute("INVITE", media="message")`` for chat sessions, while
    ``media="audio"`` takes calls)."""

    method: str = attrs.field(converter=str.upper)
    event: str | None = None
    content_type: str | None = attrs.field(default=None, converter=attrs.converters.optional(str.lower))
    media: str | None = None
