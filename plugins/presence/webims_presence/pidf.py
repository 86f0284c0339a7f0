"""PIDF (RFC 3863) with the data model (RFC 4479) and rich presence activities (RFC 4480): sans-IO.

:func:`build_pidf` writes what she publishes; :func:`parse_pidf` reads what a watched contact's NOTIFY carries
into a :class:`PresenceDocument`, whose :meth:`~PresenceDocument.status` boils its tuples and persons down to
the one status the page shows. Unknown elements are ignored (PIDF's extensibility, RFC 3863 §4.1.1); what
PIDF requires (the entity, a tuple's id and status, a basic value of open or closed) is checked.
"""

from __future__ import annotations

from datetime import datetime
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

import attrs

from webims_presence.status import PresenceStatus
from webims_presence.xmldoc import DEFAULT_MAX_BYTES, DocumentError, local_name, parse_xml, qname, text_of

NS_PIDF = "urn:ietf:params:xml:ns:pidf"
NS_DM = "urn:ietf:params:xml:ns:pidf:data-model"
NS_RPID = "urn:ietf:params:xml:ns:pidf:rpid"
CONTENT_TYPE = "application/pidf+xml"
# The page's names for two RPID activities (status.py); every other RPID name is used as it is.
_RPID_TO_PAGE = {"meeting": "in-a-meeting"}
_PAGE_TO_RPID = {"in-a-meeting": "meeting"}


@attrs.frozen
class PresenceTuple:
    """A PIDF tuple (RFC 3863 §4.1.2): one service or device of the presentity."""

    id: str
    basic: str | None
    note: str = ""
    timestamp: datetime | None = None  # RFC 3863 §4.1.7


@attrs.frozen
class Person:
    """A data-model person (RFC 4479 §3.1) with its RPID activities (RFC 4480 §3.2)."""

    id: str
    activities: tuple[str, ...] = ()
    note: str = ""
    timestamp: datetime | None = None  # RFC 4479 §5.3


@attrs.frozen
class PresenceDocument:
    entity: str
    tuples: tuple[PresenceTuple, ...] = ()
    persons: tuple[Person, ...] = ()
    notes: tuple[str, ...] = ()

    def status(self) -> PresenceStatus:
        """One status for the page: open if any tuple is open; the first activity a person states ("available"
        when open without one); the first note of a person, else of an open tuple, else of the document.

        A presence server merges every publication it holds for her into one document, also that of a gateway
        that stopped without removing its own: it stays until it expires. So tuples and persons stamped older
        than the newest stamped tuple are left out; what carries no timestamp is kept."""
        tuples, persons = self.tuples, self.persons
        stamps = [t.timestamp for t in tuples if t.timestamp is not None]
        if stamps:
            newest = max(stamps)
            tuples = tuple(t for t in tuples if t.timestamp is None or t.timestamp >= newest)
            persons = tuple(p for p in persons if p.timestamp is None or p.timestamp >= newest)
        is_open = any(t.basic == "open" for t in tuples)
        activities = [activity for person in persons for activity in person.activities]
        activity = activities[0] if activities else ("available" if is_open else None)
        candidates = [p.note for p in persons] + [t.note for t in tuples if t.basic == "open"]
        candidates += [t.note for t in tuples] + list(self.notes)
        note = next((n for n in candidates if n), "")
        return PresenceStatus("open" if is_open else "closed", activity, note)


# --- building ---------------------------------------------------------------------------------------------------

def build_pidf(entity: str, status: PresenceStatus, *, tuple_id: str, person_id: str,
               timestamp: datetime | None = None) -> bytes:
    """The PIDF she publishes. The prefixes are fixed (``dm``, ``rpid``): some watchers (baresip) look for
    ``<rpid:busy/>`` as text rather than parse the namespaces. ``timestamp`` (aware) lets watchers tell this
    publication from older ones merged beside it (:meth:`PresenceDocument.status`)."""
    stamp = timestamp.isoformat(timespec="microseconds") if timestamp is not None else None
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<presence xmlns="{NS_PIDF}" xmlns:dm="{NS_DM}" xmlns:rpid="{NS_RPID}" entity={quoteattr(entity)}>',
             f"  <tuple id={quoteattr(tuple_id)}>",
             f"    <status><basic>{status.basic}</basic></status>",
             f"    <contact>{escape(entity)}</contact>"]
    if status.note:
        lines.append(f"    <note>{escape(status.note)}</note>")
    if stamp:
        lines.append(f"    <timestamp>{stamp}</timestamp>")
    lines.append("  </tuple>")
    rpid = _PAGE_TO_RPID.get(status.activity, status.activity)
    if rpid not in (None, "available"):
        person_stamp = f"<dm:timestamp>{stamp}</dm:timestamp>" if stamp else ""
        lines.append(f"  <dm:person id={quoteattr(person_id)}>"
                     f"<rpid:activities><rpid:{rpid}/></rpid:activities>{person_stamp}</dm:person>")
    lines.append("</presence>")
    return ("\n".join(lines) + "\n").encode()


# --- parsing ----------------------------------------------------------------------------------------------------

def parse_pidf(body: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> PresenceDocument:
    return document_from_element(parse_xml(body, "PIDF", max_bytes))


def document_from_element(root: Element) -> PresenceDocument:
    """A :class:`PresenceDocument` from a parsed ``<presence>`` (also one rebuilt from partial notifications)."""
    if root.tag != qname(NS_PIDF, "presence"):
        raise DocumentError(f"expected a PIDF <presence> document, got <{local_name(root)}>")
    entity = root.get("entity")
    if not entity:
        raise DocumentError("the PIDF <presence> has no entity (RFC 3863 §4.1.1)")
    tuples = tuple(_tuple(element) for element in root.findall(qname(NS_PIDF, "tuple")))
    persons = tuple(_person(element) for element in root.findall(qname(NS_DM, "person")))
    notes = tuple(text_of(note) for note in root.findall(qname(NS_PIDF, "note")))
    return PresenceDocument(entity, tuples, persons, notes)


def _tuple(element: Element) -> PresenceTuple:
    tuple_id = element.get("id")
    status = element.find(qname(NS_PIDF, "status"))
    if not tuple_id or status is None:
        raise DocumentError("a PIDF <tuple> needs an id and a <status> (RFC 3863 §4.1.2)")
    basic = status.find(qname(NS_PIDF, "basic"))
    value = text_of(basic).lower() if basic is not None else None
    if value not in (None, "open", "closed"):
        raise DocumentError(f"<basic> must be open or closed, not {value!r}")
    return PresenceTuple(tuple_id, value, text_of(element.find(qname(NS_PIDF, "note"))),
                         _timestamp(element.find(qname(NS_PIDF, "timestamp"))))


def _person(element: Element) -> Person:
    activities = []
    for container in element.findall(qname(NS_RPID, "activities")):
        activities += [name for name in map(_activity_name, container) if name is not None]
    note = text_of(element.find(qname(NS_DM, "note")))
    return Person(element.get("id", ""), tuple(activities), note, _timestamp(element.find(qname(NS_DM, "timestamp"))))


def _timestamp(element: Element | None) -> datetime | None:
    """An RFC 3339 time with its offset; None when absent or unreadable (it only orders publications)."""
    if element is None:
        return None
    try:
        value = datetime.fromisoformat(text_of(element))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _activity_name(element: Element) -> str | None:
    if not element.tag.startswith(f"{{{NS_RPID}}}"):
        return None
    name = local_name(element)
    if name == "unknown":
        return None
    if name == "other":  # free text (RFC 4480 §3.2): the page shows it as the activity
        return text_of(element)[:64] or "other"
    return _RPID_TO_PAGE.get(name, name)
