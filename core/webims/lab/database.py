"""The lab's SQLite database: Kamailio's own schema plus the subscriber data.

One file serves msilo (stored MESSAGEs), presence (presentity, watchers) and the
`lab` htable that the routing script reads subscriber data from. The schema comes
from the SQL scripts Kamailio installs, so the table versions always match the
modules that check them at startup.

NOTES: db_sqlite has no busy timeout; concurrent Kamailio workers then fail with
"database is locked". WAL journal mode (set here, it is persistent in the file) and
a single SIP worker (the config template) avoid that.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from webims.lab.subscribers import Subscribers, Subscription, identity_key

KAMAILIO_SCHEMA_DIR = Path("/usr/share/kamailio/db_sqlite")
SCHEMA_SCRIPTS = ("standard-create.sql", "msilo-create.sql", "presence-create.sql")

# The htable the routing script reads (`$sht(lab=>...)`), one row per key.
LAB_HTABLE = "lab_data"


def create_database(path: Path, subscribers: Subscribers, schema_dir: Path = KAMAILIO_SCHEMA_DIR) -> None:
    """Write a fresh lab database at `path` holding `subscribers`."""
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        for script in SCHEMA_SCRIPTS:
            db.executescript(_schema(schema_dir / script))
        # Kamailio's `htable` table (and version row) under the lab's own name.
        htable = _schema(schema_dir / "htable-create.sql")
        db.executescript(htable.replace("TABLE htable ", f"TABLE {LAB_HTABLE} ").replace("'htable'", f"'{LAB_HTABLE}'"))
        db.executemany(
            f"INSERT INTO {LAB_HTABLE} (key_name, key_value) VALUES (?, ?)",
            sorted(htable_rows(subscribers).items()),
        )
        db.commit()


def _schema(script: Path) -> str:
    try:
        return script.read_text(encoding="utf-8")
    except OSError as error:
        raise FileNotFoundError(
            f"Kamailio's SQLite schema {script} is missing: install it with "
            "`apt-get install kamailio-sqlite-modules`"
        ) from error


def htable_rows(subscribers: Subscribers) -> dict[str, str]:
    """The keys the routing script looks up, each prefixed by what it answers.

    - `impi:<username>` → canonical AOR of the subscription the credential belongs to
    - `passwd:<username>` → the digest password
    - `impu:<identity key>` → canonical AOR of the identity's subscription
    - `pau:<canonical AOR>` → the P-Associated-URI value (default identity first)
    - `name:<canonical AOR>` → display name, used in P-Asserted-Identity
    """
    rows: dict[str, str] = {}
    for subscription in subscribers.subscriptions:
        rows.update(_subscription_rows(subscription))
    return rows


def _subscription_rows(subscription: Subscription) -> dict[str, str]:
    aor = subscription.canonical_aor
    rows = {f"pau:{aor}": ", ".join(f"<{uri}>" for uri in subscription.implicit_set)}
    if subscription.display_name:
        rows[f"name:{aor}"] = subscription.display_name
    for uri in subscription.public_identities:
        rows[f"impu:{identity_key(uri)}"] = aor
    for credential in subscription.private_identities:
        rows[f"impi:{credential.username}"] = aor
        rows[f"passwd:{credential.username}"] = credential.password
    return rows
