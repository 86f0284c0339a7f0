"""Partial presence: the ``application/pidf-diff+xml`` format (RFC 5262) of partial notifications (RFC 5263).

A watcher that lists the type in Accept gets a ``<pidf-full>`` (the whole document and a version) and then
``<pidf-diff>`` documents, each one version further, whose add/replace/remove operations (RFC 5261) patch
it. :class:`PartialPresence` keeps the patched ``<presence>`` of one contact. It understands the selectors
presence documents use: location steps by element name, with an optional ``[@attr='value']`` predicate, ending
in an element, ``text()`` or ``@attr``. A diff it cannot apply, or one that skips a version, raises
:class:`PartialStateLost`: the watcher then refreshes its subscription, which brings a new ``<pidf-full>``
(RFC 5263 §4.2).
"""

from __future__ import annotations

import copy
import re
from xml.etree.ElementTree import Element

import attrs

from webims_presence.pidf import NS_PIDF, PresenceDocument, document_from_element
from webims_presence.xmldoc import DEFAULT_MAX_BYTES, DocumentError, local_name, parse_xml_with_prefixes, qname

NS_DIFF = "urn:ietf:params:xml:ns:pidf-diff"
CONTENT_TYPE = "application/pidf-diff+xml"
_STEPS = re.compile(r"(?:[^/'\"]|'[^']*'|\"[^\"]*\")+")
_STEP = re.compile(r"^(?:(?P<prefix>[\w.-]+):)?(?P<name>[\w.-]+|\*)"
                   r"(?:\[@(?P<attr>[\w.:-]+)=(?P<quote>['\"])(?P<value>.*?)(?P=quote)\])?$")


class PartialStateLost(Exception):
    """The partial state can no longer be kept up to date; a refresh brings the full state again."""


@attrs.define
class PartialPresence:
    presence: Element | None = None
    version: int | None = None

    def apply(self, body: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> PresenceDocument:
        """Take a ``<pidf-full>`` or apply a ``<pidf-diff>``; the contact's whole document afterwards."""
        root, prefixes = parse_xml_with_prefixes(body, "PIDF diff", max_bytes)
        version = _version(root)
        if root.tag == qname(NS_DIFF, "pidf-full"):
            presence = Element(qname(NS_PIDF, "presence"), entity=root.get("entity", ""))
            presence.extend(list(root))
        elif root.tag == qname(NS_DIFF, "pidf-diff"):
            if self.presence is None or version != self.version + 1:
                raise PartialStateLost(f"pidf-diff version {version} does not follow {self.version}")
            presence = copy.deepcopy(self.presence)  # a diff applies whole or not at all
            for operation in root:
                _apply(presence, operation, prefixes)
        else:
            raise DocumentError(f"expected <pidf-full> or <pidf-diff>, got <{local_name(root)}>")
        document = document_from_element(presence)
        self.presence, self.version = presence, version
        return document


def _version(root: Element) -> int:
    value = root.get("version", "")
    if not value.isdigit():
        raise DocumentError("a partial PIDF needs a numeric version (RFC 5262 §3)")
    return int(value)


def _apply(presence: Element, operation: Element, prefixes: dict[str, str]) -> None:
    kind, selector = local_name(operation), operation.get("sel", "")
    parent, target, last = _select(presence, selector, prefixes)
    if kind == "add":
        if not isinstance(target, Element):
            raise PartialStateLost(f"add needs an element to add to: {selector}")
        _add(target, operation)
    elif kind == "replace":
        _replace(parent, target, last, operation)
    elif kind == "remove":
        _remove(parent, target, last)
    else:
        raise DocumentError(f"unknown partial PIDF operation <{kind}>")


def _add(target: Element, operation: Element) -> None:
    if operation.get("type", "").startswith("@"):
        target.set(operation.get("type")[1:], operation.text or "")
    elif operation.get("pos") == "prepend":
        target[0:0] = list(operation)
    else:
        target.extend(list(operation))


def _replace(parent: Element, target, last: str, operation: Element) -> None:
    if last == "text()":
        target.text = operation.text or ""
    elif last.startswith("@"):
        target.set(last[1:], operation.text or "")
    elif len(operation) == 1:
        parent[list(parent).index(target)] = operation[0]
    else:
        raise PartialStateLost("replace of an element needs exactly one new element")


def _remove(parent: Element, target, last: str) -> None:
    if last == "text()":
        target.text = None
    elif last.startswith("@"):
        target.attrib.pop(last[1:], None)
    elif parent is None:
        raise PartialStateLost("the <presence> element itself cannot be removed")
    else:
        parent.remove(target)


def _select(presence: Element, selector: str, prefixes: dict[str, str]) -> tuple[Element | None, object, str]:
    """(parent, target, last step) for a selector; the target is an element, or the element whose text or
    attribute the last step names."""
    steps = _STEPS.findall(selector.lstrip("/"))
    if not steps or not _matches(presence, steps[0], prefixes):
        raise PartialStateLost(f"selector {selector!r} does not start at <presence>")
    parent, element = None, presence
    for index, step in enumerate(steps[1:], start=1):
        if step == "text()" or step.startswith("@"):
            if index != len(steps) - 1:
                raise PartialStateLost(f"{step} must end the selector {selector!r}")
            return parent, element, step
        found = [child for child in element if _matches(child, step, prefixes)]
        if len(found) != 1:
            raise PartialStateLost(f"selector {selector!r} selects {len(found)} elements at {step!r}")
        parent, element = element, found[0]
    return parent, element, steps[-1]


def _matches(element: Element, step: str, prefixes: dict[str, str]) -> bool:
    match = _STEP.match(step)
    if match is None:
        raise PartialStateLost(f"unsupported selector step {step!r}")
    if match["name"] != "*" and element.tag != qname(_namespace(match["prefix"], prefixes), match["name"]):
        return False
    return match["attr"] is None or element.get(match["attr"]) == match["value"]


def _namespace(prefix: str | None, prefixes: dict[str, str]) -> str:
    if prefix:
        if prefix not in prefixes:
            raise PartialStateLost(f"undeclared prefix {prefix!r} in a selector")
        return prefixes[prefix]
    # RFC 5261 §4.2.1: an unprefixed name is in the diff document's default namespace; a document whose
    # default is the diff namespace itself can only mean PIDF.
    default = prefixes.get("", NS_PIDF)
    return NS_PIDF if default == NS_DIFF else default
