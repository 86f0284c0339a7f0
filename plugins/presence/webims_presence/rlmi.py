"""Resource lists (RFC 4662): a multipart/related NOTIFY body (RFC 2387) whose root is an RLMI document
listing the list's resources, and one part per resource with its state (a PIDF); and the rls-services
document (RFC 4826) that tells the server which list her list URI stands for. Sans-IO.

:func:`parse_list_notification` turns one NOTIFY body into a :class:`ListNotification`. Like watcherinfo, the
list has versions: a ``fullState="false"`` document updates only the resources it names, and must be one
version after the last (RFC 4662 §5.2); :class:`ListState` keeps that order.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

import attrs

from webims_presence.xmldoc import DEFAULT_MAX_BYTES, DocumentError, local_name, parse_xml, qname, text_of

NS_RLMI = "urn:ietf:params:xml:ns:rlmi"
RLMI_TYPE = "application/rlmi+xml"
MAX_PARTS = 2000


@attrs.frozen
class BodyPart:
    content_type: str
    content_id: str
    body: bytes


@attrs.frozen
class ResourceState:
    """One resource of the list: its URI and, when it has an active instance, that instance's document."""

    uri: str
    name: str
    state: str  # active | pending | terminated (of its instance; "" when the list names no instance)
    reason: str = ""
    part: BodyPart | None = None


@attrs.frozen
class ListNotification:
    uri: str
    version: int
    full_state: bool
    resources: tuple[ResourceState, ...]


class ListOutOfSync(Exception):
    """A partial list notification skipped a version: refresh the subscription for the full state."""


def parse_list_notification(content_type: str, body: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> ListNotification:
    media, params = _media_type(content_type)
    if media != "multipart/related":
        raise DocumentError(f"a list notification is multipart/related, not {media}", 415)
    boundary = params.get("boundary")
    if not boundary:
        raise DocumentError("multipart/related without a boundary parameter")
    parts = split_multipart(body, boundary)
    start = params.get("start", "").strip("<>")
    root = next((p for p in parts if p.content_id == start), None) if start else (parts[0] if parts else None)
    if root is None or _media_type(root.content_type)[0] != RLMI_TYPE:
        raise DocumentError("the multipart/related body has no RLMI root part (RFC 4662 §5)")
    by_cid = {part.content_id: part for part in parts if part is not root}
    return _rlmi(root.body, by_cid, max_bytes)


def _rlmi(body: bytes, by_cid: dict[str, BodyPart], max_bytes: int) -> ListNotification:
    root = parse_xml(body, "RLMI", max_bytes)
    if root.tag != qname(NS_RLMI, "list"):
        raise DocumentError(f"expected an RLMI <list>, got <{local_name(root)}>")
    version, full = root.get("version", ""), root.get("fullState")
    if not version.isdigit() or full not in ("true", "false", "1", "0") or not root.get("uri"):
        raise DocumentError("an RLMI <list> needs a uri, a numeric version and fullState (RFC 4662 §5.2)")
    resources = tuple(_resource(element, by_cid) for element in root.findall(qname(NS_RLMI, "resource")))
    return ListNotification(root.get("uri"), int(version), full in ("true", "1"), resources)


def _resource(element, by_cid: dict[str, BodyPart]) -> ResourceState:
    uri = element.get("uri")
    if not uri:
        raise DocumentError("an RLMI <resource> needs a uri")
    name = text_of(element.find(qname(NS_RLMI, "name")))
    instance = element.find(qname(NS_RLMI, "instance"))
    if instance is None:
        return ResourceState(uri, name, "")
    part = by_cid.get(instance.get("cid", ""))
    return ResourceState(uri, name, instance.get("state", ""), instance.get("reason", ""), part)


def split_multipart(body: bytes, boundary: str) -> list[BodyPart]:
    """The parts of a MIME multipart body (RFC 2046 §5.1.1): what lies between ``--boundary`` lines."""
    delimiter = b"--" + boundary.encode()
    sections = body.split(delimiter)
    if len(sections) < 3:
        raise DocumentError("the multipart body has no complete part")
    parts = []
    for section in sections[1:]:
        if section.startswith(b"--"):
            break  # the close delimiter
        if len(parts) == MAX_PARTS:
            raise DocumentError(f"more than {MAX_PARTS} parts in a multipart body", 413)
        parts.append(_part(section.removeprefix(b"\r\n").removesuffix(b"\r\n")))
    return parts


def _part(section: bytes) -> BodyPart:
    head, separator, content = section.partition(b"\r\n\r\n")
    if not separator:
        head, content = (b"", section) if section.startswith(b"\r\n") else (section, b"")
    headers = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return BodyPart(headers.get("content-type", "text/plain"), headers.get("content-id", "").strip("<>"), content)


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    media, *raw = content_type.split(";")
    params = {}
    for item in raw:
        name, _, value = item.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), params


@attrs.define
class ListState:
    version: int | None = None

    def accept(self, notification: ListNotification) -> bool:
        """True to apply ``notification``, False for a stale one; ListOutOfSync when one went missing."""
        if notification.full_state:
            self.version = notification.version
            return True
        if self.version is None or notification.version > self.version + 1:
            raise ListOutOfSync(f"list version {notification.version} after {self.version}")
        if notification.version <= self.version:
            return False
        self.version = notification.version
        return True


NS_RLS = "urn:ietf:params:xml:ns:rls-services"
RLS_SERVICES_TYPE = "application/rls-services+xml"


def build_rls_services(service_uri: str, resource_list: str) -> bytes:
    """Her rls-services document (RFC 4826 §4): the list URI she subscribes to stands for the list at the
    ``resource_list`` XCAP URI (her ``contacts`` list), for the presence package."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<rls-services xmlns="{NS_RLS}">\n'
            f"  <service uri={quoteattr(service_uri)}>\n"
            f"    <resource-list>{escape(resource_list)}</resource-list>\n"
            "    <packages><package>presence</package></packages>\n"
            "  </service>\n"
            "</rls-services>\n").encode()
