"""Her call settings (forwarding, barring, caller ID) as the gateway keeps them: one SQLite file for every
subscriber, a JSON document per subscriber and kind. Calls run in a worker thread, one at a time (a limiter of 1:
the connection is never used by two threads at once), so SQLite never stalls the trio loop; what was read is
cached, so an incoming call does not wait for the disk."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, TypeVar

import trio

from webims.errors import ServiceError

T = TypeVar("T")
_SCHEMA = "CREATE TABLE IF NOT EXISTS call_settings (owner TEXT, kind TEXT, value TEXT NOT NULL, " \
          "PRIMARY KEY (owner, kind))"


class CallSettingsStore:
    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(_SCHEMA)
        self._limiter = trio.CapacityLimiter(1)
        self._cache: dict[tuple[str, str], Any] = {}

    async def get(self, owner: str, kind: str, model: type[T]) -> T:
        """Her ``kind`` of settings as a ``model`` (``model.from_json``), or ``model()`` when she never saved any."""
        key = (owner, kind)
        if key not in self._cache:
            row = await self._run(lambda db: db.execute(
                "SELECT value FROM call_settings WHERE owner = ? AND kind = ?", key).fetchone())
            self._cache[key] = model.from_json(json.loads(row[0])) if row else model()
        return self._cache[key]

    async def put(self, owner: str, kind: str, value) -> None:
        """Keep ``value`` (it has ``to_json()``) as her ``kind`` of settings."""
        text = json.dumps(value.to_json())
        await self._run(lambda db: db.execute("INSERT OR REPLACE INTO call_settings VALUES (?, ?, ?)",
                                              (owner, kind, text)))
        self._cache[(owner, kind)] = value

    def close(self) -> None:
        self._db.close()

    async def _run(self, function):
        try:
            return await trio.to_thread.run_sync(function, self._db, limiter=self._limiter)
        except sqlite3.Error as error:
            raise ServiceError("storage_failed", f"Your call settings could not be read or saved ({error}).") from None
