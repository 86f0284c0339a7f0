"""Her contacts as an XCAP resource-lists document (RFC 4826 §3). Sans-IO.

webims keeps her contacts in the top-level list named ``contacts``: contacts without a group are its entries,
each group is a list inside it (its display-name is the group's name). The nesting is what a resource list
server flattens into one list (RFC 4826 §4), so the same list can back an RLS service. Other top-level lists of
her document (written by another client) are kept as they are.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement

from webims_presence.contacts import Contact
from webims_presence.xmldoc import DEFAULT_MAX_BYTES, DocumentError, local_name, parse_xml, qname, serialize, text_of

NS_RL = "urn:ietf:params:xml:ns:resource-lists"
CONTENT_TYPE = "application/resource-lists+xml"
LIST_NAME = "contacts"


def _tag(local: str) -> str:
    return qname(NS_RL, local)


def _root(body: bytes, max_bytes: int) -> Element:
    root = parse_xml(body, "resource-lists", max_bytes)
    if root.tag != _tag("resource-lists"):
        raise DocumentError(f"expected a <resource-lists> document, got <{local_name(root)}>")
    return root


def contacts_from_resource_lists(body: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Contact, ...]:
    """Her contacts: the entries of the ``contacts`` list and of the group lists in it."""
    ours = _our_list(_root(body, max_bytes))
    if ours is None:
        return ()
    contacts = [_contact(entry, "") for entry in ours.findall(_tag("entry"))]
    for group in ours.findall(_tag("list")):
        name = text_of(group.find(_tag("display-name"))) or group.get("name", "")
        contacts += [_contact(entry, name) for entry in group.findall(_tag("entry"))]
    unique = {contact.uri: contact for contact in reversed(contacts)}  # a URI twice: the first one counts
    return tuple(contact for contact in contacts if unique.get(contact.uri) is contact)


def _contact(entry: Element, group: str) -> Contact:
    uri = entry.get("uri")
    if not uri:
        raise DocumentError("a resource-lists <entry> needs a uri (RFC 4826 §3.2)")
    return Contact(uri, text_of(entry.find(_tag("display-name"))), group)


def _our_list(root: Element) -> Element | None:
    return next((element for element in root.findall(_tag("list")) if element.get("name") == LIST_NAME), None)


def resource_lists_with(contacts: tuple[Contact, ...], existing: bytes | None = None,
                        max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """``existing`` (or a new document) with its ``contacts`` list holding exactly ``contacts``."""
    root = _root(existing, max_bytes) if existing else Element(_tag("resource-lists"))
    old = _our_list(root)
    ours = Element(_tag("list"), name=LIST_NAME)
    groups: dict[str, Element] = {}
    for contact in contacts:
        parent = ours if not contact.group else groups.get(contact.group) or _group(ours, groups, contact.group)
        entry = SubElement(parent, _tag("entry"), uri=contact.uri)
        if contact.display_name:
            SubElement(entry, _tag("display-name")).text = contact.display_name
    if old is None:
        root.append(ours)
    else:
        root[list(root).index(old)] = ours
    return serialize(root, NS_RL)


def _group(ours: Element, groups: dict[str, Element], name: str) -> Element:
    groups[name] = SubElement(ours, _tag("list"), name=f"group-{len(groups) + 1}")
    SubElement(groups[name], _tag("display-name")).text = name
    return groups[name]
