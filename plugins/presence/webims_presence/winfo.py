"""Watcher information (RFC 3858 format, RFC 3857 package): who asks to see her presence. Sans-IO.

:func:`parse_watcherinfo` reads one ``application/watcherinfo+xml`` body; :class:`WatcherTable` keeps the
watchers across NOTIFYs: a ``full`` document replaces the table, a ``partial`` one updates the watchers it
names, and versions go up by one (RFC 3858 §4.4). A partial document that skips a version means a NOTIFY was
lost: :class:`WatcherInfoOutOfSync` tells the subscription to refresh, which brings a full document again.
"""

from __future__ import annotations

import attrs

from webims_presence.xmldoc import DEFAULT_MAX_BYTES, DocumentError, local_name, parse_xml, qname, text_of

NS_WINFO = "urn:ietf:params:xml:ns:watcherinfo"
CONTENT_TYPE = "application/watcherinfo+xml"
STATUSES = ("pending", "active", "waiting", "terminated")
# When one watcher URI has several subscriptions (two phones), the page shows the most telling status.
_RANK = {"active": 0, "pending": 1, "waiting": 2}


@attrs.frozen
class Watcher:
    """One subscription to her presence: who (``uri``), its status, and the event that led there."""

    id: str
    uri: str
    status: str
    event: str = ""
    display_name: str = ""


@attrs.frozen
class WatcherInfo:
    version: int
    full: bool
    watchers: tuple[Watcher, ...]  # of the presence package's watcher lists only


class WatcherInfoOutOfSync(Exception):
    """A partial document skipped a version: refresh the subscription for the full state."""


def parse_watcherinfo(body: bytes, max_bytes: int = DEFAULT_MAX_BYTES, package: str = "presence") -> WatcherInfo:
    root = parse_xml(body, "watcherinfo", max_bytes)
    if root.tag != qname(NS_WINFO, "watcherinfo"):
        raise DocumentError(f"expected a <watcherinfo> document, got <{local_name(root)}>")
    version, state = root.get("version", ""), root.get("state")
    if not version.isdigit() or state not in ("full", "partial"):
        raise DocumentError("<watcherinfo> needs a numeric version and state full or partial (RFC 3858 §4.2)")
    watchers = []
    for watcher_list in root.findall(qname(NS_WINFO, "watcher-list")):
        if watcher_list.get("package") != package:
            continue
        watchers += [_watcher(element) for element in watcher_list.findall(qname(NS_WINFO, "watcher"))]
    return WatcherInfo(int(version), state == "full", tuple(watchers))


def _watcher(element) -> Watcher:
    watcher_id, status, uri = element.get("id"), element.get("status"), text_of(element)
    if not watcher_id or status not in STATUSES or not uri:
        raise DocumentError("a <watcher> needs an id, a status and a URI (RFC 3858 §4.3)")
    return Watcher(watcher_id, uri, status, element.get("event", ""), element.get("display-name", ""))


@attrs.define
class WatcherTable:
    version: int | None = None
    _by_id: dict[str, Watcher] = attrs.field(factory=dict)

    def apply(self, info: WatcherInfo) -> bool:
        """Take one document; True if it was applied, False for a stale or repeated one."""
        if info.full:
            self._by_id = {}
        elif self.version is None or info.version > self.version + 1:
            raise WatcherInfoOutOfSync(f"watcherinfo version {info.version} after {self.version}")
        elif info.version <= self.version:
            return False
        for watcher in info.watchers:
            if watcher.status == "terminated":
                self._by_id.pop(watcher.id, None)
            else:
                self._by_id[watcher.id] = watcher
        self.version = info.version
        return True

    def reset(self) -> None:
        """A new subscription starts over: its first NOTIFY is a full document."""
        self.version = None
        self._by_id = {}

    def by_uri(self) -> dict[str, Watcher]:
        """One watcher per URI: the one whose status tells most (active, then pending, then waiting)."""
        best: dict[str, Watcher] = {}
        for watcher in self._by_id.values():
            current = best.get(watcher.uri)
            if current is None or _RANK[watcher.status] < _RANK[current.status]:
                best[watcher.uri] = watcher
        return best
