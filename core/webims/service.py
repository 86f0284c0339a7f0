"""What a plugin tells the gateway about itself (returned by the hooks in :mod:`webims.hookspecs`)."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
from packaging.version import InvalidVersion, Version

from webims.config import ConfigProblem
from webims.errors import ConfigError

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


# RFC 3840 §9: a feature tag's name ("+" and a tree for the g., sip. ... trees); a value is a token or a URN.
_FEATURE_TAG = re.compile(r"^(\+[a-z0-9][a-z0-9.\-]{0,63}|audio|video|text|application|data|control|automata|"
                          r"class|duplex|mobility|description|events|priority|methods|schemes|extensions|isfocus|"
                          r"actor|language|type)$")
_FEATURE_VALUE = re.compile(r"^[A-Za-z0-9:.\-_+!~*']{1,128}$")
_MEDIA_TYPE = re.compile(r"^[a-z0-9!#$&^_.+\-]+/[a-z0-9!#$&^_.+\-]+$")


def _check_feature_tags(instance, attribute, value):
    for tag in value:
        if not isinstance(tag, FeatureTag):
            raise ValueError(f"{tag!r} is not a webims.service.FeatureTag")


def _check_media_types(instance, attribute, value):
    for media_type in value:
        if not _MEDIA_TYPE.match(media_type):
            raise ValueError(f"{media_type!r} is not a lower-case media type such as 'text/plain'")


@attrs.frozen
class FeatureTag:
    """A media feature tag (RFC 3840) for what a service lets her do: ``FeatureTag("video")`` (a boolean tag),
    ``FeatureTag("+g.oma.sip-im")``, or ``FeatureTag("+g.3gpp.icsi-ref", "urn:urn-7:3gpp-service.ims.icsi.mmtel")``
    (an IMS communication service, TS 24.229 §7.9.2). Values of one name from several services become one list.
    """

    name: str = attrs.field(converter=str.lower)
    value: str | None = attrs.field(default=None)

    @name.validator
    def _check_name(self, attribute, value):
        if not _FEATURE_TAG.match(value):
            raise ValueError(f"feature tag {value!r} is neither a base tag of RFC 3840 §9 nor a '+' tag")

    @value.validator
    def _check_value(self, attribute, value):
        if value is not None and not _FEATURE_VALUE.match(value):
            raise ValueError(f"feature tag value {value!r} must be a token or URN (letters, digits, : . - _ + ! ~ * ')")


@attrs.frozen
class Capabilities:
    """What a service lets her receive, announced to the IMS (returned by ``webims_capabilities``).

    ``feature_tags`` go into her Contact: when she registers, in the calls and chats she sets up or answers, and
    in the gateway's answer to an OPTIONS for her (RFC 3840, RFC 3261 §11), so the network and other phones
    know what to offer her. ``accept`` are the content types the service takes, for that answer's Accept.
    """

    feature_tags: tuple[FeatureTag, ...] = attrs.field(default=(), converter=tuple, validator=_check_feature_tags)
    accept: tuple[str, ...] = attrs.field(default=(), converter=tuple, validator=_check_media_types)


_MEDIA_KIND = re.compile(r"^[a-z][a-z0-9]{0,15}$")
KEYFRAME_REQUEST_INFO = ("auto", "always", "never")


def _check_media_kind(instance, attribute, value):
    if not _MEDIA_KIND.match(value) or value == "audio":
        raise ValueError(f"media kind {value!r} must be an SDP media type other than audio (e.g. 'video')")


@attrs.frozen
class CallMedia:
    """A media kind a plugin adds to calls (returned by ``webims_call_media``): an SDP media type beside the
    call's audio, and the limits the media engine negotiates for it on both legs.

    ``codecs`` is the preference order (the engine knows ``VP8`` and ``H264`` for video); ``max_bitrate`` is in
    kbit/s per direction and goes into ``b=AS``/``b=TIAS``; the picture limits bound what is offered (H.264
    level, VP8 ``max-fs``/``max-fr``) and what the portal asks of the camera. ``keyframe_request_info`` says
    when the phone is asked for keyframes by SIP INFO (RFC 5168) besides RTCP: ``auto`` (once it has asked us
    that way), ``always`` or ``never``.
    """

    kind: str = attrs.field(validator=_check_media_kind)
    codecs: tuple[str, ...] = attrs.field(converter=tuple, validator=attrs.validators.min_len(1))
    max_bitrate: int = attrs.field(default=2500, validator=attrs.validators.gt(0))
    max_width: int = attrs.field(default=1280, validator=attrs.validators.gt(0))
    max_height: int = attrs.field(default=720, validator=attrs.validators.gt(0))
    max_framerate: int = attrs.field(default=30, validator=attrs.validators.gt(0))
    keyframe_request_info: str = attrs.field(default="auto", validator=attrs.validators.in_(KEYFRAME_REQUEST_INFO))


def collect_call_media(plugins) -> tuple[CallMedia, ...]:
    """Ask every enabled plugin of ``plugins`` (the gateway's :class:`~webims.plugins.PluginHost`) for the media
    kind it adds to calls (``webims_call_media``, each with its own settings), in ``[services]`` order.

    Two plugins adding the same kind is a :class:`~webims.errors.ConfigError` naming both: a call carries one
    stream per kind, so the operator must enable one of them.
    """
    found: dict[str, tuple[str, CallMedia]] = {}
    for name, loaded in plugins.services.items():
        for media in plugins.call_owner(name, "webims_call_media", settings=loaded.settings):
            if media is None:
                continue
            if media.kind in found:
                other = found[media.kind][0]
                raise ConfigError([ConfigProblem(f"services.{name}", f"adds {media.kind} to calls, as {other} "
                                                                    "does; enable only one of them")])
            found[media.kind] = (name, media)
    return tuple(media for _, media in found.values())
