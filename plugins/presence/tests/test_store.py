"""The embedded SQLite store: contacts, decisions and her last chosen status per owner, edits all or nothing."""

import pytest

from webims_presence import contacts as contact_list
from webims_presence.contacts import Contact, ContactError
from webims_presence.status import CLOSED, PresenceStatus
from webims_presence.store import SqliteStore


async def test_each_owner_keeps_her_own_contacts_and_decisions_across_reopening(tmp_path):
    store = SqliteStore(tmp_path / "p.sqlite")
    mary, bob = store.for_owner("sip:mary@ims.test"), store.for_owner("sip:bob@ims.test")
    await mary.edit_contacts(lambda c: contact_list.added(c, Contact("sip:bob@ims.test", "Bob", "Work"), 10))
    await mary.edit_contacts(lambda c: contact_list.added(c, Contact("tel:+15550102"), 10))
    await mary.edit_decisions(lambda d: d.decide("sip:eve@ims.test", "block"))
    assert await bob.contacts() == ()
    store.close()
    mary = SqliteStore(tmp_path / "p.sqlite").for_owner("sip:mary@ims.test")
    assert await mary.contacts() == (Contact("sip:bob@ims.test", "Bob", "Work"), Contact("tel:+15550102"))
    assert (await mary.decisions()).decision("sip:eve@ims.test") == "block"
    assert not mary.enforced


async def test_a_refused_edit_changes_nothing(tmp_path):
    mary = SqliteStore(tmp_path / "p.sqlite").for_owner("sip:mary@ims.test")
    await mary.edit_contacts(lambda c: contact_list.added(c, Contact("sip:bob@ims.test"), 10))
    with pytest.raises(ContactError):
        await mary.edit_contacts(lambda c: contact_list.added(c, Contact("sip:bob@ims.test"), 10))
    assert await mary.contacts() == (Contact("sip:bob@ims.test"),)


async def test_her_last_chosen_status_is_kept_per_owner_across_reopening(tmp_path):
    store = SqliteStore(tmp_path / "p.sqlite")
    mary, bob = store.for_owner("sip:mary@ims.test"), store.for_owner("sip:bob@ims.test")
    assert await mary.saved_status() is None
    await mary.save_status(PresenceStatus("open", "busy", "Writing"))
    await mary.save_status(CLOSED)
    await bob.save_status(PresenceStatus("open", "away", ""))
    store.close()
    mary = SqliteStore(tmp_path / "p.sqlite").for_owner("sip:mary@ims.test")
    assert await mary.saved_status() == CLOSED
