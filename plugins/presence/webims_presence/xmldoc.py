"""Reading XML documents that come from the network: PIDF, watcherinfo, RLMI, pres-rules, resource-lists.

Every document a peer sends is parsed here and nowhere else, with defusedxml: the standard parsers expand
entities, so a 1 KiB "billion laughs" NOTIFY body would cost gigabytes, and a DTD could name external files.
Presence documents never need a DTD or entities, so both are refused outright, and a size limit is checked
before parsing starts.
"""

from __future__ import annotations

import io
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

import defusedxml.ElementTree
from defusedxml import DefusedXmlException

DEFAULT_MAX_BYTES = 64 * 1024


class DocumentError(ValueError):
    """A document is malformed, too large or of a type we do not read.

    ``status`` is the SIP status a NOTIFY carrying it is answered with (RFC 6665 §4.1.3: 400 for a body we
    cannot read, 413 for one too large, 415 for a type we did not ask for); ``reason`` is for a person.
    """

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def parse_xml(body: bytes, kind: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Element:
    """The root element of ``body``; DocumentError (naming ``kind``, e.g. "PIDF") when it is not acceptable."""
    _check_size(body, kind, max_bytes)
    try:
        return defusedxml.ElementTree.fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as error:
        raise DocumentError(f"{kind} is not acceptable XML: {error}") from None


def parse_xml_with_prefixes(body: bytes, kind: str, max_bytes: int = DEFAULT_MAX_BYTES
                            ) -> tuple[Element, dict[str, str]]:
    """The root element and the namespace prefixes the document declares (``""`` for the default one).

    Selectors in a document (RFC 5261 patch operations) name elements by prefix; ElementTree forgets prefixes,
    so they are collected while parsing. A prefix declared twice keeps its first meaning.
    """
    _check_size(body, kind, max_bytes)
    prefixes: dict[str, str] = {}
    try:
        for event, item in defusedxml.ElementTree.iterparse(io.BytesIO(body), ("start-ns", "end"), forbid_dtd=True):
            if event == "start-ns":
                prefixes.setdefault(*item)
            else:
                root = item
    except (ParseError, DefusedXmlException) as error:
        raise DocumentError(f"{kind} is not acceptable XML: {error}") from None
    return root, prefixes


def _check_size(body: bytes, kind: str, max_bytes: int) -> None:
    if len(body) > max_bytes:
        raise DocumentError(f"{kind} document of {len(body)} bytes is larger than {max_bytes}", 413)
    if not body.strip():
        raise DocumentError(f"empty {kind} document")


def qname(namespace: str, local: str) -> str:
    """ElementTree's ``{namespace}local`` spelling."""
    return f"{{{namespace}}}{local}"


def local_name(element: Element) -> str:
    return element.tag.rpartition("}")[2]


def text_of(element: Element | None) -> str:
    """The element's text, whitespace-trimmed ("" for a missing element)."""
    return "" if element is None or element.text is None else element.text.strip()


def serialize(root: Element, default_namespace: str) -> bytes:
    """``root`` as a UTF-8 document with ``default_namespace`` unprefixed. ElementTree's own option for that
    refuses unqualified attributes, which every document here has (``name``, ``uri``, ``id``)."""
    prefixes = {default_namespace: ""}
    for element in root.iter():
        for name in (element.tag, *element.attrib):
            namespace = name[1:].partition("}")[0] if name.startswith("{") else None
            if namespace is not None and namespace not in prefixes:
                prefixes[namespace] = f"ns{len(prefixes)}"
    declarations = "".join(f" xmlns{':' + p if p else ''}={quoteattr(ns)}" for ns, p in prefixes.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + _element(root, prefixes, declarations)).encode()


def _element(element: Element, prefixes: dict[str, str], declarations: str = "") -> str:
    tag = _prefixed(element.tag, prefixes)
    attributes = "".join(f" {_prefixed(k, prefixes)}={quoteattr(v)}" for k, v in element.attrib.items())
    inner = escape(element.text or "") + "".join(
        _element(child, prefixes) + escape(child.tail or "") for child in element)
    return f"<{tag}{declarations}{attributes}>{inner}</{tag}>" if inner else f"<{tag}{declarations}{attributes}/>"


def _prefixed(name: str, prefixes: dict[str, str]) -> str:
    if not name.startswith("{"):
        return name
    namespace, _, local = name[1:].partition("}")
    prefix = prefixes[namespace]
    return f"{prefix}:{local}" if prefix else local
