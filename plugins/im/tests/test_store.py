"""The message store: survives restarts, migrates its schema, keeps owners apart, forgets by retention."""

import sqlite3
import stat
import time

import pytest

from webims_im.store import MIGRATIONS, SCHEMA_VERSION, SqliteStore, Store, StoredMessage, StoreError


def message(id, peer="sip:bob@ims.test", direction="in", at=None, **fields):
    return StoredMessage(id, peer, "sip:mary@ims.test", direction, f"text {id}", fields.pop("status", "delivered"),
                         at or time.time(), **fields)


async def test_history_survives_closing_and_reopening_the_file(tmp_path):
    store = await Store.open(tmp_path / "im.sqlite")
    await store.history("sip:mary@ims.test").add(message("a"))
    await store.close()
    reopened = await Store.open(tmp_path / "im.sqlite")
    [kept] = await reopened.history("sip:mary@ims.test").messages("sip:bob@ims.test")
    assert kept.text == "text a"


async def test_one_owner_never_sees_anothers_messages(tmp_path):
    store = await Store.open(tmp_path / "im.sqlite")
    await store.history("sip:mary@ims.test").add(message("a"))
    carol = store.history("sip:carol@ims.test")
    assert await carol.conversations() == []
    assert await carol.messages("sip:bob@ims.test") == []
    assert await carol.get("a") is None
    assert await carol.set_status("a", "displayed") is None


def test_the_file_is_readable_by_its_owner_only(tmp_path):
    SqliteStore(tmp_path / "private" / "im.sqlite").close()
    assert stat.S_IMODE((tmp_path / "private" / "im.sqlite").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700


def test_a_version_1_file_is_migrated_and_keeps_its_messages(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    old.execute("INSERT INTO messages (id, owner, peer, identity, direction, text, status, at) "
                "VALUES ('x', 'sip:mary@ims.test', 'sip:bob@ims.test', 'sip:mary@ims.test', 'in', 'old', "
                "'delivered', 1)")
    old.commit()
    old.close()
    store = SqliteStore(path)
    assert store._connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.get("sip:mary@ims.test", "x").text == "old"
    store.set_preferences("sip:mary@ims.test", "sip:bob@ims.test", identity="tel:+15550100")
    assert store.preferences("sip:mary@ims.test", "sip:bob@ims.test") == ("tel:+15550100", False)


def test_a_file_from_a_newer_plugin_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(StoreError) as error:
        SqliteStore(path)
    assert "upgrade webims-im" in str(error.value)


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    store = SqliteStore(tmp_path / "im.sqlite")
    store.add("o", message("dup"))
    with pytest.raises(sqlite3.IntegrityError):
        store.add("o", message("dup"))
    assert len(store.history("o", "sip:bob@ims.test", None, 10)) == 1


def test_a_message_cut_off_while_sending_is_failed_on_the_next_start(tmp_path):
    store = SqliteStore(tmp_path / "im.sqlite")
    store.add("o", message("s", direction="out", status="sending"))
    store.close()
    again = SqliteStore(tmp_path / "im.sqlite")
    assert again.get("o", "s").status == "failed"
    assert "restarted" in again.get("o", "s").reason


async def test_retention_purges_old_messages_only(tmp_path):
    store = await Store.open(tmp_path / "im.sqlite")
    history = store.history("o")
    await history.add(message("old", at=time.time() - 40 * 86400))
    await history.add(message("new"))
    assert await store.purge(30) == 1
    assert [m.id for m in await history.messages("sip:bob@ims.test")] == ["new"]


async def test_conversations_list_the_latest_message_and_unread_count(tmp_path):
    history = (await Store.open(tmp_path / "im.sqlite")).history("o")
    await history.add(message("1"))
    await history.add(message("2", peer="tel:+15550101"))
    await history.add(message("3", notify="display"))
    await history.add(message("4", direction="out", status="sent"))
    conversations = await history.conversations()
    assert [(c.peer, c.last.id, c.unread) for c in conversations] == [("sip:bob@ims.test", "4", 2),
                                                                      ("tel:+15550101", "2", 1)]
    owed = await history.mark_read("sip:bob@ims.test")
    assert [m.id for m in owed] == ["3"]
    assert (await history.conversations())[0].unread == 0


async def test_history_pages_back_with_a_cursor(tmp_path):
    history = (await Store.open(tmp_path / "im.sqlite")).history("o")
    for index in range(5):
        await history.add(message(str(index)))
    page = await history.messages("sip:bob@ims.test", limit=2)
    assert [m.id for m in page] == ["3", "4"]
    older = await history.messages("sip:bob@ims.test", before=page[0].seq, limit=2)
    assert [m.id for m in older] == ["1", "2"]
