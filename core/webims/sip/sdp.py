"""SDP session descriptions (RFC 8866, which obsoletes RFC 4566): the model, a parser and a writer.

Why not aiortc's ``aiortc.sdp.SessionDescription``? It is built to drive one WebRTC peer
connection, and for the IMS side of the gateway that is the wrong shape:

* it keeps only what WebRTC needs and silently drops the rest: ``b=`` lines, ``a=ptime``,
  ``a=crypto``, the MSRP attributes (``a=path``, ``a=accept-types``), so nothing round-trips;
* it knows a codec only through ``a=rtpmap``, so ``m=audio 4000 RTP/AVP 0 8`` (static payload
  types, the norm on IMS) has no codecs at all;
* malformed input escapes as ``AssertionError``, ``StopIteration`` or ``ValueError``, never as
  an error that says what is wrong;
* it cannot write a connection address that is a host name, as in RFC 4975's MSRP examples.

aiortc stays on the WebRTC leg, where its model fits; this module describes the IMS leg.

The model keeps every line's content: typed fields for the fixed lines, and an ordered tuple
of :class:`Attribute` for ``a=`` lines, read through typed accessors (``codecs``,
``direction``, ``path``...). Unknown attributes therefore survive a parse/serialize
round-trip untouched, and the writer emits lines in RFC 8866 §5's order.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator

import attrs

from .errors import RemoteProtocolError

__all__ = [
    "Attribute",
    "Bandwidth",
    "Codec",
    "Connection",
    "Direction",
    "MediaDescription",
    "Origin",
    "SessionDescription",
    "Timing",
    "MAX_SDP_BYTES",
    "MAX_MEDIA_SECTIONS",
]

# Limits against hostile peers. A Chrome offer with audio, video and data is ~6 KB.
MAX_SDP_BYTES = 64 * 1024
MAX_MEDIA_SECTIONS = 32

# RFC 3551 §6, tables 4 and 5: payload types that need no a=rtpmap.
_STATIC_PAYLOAD_TYPES = {
    0: ("PCMU", 8000),
    3: ("GSM", 8000),
    4: ("G723", 8000),
    5: ("DVI4", 8000),
    6: ("DVI4", 16000),
    7: ("LPC", 8000),
    8: ("PCMA", 8000),
    9: ("G722", 8000),
    12: ("QCELP", 8000),
    13: ("CN", 8000),
    15: ("G728", 8000),
    18: ("G729", 8000),
    26: ("JPEG", 90000),
    31: ("H261", 90000),
    34: ("H263", 90000),
}

_DIRECTIONS = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})
_SESSION_LINE_TYPES = frozenset("vosiuepcbtrzka")
_MEDIA_LINE_TYPES = frozenset("icbka")


def _malformed(what: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"Malformed SDP: {what}", status_hint=400)


class Direction(enum.StrEnum):
    """The direction attributes of RFC 8866 §6.7, seen from the side that wrote the SDP."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @classmethod
    def from_flags(cls, *, send: bool, recv: bool) -> Direction:
        if send:
            return cls.SENDRECV if recv else cls.SENDONLY
        return cls.RECVONLY if recv else cls.INACTIVE

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)


@attrs.frozen
class Origin:
    """``o=`` (RFC 8866 §5.2). ``session_version`` is an int because re-offers increment it."""

    username: str
    session_id: str
    session_version: int
    address: str
    nettype: str = "IN"
    addrtype: str = "IP4"

    @classmethod
    def parse(cls, value: str) -> Origin:
        fields = value.split(" ")
        if len(fields) != 6:
            raise _malformed(f"o= needs 6 fields, got {value!r}")
        username, session_id, version, nettype, addrtype, address = fields
        if not version.isdecimal():
            raise _malformed(f"o= session version {version!r} is not a number")
        return cls(username, session_id, int(version), address, nettype, addrtype)

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@attrs.frozen
class Connection:
    """``c=`` (RFC 8866 §5.7). ``address`` may be a host name or carry ``/ttl`` for multicast."""

    address: str
    nettype: str = "IN"
    addrtype: str = "IP4"

    @classmethod
    def parse(cls, value: str) -> Connection:
        fields = value.split(" ")
        if len(fields) != 3:
            raise _malformed(f"c= needs 3 fields, got {value!r}")
        nettype, addrtype, address = fields
        return cls(address, nettype, addrtype)

    @property
    def is_hold_address(self) -> bool:
        """RFC 2543 put a call on hold with ``c=IN IP4 0.0.0.0``; RFC 3264 §8.4 still allows it."""
        return self.address == "0.0.0.0"

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"


@attrs.frozen
class Bandwidth:
    """``b=`` (RFC 8866 §5.8): ``AS`` in kbit/s, ``TIAS`` (RFC 3890) in bit/s, or others."""

    type: str
    value: int

    @classmethod
    def parse(cls, value: str) -> Bandwidth:
        bwtype, sep, amount = value.partition(":")
        if not sep or not bwtype or not amount.isdecimal():
            raise _malformed(f"b= must be <type>:<number>, got {value!r}")
        return cls(bwtype, int(amount))

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@attrs.frozen
class Timing:
    """``t=`` with its ``r=`` repeat lines (RFC 8866 §5.9, §5.10); calls use ``t=0 0``."""

    start: int = 0
    stop: int = 0
    repeats: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str) -> Timing:
        fields = value.split(" ")
        if len(fields) != 2 or not all(f.isdecimal() for f in fields):
            raise _malformed(f"t= must be two numbers, got {value!r}")
        return cls(int(fields[0]), int(fields[1]))


@attrs.frozen
class Attribute:
    """One ``a=`` line: ``a=name`` (property, ``value`` None) or ``a=name:value``."""

    name: str
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> Attribute:
        name, sep, value = text.partition(":")
        if not name or " " in name:
            raise _malformed(f"a={text!r} has no attribute name")
        return cls(name, value if sep else None)

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@attrs.frozen
class Codec:
    """An RTP payload format: ``a=rtpmap`` (RFC 8866 §6.6) plus its ``a=fmtp`` parameters.

    ``payload_type`` is None in a list of codecs this gateway supports, where only the
    encoding matters; in an SDP it is the number on the ``m=`` line.
    """

    encoding_name: str
    clock_rate: int
    channels: int = 1
    payload_type: int | None = None
    fmtp: str | None = None

    def same_encoding(self, other: Codec) -> bool:
        """RFC 3264 §6.1: formats match on encoding name (case-insensitive), rate and channels."""
        return (
            self.encoding_name.lower() == other.encoding_name.lower()
            and self.clock_rate == other.clock_rate
            and self.channels == other.channels
        )

    def rtpmap_value(self) -> str:
        value = f"{self.payload_type} {self.encoding_name}/{self.clock_rate}"
        return value + (f"/{self.channels}" if self.channels != 1 else "")


def _parse_rtpmap(value: str) -> Codec:
    pt, _, encoding = value.partition(" ")
    parts = encoding.strip().split("/")
    if not pt.isdecimal() or len(parts) not in (2, 3) or not all(p.isdecimal() for p in parts[1:]):
        raise _malformed(f"a=rtpmap:{value} is not '<pt> <name>/<rate>[/<channels>]'")
    channels = int(parts[2]) if len(parts) == 3 else 1
    return Codec(parts[0], int(parts[1]), channels, int(pt))


class _AttributeAccess:
    """Typed reading of the ``a=`` lines, shared by session and media levels."""

    __slots__ = ()
    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> str | None:
        """The value of the first ``a=name`` line ("" for a property attribute), or None."""
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute.value or ""
        return None

    def attribute_values(self, name: str) -> list[str]:
        return [a.value or "" for a in self.attributes if a.name == name]

    def has_attribute(self, name: str) -> bool:
        return any(a.name == name for a in self.attributes)

    @property
    def direction(self) -> Direction | None:
        """The direction written at this level, or None when it is left to the default."""
        for attribute in self.attributes:
            if attribute.name in _DIRECTIONS:
                return Direction(attribute.name)
        return None


@attrs.frozen
class MediaDescription(_AttributeAccess):
    """One ``m=`` section (RFC 8866 §5.14) and the lines under it."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None
    title: str | None = None
    connections: tuple[Connection, ...] = ()
    bandwidths: tuple[Bandwidth, ...] = ()
    encryption_key: str | None = None
    attributes: tuple[Attribute, ...] = ()

    @property
    def is_rtp(self) -> bool:
        return "RTP" in self.proto.split("/")

    @property
    def is_rejected(self) -> bool:
        """RFC 3264 §6: a stream is declined by setting its port to zero."""
        return self.port == 0

    @property
    def codecs(self) -> tuple[Codec, ...]:
        """The RTP formats in ``m=`` order, from rtpmap or RFC 3551's static table."""
        if not self.is_rtp:
            return ()
        rtpmaps = {c.payload_type: c for c in map(_parse_rtpmap, self.attribute_values("rtpmap"))}
        fmtps = dict(_split_fmtp(v) for v in self.attribute_values("fmtp"))
        codecs = []
        for pt in map(int, self.formats):
            codec = rtpmaps.get(pt) or _static_codec(pt)
            if codec is not None:
                codecs.append(attrs.evolve(codec, fmtp=fmtps.get(pt)))
        return tuple(codecs)

    @property
    def ptime(self) -> int | None:
        return _optional_int(self.attribute("ptime"), "ptime")

    @property
    def maxptime(self) -> int | None:
        return _optional_int(self.attribute("maxptime"), "maxptime")

    @property
    def rtcp_mux(self) -> bool:
        return self.has_attribute("rtcp-mux")

    @property
    def crypto(self) -> list[str]:
        """SDES keys (RFC 4568), one ``a=crypto`` value each."""
        return self.attribute_values("crypto")

    @property
    def path(self) -> tuple[str, ...]:
        """MSRP ``a=path`` (RFC 4975 §8.2): the URIs to reach the peer, nearest first."""
        return tuple((self.attribute("path") or "").split())

    @property
    def accept_types(self) -> tuple[str, ...]:
        return tuple((self.attribute("accept-types") or "").split())

    @property
    def accept_wrapped_types(self) -> tuple[str, ...]:
        return tuple((self.attribute("accept-wrapped-types") or "").split())

    @property
    def setup(self) -> str | None:
        """``a=setup`` (RFC 4145): who opens the TCP connection (active/passive/actpass)."""
        return self.attribute("setup")

    def with_direction(self, direction: Direction) -> MediaDescription:
        """A copy whose direction attribute is ``direction``, other attributes untouched."""
        kept = [a for a in self.attributes if a.name not in _DIRECTIONS]
        return attrs.evolve(self, attributes=(*kept, Attribute(str(direction))))

    def lines(self) -> Iterator[str]:
        port = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        yield f"m={self.media} {port} {self.proto} {' '.join(self.formats)}"
        if self.title is not None:
            yield f"i={self.title}"
        yield from (f"c={c}" for c in self.connections)
        yield from (f"b={b}" for b in self.bandwidths)
        if self.encryption_key is not None:
            yield f"k={self.encryption_key}"
        yield from (f"a={a}" for a in self.attributes)


@attrs.frozen
class SessionDescription(_AttributeAccess):
    """A whole SDP body. ``str()`` writes it with CRLF line ends, as RFC 8866 §5 requires."""

    origin: Origin
    session_name: str = "-"
    information: str | None = None
    uri: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    connection: Connection | None = None
    bandwidths: tuple[Bandwidth, ...] = ()
    timings: tuple[Timing, ...] = (Timing(),)
    time_zones: str | None = None
    encryption_key: str | None = None
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse an SDP body, raising :class:`RemoteProtocolError` saying what is wrong."""
        return _parse(_decode(data))

    def media_direction(self, media: MediaDescription) -> Direction:
        """RFC 8866 §6.7: media level wins, then session level, then sendrecv."""
        return media.direction or self.direction or Direction.SENDRECV

    def media_connection(self, media: MediaDescription) -> Connection | None:
        """RFC 8866 §5.7: a media-level ``c=`` overrides the session-level one."""
        return media.connections[0] if media.connections else self.connection

    def lines(self) -> Iterator[str]:
        yield "v=0"
        yield f"o={self.origin}"
        yield f"s={self.session_name}"
        for letter, value in (("i", self.information), ("u", self.uri)):
            if value is not None:
                yield f"{letter}={value}"
        yield from (f"e={e}" for e in self.emails)
        yield from (f"p={p}" for p in self.phones)
        if self.connection is not None:
            yield f"c={self.connection}"
        yield from (f"b={b}" for b in self.bandwidths)
        for timing in self.timings:
            yield f"t={timing.start} {timing.stop}"
            yield from (f"r={r}" for r in timing.repeats)
        for letter, value in (("z", self.time_zones), ("k", self.encryption_key)):
            if value is not None:
                yield f"{letter}={value}"
        yield from (f"a={a}" for a in self.attributes)
        for media in self.media:
            yield from media.lines()

    def __str__(self) -> str:
        return "".join(line + "\r\n" for line in self.lines())

    def to_bytes(self) -> bytes:
        return str(self).encode("utf-8")


def _static_codec(payload_type: int) -> Codec | None:
    known = _STATIC_PAYLOAD_TYPES.get(payload_type)
    return Codec(known[0], known[1], 1, payload_type) if known else None


def _split_fmtp(value: str) -> tuple[int, str]:
    pt, _, parameters = value.partition(" ")
    if not pt.isdecimal():
        raise _malformed(f"a=fmtp:{value} does not start with a payload type")
    return int(pt), parameters.strip()


def _optional_int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.strip().isdecimal():
        raise _malformed(f"a={name}:{value} is not a number")
    return int(value)


# --- parsing ----------------------------------------------------------------------------


def _decode(data: bytes | str) -> str:
    if len(data) > MAX_SDP_BYTES:
        raise RemoteProtocolError(
            f"SDP of {len(data)} bytes exceeds the {MAX_SDP_BYTES}-byte limit", status_hint=413
        )
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")  # RFC 8866 §5: UTF-8 unless a=charset says otherwise
    except UnicodeDecodeError as exc:
        raise _malformed(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _records(text: str) -> list[tuple[str, str]]:
    """Split into ``(type, value)``; RFC 8866 §5 asks parsers to accept bare LF line ends."""
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line:
            continue
        if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
            raise _malformed(f"line {number} {line[:40]!r} is not '<letter>=<value>'")
        records.append((line[0], line[2:]))
    return records


def _parse(text: str) -> SessionDescription:
    records = _records(text)
    if [t for t, _ in records[:3]] != ["v", "o", "s"]:
        raise _malformed("must start with v=, o= and s= lines")
    if records[0][1] != "0":
        raise _malformed(f"unsupported version v={records[0][1]}")
    starts = [i for i, (t, _) in enumerate(records) if t == "m"]
    if len(starts) > MAX_MEDIA_SECTIONS:
        raise RemoteProtocolError(
            f"SDP has {len(starts)} media sections; the limit is {MAX_MEDIA_SECTIONS}",
            status_hint=413,
        )
    ends = [*starts[1:], len(records)]
    session_records = records[3 : starts[0] if starts else len(records)]
    fields = _session_fields(session_records)
    media = tuple(_parse_media(records[s:e]) for s, e in zip(starts, ends))
    return SessionDescription(
        origin=Origin.parse(records[1][1]), session_name=records[2][1], media=media, **fields
    )


def _session_fields(records: Iterable[tuple[str, str]]) -> dict:
    fields: dict = {"emails": [], "phones": [], "bandwidths": [], "attributes": []}
    timings: list[Timing] = []
    for kind, value in records:
        if kind not in _SESSION_LINE_TYPES or kind in "vos":
            raise _malformed(f"{kind}= line is not allowed at session level")
        if kind == "t":
            timings.append(Timing.parse(value))
        elif kind == "r":
            if not timings:
                raise _malformed("r= line before any t= line")
            timings[-1] = attrs.evolve(timings[-1], repeats=(*timings[-1].repeats, value))
        else:
            _store(fields, kind, value, {"i": "information", "u": "uri", "z": "time_zones"})
    if not timings:
        raise _malformed("no t= line")
    fields["timings"] = timings
    return {name: tuple(v) if isinstance(v, list) else v for name, v in fields.items()}


def _parse_media(records: list[tuple[str, str]]) -> MediaDescription:
    media, port, port_count, proto, formats = _parse_media_line(records[0][1])
    fields: dict = {"connections": [], "bandwidths": [], "attributes": []}
    for kind, value in records[1:]:
        if kind not in _MEDIA_LINE_TYPES:
            raise _malformed(f"{kind}= line is not allowed in the m={media} section")
        _store(fields, kind, value, {"i": "title"})
    described = MediaDescription(
        media, port, proto, formats, port_count,
        **{name: tuple(v) if isinstance(v, list) else v for name, v in fields.items()},
    )  # fmt: skip
    _check_typed_attributes(described)
    return described


def _check_typed_attributes(media: MediaDescription) -> None:
    """Fail now on what the typed accessors would choke on later, while the peer is to blame."""
    _ = media.codecs, media.ptime, media.maxptime


def _store(fields: dict, kind: str, value: str, text_fields: dict[str, str]) -> None:
    """Put one line shared by both levels (e p c b k a, plus the free-text ones) in ``fields``."""
    if kind in text_fields:
        fields[text_fields[kind]] = value
    elif kind == "e":
        fields["emails"].append(value)
    elif kind == "p":
        fields["phones"].append(value)
    elif kind == "c":
        connection = Connection.parse(value)
        if "connections" in fields:
            fields["connections"].append(connection)
        else:
            fields["connection"] = connection
    elif kind == "b":
        fields["bandwidths"].append(Bandwidth.parse(value))
    elif kind == "k":
        fields["encryption_key"] = value
    else:
        fields["attributes"].append(Attribute.parse(value))


def _parse_media_line(value: str) -> tuple[str, int, int | None, str, tuple[str, ...]]:
    fields = value.split()
    if len(fields) < 4:
        raise _malformed(f"m={value} needs media, port, proto and at least one format")
    media, port_text, proto, *formats = fields
    port, _, count = port_text.partition("/")
    if not port.isdecimal() or int(port) > 65535 or (count and not count.isdecimal()):
        raise _malformed(f"m={value} has an invalid port {port_text!r}")
    if "RTP" in proto.split("/"):
        if not all(f.isdecimal() and int(f) <= 127 for f in formats):
            raise _malformed(f"m={value}: RTP formats must be payload types 0-127")
    return media, int(port), int(count) if count else None, proto, tuple(formats)
