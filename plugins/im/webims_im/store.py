"""Message history on the gateway: an embedded SQLite file, one subscriber's view at a time.

Why here and not in the browser: messages that arrive while none of her tabs is open must wait somewhere, and
history must follow her to another browser. The plugin talks to :class:`History`, the view of ONE owner (her
subscription, named by its default public identity): every query it runs is limited to that owner, so one
subscriber's code path can never read another's messages. The file itself is created readable by the gateway's
user only (0600).

The schema is versioned with ``PRAGMA user_version`` and migrated forward on open (:data:`MIGRATIONS`); a file
written by a newer plugin is refused rather than guessed at. Each write is one transaction: a message is stored
whole or not at all. SQLite calls run in a worker thread (one at a time) so disk waits never stall the trio loop.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

import attrs
import trio

# One entry per schema version; never edit a released entry, add the next one.
MIGRATIONS = (
    # 1: messages, both directions; notify/report_to remember the notifications a sender asked for (RFC 5438).
    """
    CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        peer TEXT NOT NULL,
        peer_name TEXT NOT NULL DEFAULT '',
        identity TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        text TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        at REAL NOT NULL,
        imdn_id TEXT,
        chat TEXT,
        read INTEGER NOT NULL DEFAULT 0,
        notify TEXT NOT NULL DEFAULT '',
        report_to TEXT
    );
    CREATE INDEX messages_by_peer ON messages (owner, peer, seq);
    CREATE INDEX messages_by_imdn ON messages (owner, imdn_id);
    CREATE INDEX messages_by_age ON messages (at);
    """,
    # 2: per-conversation choices that follow her between tabs: the identity she writes as, and whether the
    # peer takes CPIM (learnt from a 415, RFC 3428 §7).
    """
    CREATE TABLE conversations (
        owner TEXT NOT NULL,
        peer TEXT NOT NULL,
        identity TEXT,
        plain_text INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (owner, peer)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
# Delivery progress only moves forward: a late "delivered" never undoes "displayed".
STATUS_ORDER = {"sending": 0, "failed": 1, "sent": 2, "stored": 2, "delivered": 3, "displayed": 4}
_COLUMNS = ("id", "peer", "peer_name", "identity", "direction", "text", "status", "reason", "at", "imdn_id", "chat",
            "read", "notify", "report_to", "seq")


class StoreError(Exception):
    """The history file cannot be used (unreadable, from a newer version, disk full)."""


@attrs.frozen
class StoredMessage:
    id: str
    peer: str
    identity: str  # which of her identities sent it, or it was sent to
    direction: str  # "in" | "out"
    text: str
    status: str
    at: float
    peer_name: str = ""
    reason: str = ""
    imdn_id: str | None = None
    chat: str | None = None
    read: bool = False
    notify: str = ""  # notifications the sender asked for and that are still owed ("display")
    report_to: str | None = None
    seq: int | None = None

    def summary(self) -> dict:
        """What a browser sees of a message (docs/im.md)."""
        summary = {"id": self.id, "peer": self.peer, "peer_name": self.peer_name, "identity": self.identity,
                   "direction": self.direction, "text": self.text, "status": self.status, "at": self.at,
                   "read": self.read, "cursor": self.seq}
        if self.reason:
            summary["reason"] = self.reason
        if self.chat:
            summary["chat"] = self.chat
        return summary


@attrs.frozen
class Conversation:
    peer: str
    last: StoredMessage
    unread: int
    identity: str | None = None

    def summary(self) -> dict:
        return {"peer": self.peer, "peer_name": self.last.peer_name, "identity": self.identity,
                "unread": self.unread, "last": self.last.summary()}


class SqliteStore:
    """The database file. Synchronous; :class:`Store` runs it in a thread."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self._connection = _open(self.path)
            migrate(self._connection)
            # A message still "sending" was cut off by a stop: say so rather than leave it spinning forever.
            self._write("UPDATE messages SET status = 'failed', reason = ? WHERE status = 'sending'",
                        ("The gateway restarted before the message was sent.",))
        except sqlite3.Error as error:
            raise StoreError(f"the message store {self.path} cannot be used: {error}") from None

    def close(self) -> None:
        self._connection.close()

    def _write(self, sql: str, parameters=()) -> int:
        with _transaction(self._connection):
            return self._connection.execute(sql, parameters).rowcount

    def _rows(self, sql: str, parameters=()) -> list[StoredMessage]:
        return [StoredMessage(**dict(zip(_COLUMNS, row))) for row in self._connection.execute(sql, parameters)]

    def add(self, owner: str, message: StoredMessage) -> StoredMessage:
        values = attrs.asdict(message)
        values["read"] = int(values["read"])
        del values["seq"]
        with _transaction(self._connection):
            cursor = self._connection.execute(
                f"INSERT INTO messages (owner, {', '.join(values)}) VALUES (?{', ?' * len(values)})",
                (owner, *values.values()))
        return attrs.evolve(message, seq=cursor.lastrowid)

    def get(self, owner: str, message_id: str) -> StoredMessage | None:
        rows = self._rows(f"SELECT {', '.join(_COLUMNS)} FROM messages WHERE owner = ? AND id = ?", (owner, message_id))
        return rows[0] if rows else None

    def by_imdn_id(self, owner: str, imdn_id: str, direction: str) -> StoredMessage | None:
        rows = self._rows(f"SELECT {', '.join(_COLUMNS)} FROM messages WHERE owner = ? AND imdn_id = ? "
                          "AND direction = ? ORDER BY seq DESC LIMIT 1", (owner, imdn_id, direction))
        return rows[0] if rows else None

    def set_status(self, owner: str, message_id: str, status: str, reason: str = "") -> StoredMessage | None:
        """Move a message's delivery status forward; None when it would go backwards (or no such message)."""
        current = self.get(owner, message_id)
        if current is None or STATUS_ORDER[status] < STATUS_ORDER[current.status] or current.status == status:
            return None
        self._write("UPDATE messages SET status = ?, reason = ? WHERE owner = ? AND id = ?",
                    (status, reason, owner, message_id))
        return attrs.evolve(current, status=status, reason=reason)

    def history(self, owner: str, peer: str, before: int | None, limit: int) -> list[StoredMessage]:
        """Up to ``limit`` messages with ``peer`` before ``before`` (a cursor), oldest first."""
        rows = self._rows(f"SELECT {', '.join(_COLUMNS)} FROM messages WHERE owner = ? AND peer = ? AND seq < ? "
                          "ORDER BY seq DESC LIMIT ?", (owner, peer, before or 2**62, limit))
        return rows[::-1]

    def conversations(self, owner: str, limit: int) -> list[Conversation]:
        # SQLite fills the bare columns of a MAX() aggregate from the row holding the maximum: the last message.
        columns = ", ".join(_COLUMNS[:-1])
        rows = self._connection.execute(
            f"SELECT {columns}, MAX(seq), SUM(direction = 'in' AND read = 0) FROM messages WHERE owner = ? "
            "GROUP BY peer ORDER BY MAX(seq) DESC LIMIT ?", (owner, limit)).fetchall()
        identities = dict(self._connection.execute(
            "SELECT peer, identity FROM conversations WHERE owner = ?", (owner,)).fetchall())
        return [Conversation(row[1], StoredMessage(**dict(zip(_COLUMNS, row[:-1]))), row[-1],
                             identities.get(row[1])) for row in rows]

    def mark_read(self, owner: str, peer: str) -> list[StoredMessage]:
        """Mark her messages from ``peer`` read; return those whose sender asked to hear of it (RFC 5438)."""
        owed = self._rows(f"SELECT {', '.join(_COLUMNS)} FROM messages WHERE owner = ? AND peer = ? "
                          "AND direction = 'in' AND read = 0 AND notify LIKE '%display%'", (owner, peer))
        self._write("UPDATE messages SET read = 1, notify = '' WHERE owner = ? AND peer = ? AND direction = 'in' "
                    "AND read = 0", (owner, peer))
        return owed

    def preferences(self, owner: str, peer: str) -> tuple[str | None, bool]:
        row = self._connection.execute("SELECT identity, plain_text FROM conversations WHERE owner = ? AND peer = ?",
                                       (owner, peer)).fetchone()
        return (row[0], bool(row[1])) if row else (None, False)

    def set_preferences(self, owner: str, peer: str, *, identity: str | None = None,
                        plain_text: bool | None = None) -> None:
        current_identity, current_plain = self.preferences(owner, peer)
        self._write("INSERT OR REPLACE INTO conversations (owner, peer, identity, plain_text) VALUES (?, ?, ?, ?)",
                    (owner, peer, identity or current_identity,
                     int(current_plain if plain_text is None else plain_text)))

    def purge(self, before: float) -> int:
        """Delete every message older than ``before`` (epoch seconds): the retention setting."""
        return self._write("DELETE FROM messages WHERE at < ?", (before,))


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # born private: never readable by others
    # Autocommit mode: transactions are opened explicitly (_transaction), DDL included.
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across a gateway crash, not a power cut
    connection.execute("PRAGMA busy_timeout = 5000")
    return connection


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection):
    """All or nothing: a message is never stored half-written."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def migrate(connection: sqlite3.Connection) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; each step is one transaction. Returns the old version."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"the message store is schema version {version}, newer than this plugin's "
                         f"{SCHEMA_VERSION}: upgrade webims-im")
    for number in range(version, SCHEMA_VERSION):
        with _transaction(connection):
            for statement in filter(str.strip, MIGRATIONS[number].split(";")):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number + 1}")
    return version


class Store:
    """The async face of :class:`SqliteStore`: calls run one at a time in a worker thread."""

    def __init__(self, database: SqliteStore):
        self.database = database
        self._limiter = trio.CapacityLimiter(1)

    @classmethod
    async def open(cls, path: str | os.PathLike) -> Store:
        return cls(await trio.to_thread.run_sync(SqliteStore, path))

    async def run(self, function, *args, **kwargs):
        try:
            return await trio.to_thread.run_sync(lambda: function(*args, **kwargs), limiter=self._limiter)
        except sqlite3.Error as error:
            raise StoreError(f"the message store failed: {error}") from None

    def history(self, owner: str) -> History:
        return History(self, owner)

    async def purge(self, retention_days: int) -> int:
        return await self.run(self.database.purge, time.time() - retention_days * 86400)

    async def close(self) -> None:
        await self.run(self.database.close)


class History:
    """One owner's messages: the only way the plugin reads or writes the store."""

    def __init__(self, store: Store, owner: str):
        self._store, self.owner = store, owner

    async def add(self, message: StoredMessage) -> StoredMessage:
        return await self._store.run(self._store.database.add, self.owner, message)

    async def get(self, message_id: str) -> StoredMessage | None:
        return await self._store.run(self._store.database.get, self.owner, message_id)

    async def by_imdn_id(self, imdn_id: str, direction: str) -> StoredMessage | None:
        return await self._store.run(self._store.database.by_imdn_id, self.owner, imdn_id, direction)

    async def set_status(self, message_id: str, status: str, reason: str = "") -> StoredMessage | None:
        return await self._store.run(self._store.database.set_status, self.owner, message_id, status, reason)

    async def messages(self, peer: str, before: int | None = None, limit: int = 50) -> list[StoredMessage]:
        return await self._store.run(self._store.database.history, self.owner, peer, before, limit)

    async def conversations(self, limit: int = 200) -> list[Conversation]:
        return await self._store.run(self._store.database.conversations, self.owner, limit)

    async def mark_read(self, peer: str) -> list[StoredMessage]:
        return await self._store.run(self._store.database.mark_read, self.owner, peer)

    async def preferences(self, peer: str) -> tuple[str | None, bool]:
        return await self._store.run(self._store.database.preferences, self.owner, peer)

    async def set_preferences(self, peer: str, **changes) -> None:
        await self._store.run(self._store.database.set_preferences, self.owner, peer, **changes)
