"""Where her contact list, her decisions on watchers and the status she last chose are kept.

Two kinds of store, one interface (:class:`UserStore`): the embedded SQLite file of the gateway (the default),
and her XCAP documents on the operator's XCAP server (resource-lists for contacts, pres-rules for decisions,
pidf-manipulation for her status), which the IMS presence server also reads, so that her decisions are
enforced there. Edits are functions of the current value: the store applies them to what it holds now, which for
XCAP may have been changed by another client meanwhile (a 412 on If-Match brings a fresh copy and the edit again).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import trio

from webims_presence.contacts import Contact
from webims_presence.pres_rules import Decisions
from webims_presence.status import PresenceStatus

ContactsEdit = Callable[[tuple[Contact, ...]], tuple[Contact, ...]]
DecisionsEdit = Callable[[Decisions], Decisions]


class StoreError(Exception):
    """The store failed; ``reason`` is for a person."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UserStore(Protocol):
    # True when the IMS presence server applies the decisions kept here (pres-rules on XCAP).
    enforced: bool

    async def contacts(self) -> tuple[Contact, ...]: ...
    async def edit_contacts(self, edit: ContactsEdit) -> tuple[Contact, ...]: ...
    async def decisions(self) -> Decisions: ...
    async def edit_decisions(self, edit: DecisionsEdit) -> Decisions: ...
    # Tell a resource list server that ``service_uri`` stands for her contact list (RFC 4826 §4).
    async def provide_list_service(self, service_uri: str) -> None: ...
    # The status she chose last, so that her next login shows it again (None: she never chose one).
    async def saved_status(self) -> PresenceStatus | None: ...
    async def save_status(self, status: PresenceStatus) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    owner TEXT NOT NULL, position INTEGER NOT NULL, uri TEXT NOT NULL,
    display_name TEXT NOT NULL, grp TEXT NOT NULL, PRIMARY KEY (owner, uri));
CREATE TABLE IF NOT EXISTS decisions (
    owner TEXT NOT NULL, watcher TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('allow', 'block')), PRIMARY KEY (owner, watcher));
CREATE TABLE IF NOT EXISTS statuses (
    owner TEXT PRIMARY KEY, basic TEXT NOT NULL, activity TEXT, note TEXT NOT NULL);
"""


class SqliteStore:
    """The gateway's own file, shared by all subscribers (each under her default public identity). Calls run in
    a worker thread, one at a time: SQLite work must not stall the trio loop."""

    def __init__(self, path: str | Path):
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")  # a second gateway on the same file waits its turn
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._limiter = trio.CapacityLimiter(1)

    def for_owner(self, owner: str) -> SqliteUserStore:
        return SqliteUserStore(self, owner)

    def close(self) -> None:
        self._db.close()

    async def run(self, function, *args):
        return await trio.to_thread.run_sync(self._locked, function, *args, limiter=self._limiter)

    def _locked(self, function, *args):
        with self._lock:
            try:
                return function(self._db, *args)
            except sqlite3.Error as error:
                raise StoreError(f"The contact store failed ({error}).") from None


class SqliteUserStore:
    enforced = False

    def __init__(self, store: SqliteStore, owner: str):
        self.store = store
        self.owner = owner

    async def contacts(self) -> tuple[Contact, ...]:
        return await self.store.run(_read_contacts, self.owner)

    async def edit_contacts(self, edit: ContactsEdit) -> tuple[Contact, ...]:
        return await self.store.run(_edit_contacts, self.owner, edit)

    async def decisions(self) -> Decisions:
        return await self.store.run(_read_decisions, self.owner)

    async def edit_decisions(self, edit: DecisionsEdit) -> Decisions:
        return await self.store.run(_edit_decisions, self.owner, edit)

    async def provide_list_service(self, service_uri: str) -> None:
        raise StoreError("A resource list server reads her list from XCAP: the operator must set xcap_root.")

    async def saved_status(self) -> PresenceStatus | None:
        return await self.store.run(_read_status, self.owner)

    async def save_status(self, status: PresenceStatus) -> None:
        await self.store.run(_write_status, self.owner, status)


def _read_contacts(db: sqlite3.Connection, owner: str) -> tuple[Contact, ...]:
    rows = db.execute("SELECT uri, display_name, grp FROM contacts WHERE owner = ? ORDER BY position", (owner,))
    return tuple(Contact(*row) for row in rows)


def _edit_contacts(db: sqlite3.Connection, owner: str, edit: ContactsEdit) -> tuple[Contact, ...]:
    with _transaction(db):
        contacts = edit(_read_contacts(db, owner))
        db.execute("DELETE FROM contacts WHERE owner = ?", (owner,))
        db.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?, ?)",
                       [(owner, i, c.uri, c.display_name, c.group) for i, c in enumerate(contacts)])
    return contacts


def _read_decisions(db: sqlite3.Connection, owner: str) -> Decisions:
    rows = list(db.execute("SELECT watcher, decision FROM decisions WHERE owner = ?", (owner,)))
    return Decisions(frozenset(w for w, d in rows if d == "allow"), frozenset(w for w, d in rows if d == "block"))


def _edit_decisions(db: sqlite3.Connection, owner: str, edit: DecisionsEdit) -> Decisions:
    with _transaction(db):
        decisions = edit(_read_decisions(db, owner))
        db.execute("DELETE FROM decisions WHERE owner = ?", (owner,))
        db.executemany("INSERT INTO decisions VALUES (?, ?, ?)",
                       [(owner, w, "allow") for w in decisions.allowed] +
                       [(owner, w, "block") for w in decisions.blocked])
    return decisions


def _read_status(db: sqlite3.Connection, owner: str) -> PresenceStatus | None:
    row = db.execute("SELECT basic, activity, note FROM statuses WHERE owner = ?", (owner,)).fetchone()
    return None if row is None else PresenceStatus(*row)


def _write_status(db: sqlite3.Connection, owner: str, status: PresenceStatus) -> None:
    db.execute("INSERT OR REPLACE INTO statuses VALUES (?, ?, ?, ?)",
               (owner, status.basic, status.activity, status.note))


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back if the edit raises (a refused edit changes nothing)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, error, traceback):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        return False
