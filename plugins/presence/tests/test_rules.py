"""Sans-IO rules: PUBLISH soft state (RFC 3903), re-subscription (RFC 6665), her status, her contact list."""

import pytest

from webims_presence import contacts as contact_list
from webims_presence import resubscribe
from webims_presence.contacts import Contact, ContactError, contact_from_browser, contact_uri
from webims_presence.publication import Publication, PublishRequest
from webims_presence.status import PresenceStatus, StatusError, chosen_from_browser, shown_status

DOC, NEW_DOC = b"<presence/>", b"<presence>2</presence>"


def published(expires=600):
    publication = Publication(expires, document=DOC)
    request = publication.next_request()
    assert request == PublishRequest(expires, None, DOC)
    outcome = publication.response(request, 200, etag="e1", expires=300)
    assert outcome.published and outcome.after == 240  # refreshed at 80 % of what was granted
    return publication


def test_publish_then_refresh_then_modify_then_remove_follow_rfc_3903():
    publication = published()
    assert publication.next_request() == PublishRequest(600, "e1", None)  # a refresh has no body
    publication.document = NEW_DOC
    modify = publication.next_request()
    assert modify == PublishRequest(600, "e1", NEW_DOC)
    publication.response(modify, 200, etag="e2")
    publication.document = None
    removal = publication.next_request()
    assert removal == PublishRequest(0, "e2", None)
    assert publication.response(removal, 200).after is None
    assert publication.next_request() is None


@pytest.mark.parametrize("status", [412, 500])  # 500: Kamailio's answer to an unknown entity-tag (NOTES)
def test_an_unknown_entity_tag_makes_the_next_publish_start_anew(status):
    publication = published()
    refresh = publication.next_request()
    assert publication.response(refresh, status).after == 0.0
    assert publication.next_request() == PublishRequest(600, None, DOC)


def test_publishing_anew_is_tried_once_then_backs_off():
    publication = published()
    publication.response(publication.next_request(), 500)
    outcome = publication.response(publication.next_request(), 500)
    assert outcome.after == 1.0 and "did not take" in outcome.problem
    assert publication.response(publication.next_request(), 500).after == 2.0


def test_423_raises_the_interval_and_a_refusal_waits():
    publication = Publication(60, document=DOC)
    assert publication.response(publication.next_request(), 423, min_expires=600).after == 0.0
    assert publication.next_request().expires == 600
    outcome = publication.response(publication.next_request(), 403)
    assert outcome.after == 300 and "refused" in outcome.problem


def test_a_2xx_without_an_entity_tag_is_a_problem():
    publication = Publication(60, document=DOC)
    outcome = publication.response(publication.next_request(), 200)
    assert not outcome.published and "SIP-ETag" in outcome.problem
    assert publication.next_request().if_match is None


def test_termination_reasons_decide_when_to_subscribe_again():
    assert resubscribe.after_termination("deactivated", None).after == 0
    assert resubscribe.after_termination("probation", 12).after == 12
    rejected = resubscribe.after_termination("rejected", None)
    assert rejected.after == 3600 and "Not sharing" in rejected.reason
    assert not resubscribe.after_termination("invariant", None).retry
    assert resubscribe.after_termination(None, None).retry
    assert not resubscribe.after_failure(404, None, 1).retry
    assert resubscribe.after_failure(503, None, 3).after == 8
    assert resubscribe.after_failure(408, 5, 1).after == 5


def test_her_call_shows_on_the_phone_but_appearing_offline_wins():
    available = PresenceStatus("open", "available", "hi")
    assert shown_status(available, on_the_phone=True, away=True) == (
        PresenceStatus("open", "on-the-phone", "hi"), "on-the-phone")
    assert shown_status(available, on_the_phone=False, away=True)[0].activity == "away"
    busy = PresenceStatus("open", "busy")
    assert shown_status(busy, on_the_phone=False, away=True) == (busy, None)
    offline = PresenceStatus("closed", None)
    assert shown_status(offline, on_the_phone=True, away=True) == (offline, None)


def test_the_page_chooses_among_the_listed_activities_with_a_short_note():
    current = PresenceStatus()
    busy = chosen_from_browser({"activity": "busy", "note": " lunch "}, current)
    assert busy == PresenceStatus("open", "busy", "lunch")
    assert chosen_from_browser({"basic": "closed"}, current) == PresenceStatus("closed", None, "")
    for body in ({"activity": "sleeping"}, {"basic": "maybe"}, {"note": "x" * 201}, {"note": "a\nb"}, {"note": 3}):
        with pytest.raises(StatusError):
            chosen_from_browser(body, current)


def test_contact_addresses_are_taken_as_people_type_them():
    assert contact_uri(" bob@ims.test ") == "sip:bob@ims.test"
    assert contact_uri("+15550101") == "tel:+15550101"
    assert contact_uri("sips:carol@ims.test") == "sips:carol@ims.test"
    for text in ("", "bob", "http://x", "mailto:a@b", None, "x" * 300):
        with pytest.raises(ContactError):
            contact_uri(text)


def test_contact_list_edits_refuse_duplicates_unknowns_and_overflow():
    bob = contact_from_browser({"uri": "bob@ims.test", "display_name": "Bob", "group": "Work"})
    contacts = contact_list.added((), bob, max_contacts=2)
    with pytest.raises(ContactError, match="already"):
        contact_list.added(contacts, bob, 2)
    contacts = contact_list.added(contacts, Contact("sip:carol@ims.test"), 2)
    with pytest.raises(ContactError, match="full"):
        contact_list.added(contacts, Contact("sip:dave@ims.test"), 2)
    renamed = contact_from_browser({"display_name": "Robert"}, bob)
    assert contact_list.replaced(contacts, renamed)[0] == Contact("sip:bob@ims.test", "Robert", "Work")
    assert contact_list.removed(contacts, "sip:bob@ims.test") == (Contact("sip:carol@ims.test"),)
    with pytest.raises(ContactError):
        contact_list.removed(contacts, "sip:nobody@ims.test")
    with pytest.raises(ContactError):
        contact_from_browser({"uri": "bob@ims.test", "display_name": "x" * 101})
