"""Sans-IO presence documents: PIDF/RPID, partial PIDF, watcherinfo, pres-rules, resource-lists, RLMI."""

from datetime import datetime, timezone

import pytest

from webims_presence import pidf, pres_rules, resource_lists, rlmi, winfo
from webims_presence.contacts import Contact
from webims_presence.pidf_diff import PartialPresence, PartialStateLost
from webims_presence.status import PresenceStatus
from webims_presence.xmldoc import DocumentError

RPID_PIDF = b"""<?xml version="1.0"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
          xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:bob@ims.test">
  <tuple id="t1"><status><basic>closed</basic></status><note>desk phone</note></tuple>
  <tuple id="t2"><status><basic>open</basic></status><note>mobile</note></tuple>
  <dm:person id="p1"><rpid:activities><rpid:meeting/></rpid:activities><dm:note>until 3</dm:note></dm:person>
  <extension xmlns="urn:example:unknown"><anything/></extension>
</presence>"""


# --- PIDF ---------------------------------------------------------------------------------------------------------

def test_a_published_status_reads_back_the_same():
    for status in (PresenceStatus("open", "available", ""), PresenceStatus("open", "busy", "a <b> & c"),
                   PresenceStatus("open", "in-a-meeting", "room 4"), PresenceStatus("open", "on-the-phone", ""),
                   PresenceStatus("open", "away", ""), PresenceStatus("closed", None, "gone")):
        body = pidf.build_pidf("sip:mary@ims.test", status, tuple_id="t", person_id="p")
        assert pidf.parse_pidf(body).status() == status


def test_activities_use_the_rpid_prefix_simple_watchers_look_for():
    body = pidf.build_pidf("sip:mary@ims.test", PresenceStatus("open", "on-the-phone"), tuple_id="t", person_id="p")
    assert b"<rpid:on-the-phone/>" in body and b"<basic>open</basic>" in body
    assert b"rpid:meeting" in pidf.build_pidf("sip:m@x", PresenceStatus("open", "in-a-meeting"),
                                              tuple_id="t", person_id="p")


def test_any_open_tuple_makes_the_contact_open_and_a_person_note_wins():
    status = pidf.parse_pidf(RPID_PIDF).status()
    assert status == PresenceStatus("open", "in-a-meeting", "until 3")


def test_other_rpid_activities_pass_through_by_name():
    body = RPID_PIDF.replace(b"<rpid:meeting/>", b"<rpid:vacation/>")
    assert pidf.parse_pidf(body).status().activity == "vacation"
    body = RPID_PIDF.replace(b"<rpid:meeting/>", b"<rpid:other>lunch</rpid:other>")
    assert pidf.parse_pidf(body).status().activity == "lunch"


def merged(*bodies: bytes) -> bytes:
    """What a presence server NOTIFYs for several publications of one presentity: their elements in one document."""
    inner = b"".join(body.split(b">", 2)[2].rsplit(b"</presence>", 1)[0] for body in bodies)
    return bodies[0].split(b">", 2)[0] + b">" + bodies[0].split(b">", 2)[1] + b">" + inner + b"</presence>"


def test_of_merged_publications_the_newest_speaks_and_unstamped_ones_still_count():
    old = pidf.build_pidf("sip:mary@ims.test", PresenceStatus("open", "busy", "old"), tuple_id="a", person_id="pa",
                          timestamp=datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc))
    new = pidf.build_pidf("sip:mary@ims.test", PresenceStatus("open", "available", ""), tuple_id="b",
                          person_id="pb", timestamp=datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc))
    assert b"<timestamp>2026-11-27T10:00:00.000000+00:00</timestamp>" in new
    for order in ((old, new), (new, old)):
        assert pidf.parse_pidf(merged(*order)).status() == PresenceStatus("open", "available", "")
    closed = new.replace(b"<basic>open</basic>", b"<basic>closed</basic>")
    assert pidf.parse_pidf(merged(old, closed)).status().basic == "closed"  # the old open tuple no longer counts
    phone = pidf.build_pidf("sip:mary@ims.test", PresenceStatus("open", "on-the-phone", ""), tuple_id="c",
                            person_id="pc")  # another source, without timestamps (a native phone)
    assert pidf.parse_pidf(merged(old, new, phone)).status().activity == "on-the-phone"
    unreadable = old.replace(b"2026-11-27T09:00:00.000000+00:00", b"yesterday")
    assert pidf.parse_pidf(unreadable).status() == PresenceStatus("open", "busy", "old")


def test_a_document_without_tuples_is_closed():
    body = b'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"/>'
    assert pidf.parse_pidf(body).status() == PresenceStatus("closed", None, "")


@pytest.mark.parametrize("body, words", [
    (b"<presence", "not acceptable XML"),
    (b'<presence xmlns="urn:other" entity="sip:x@y"/>', "expected a PIDF"),
    (b'<presence xmlns="urn:ietf:params:xml:ns:pidf"/>', "no entity"),
    (b'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"><tuple id="a"/></presence>', "needs an id"),
    (b'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"><tuple id="a"><status>'
     b'<basic>maybe</basic></status></tuple></presence>', "open or closed"),
    (b"", "empty"),
])
def test_malformed_pidf_is_refused_with_a_reason(body, words):
    with pytest.raises(DocumentError) as error:
        pidf.parse_pidf(body)
    assert words in error.value.reason and error.value.status == 400


def test_entity_expansion_and_dtds_are_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="&lol2;"/>')
    external = (b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="&x;"/>')
    for body in (bomb, external):
        with pytest.raises(DocumentError) as error:
            pidf.parse_pidf(body)
        assert error.value.status == 400


def test_a_huge_document_is_refused_before_parsing_with_413():
    body = RPID_PIDF.replace(b"mobile", b"x" * 70000)
    with pytest.raises(DocumentError) as error:
        pidf.parse_pidf(body)
    assert error.value.status == 413


# --- partial PIDF (RFC 5262) --------------------------------------------------------------------------------------

FULL = b"""<p:pidf-full xmlns="urn:ietf:params:xml:ns:pidf" xmlns:p="urn:ietf:params:xml:ns:pidf-diff"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
    entity="sip:bob@ims.test" version="7">
  <tuple id="a"><status><basic>open</basic></status></tuple>
  <tuple id="b"><status><basic>closed</basic></status></tuple>
</p:pidf-full>"""


def diff(version, operations):
    return (b'<p:pidf-diff xmlns="urn:ietf:params:xml:ns:pidf" xmlns:p="urn:ietf:params:xml:ns:pidf-diff" '
            b'xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" '
            b'entity="sip:bob@ims.test" version="' + str(version).encode() + b'">' + operations + b"</p:pidf-diff>")


def test_partial_notifications_patch_the_full_document_in_order():
    partial = PartialPresence()
    assert partial.apply(FULL).status().basic == "open"
    status = partial.apply(diff(8, b"<p:replace sel=\"*/tuple[@id='a']/status/basic/text()\">closed</p:replace>"))
    assert status.status().basic == "closed"
    status = partial.apply(diff(9, b'<p:add sel="presence"><dm:person id="x"><rpid:activities><rpid:busy/>'
                                   b"</rpid:activities></dm:person></p:add>"
                                   b"<p:replace sel=\"*/tuple[@id='b']\"><tuple id=\"b\"><status><basic>open"
                                   b"</basic></status><note>back</note></tuple></p:replace>"))
    assert status.status() == PresenceStatus("open", "busy", "back")
    status = partial.apply(diff(10, b"<p:remove sel=\"*/dm:person[@id='x']\"/>"))
    assert status.status().activity == "available"


def test_a_skipped_version_or_an_unusable_selector_asks_for_the_full_state_again():
    partial = PartialPresence()
    with pytest.raises(PartialStateLost):
        partial.apply(diff(1, b""))  # no pidf-full yet
    partial.apply(FULL)
    with pytest.raises(PartialStateLost):
        partial.apply(diff(9, b""))
    with pytest.raises(PartialStateLost):
        partial.apply(diff(8, b"<p:remove sel=\"*/tuple[@id='nope']\"/>"))
    assert partial.version == 7  # nothing applied half-way


# --- watcherinfo ---------------------------------------------------------------------------------------------------

def watcherinfo(version, state, *watchers):
    items = "".join(f'<watcher id="{i}" event="subscribe" status="{s}">{u}</watcher>' for i, u, s in watchers)
    return (f'<?xml version="1.0"?><watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="{version}" '
            f'state="{state}"><watcher-list resource="sip:mary@ims.test" package="presence">{items}'
            f"</watcher-list></watcherinfo>").encode()


def test_full_and_partial_watcherinfo_keep_one_table():
    table = winfo.WatcherTable()
    table.apply(winfo.parse_watcherinfo(watcherinfo(1, "full", ("w1", "sip:bob@ims.test", "active"))))
    table.apply(winfo.parse_watcherinfo(watcherinfo(2, "partial", ("w2", "sip:carol@ims.test", "pending"),
                                                    ("w3", "sip:bob@ims.test", "pending"))))
    assert {u: w.status for u, w in table.by_uri().items()} == {"sip:bob@ims.test": "active",
                                                              "sip:carol@ims.test": "pending"}
    table.apply(winfo.parse_watcherinfo(watcherinfo(3, "partial", ("w2", "sip:carol@ims.test", "terminated"))))
    assert set(table.by_uri()) == {"sip:bob@ims.test"}
    assert table.apply(winfo.parse_watcherinfo(watcherinfo(3, "partial"))) is False  # repeated
    with pytest.raises(winfo.WatcherInfoOutOfSync):
        table.apply(winfo.parse_watcherinfo(watcherinfo(5, "partial")))


def test_malformed_watcherinfo_is_refused():
    for body in (b"<watcherinfo/>", watcherinfo("x", "full"), watcherinfo(1, "full", ("w", "", "active")),
                 watcherinfo(1, "full", ("w", "sip:b@x", "sleeping"))):
        with pytest.raises(DocumentError):
            winfo.parse_watcherinfo(body)


# --- pres-rules ------------------------------------------------------------------------------------------------------

LAB_DEFAULT = (b'<?xml version="1.0"?><cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" '
               b'xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><cp:rule id="lab-default"><cp:conditions>'
               b"<cp:identity><cp:many/></cp:identity></cp:conditions><cp:actions><pr:sub-handling>allow"
               b"</pr:sub-handling></cp:actions></cp:rule></cp:ruleset>")


def test_decisions_written_as_pres_rules_read_back():
    decisions = pres_rules.Decisions().decide("sip:bob@IMS.test", "block").decide("sip:carol@ims.test", "allow")
    assert decisions.decision("<sip:bob@ims.test>") == "block"
    body = pres_rules.build_pres_rules(decisions)
    assert b'<cp:one id="sip:bob@ims.test"/>' in body
    assert pres_rules.parse_pres_rules(body) == decisions
    assert decisions.decide("sip:bob@ims.test", "allow").decision("sip:bob@ims.test") == "allow"


def test_replacing_rules_that_let_everyone_watch_keeps_the_active_watchers_allowed():
    operator = pres_rules.parse_pres_rules(LAB_DEFAULT)
    assert operator.default == "allow"
    mine = operator.decide("sip:bob@ims.test", "block", active=frozenset({"sip:bob@ims.test", "sip:carol@ims.test"}))
    assert mine == pres_rules.Decisions(frozenset({"sip:carol@ims.test"}), frozenset({"sip:bob@ims.test"}))


# --- resource-lists ------------------------------------------------------------------------------------------------

def test_contacts_round_trip_through_resource_lists_and_other_lists_are_kept():
    other = (b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="family">'
             b'<entry uri="sip:mum@ims.test"/></list></resource-lists>')
    contacts = (Contact("sip:bob@ims.test", "Bob", ""), Contact("sip:carol@ims.test", "Carol & co", "Work"),
                Contact("tel:+15550100", "", "Work"))
    body = resource_lists.resource_lists_with(contacts, other)
    assert resource_lists.contacts_from_resource_lists(body) == contacts
    assert b"sip:mum@ims.test" in body
    assert resource_lists.contacts_from_resource_lists(resource_lists.resource_lists_with((), body)) == ()


# --- RLMI ------------------------------------------------------------------------------------------------------------

def test_a_list_notification_gives_each_resource_its_state_and_document():
    pidf_body = pidf.build_pidf("sip:bob@ims.test", PresenceStatus("open", "busy"), tuple_id="t", person_id="p")
    body = (b"--b1\r\nContent-Type: application/rlmi+xml\r\nContent-ID: <root@x>\r\n\r\n"
            b'<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="sip:mary-list@ims.test" version="1" fullState="true">'
            b'<resource uri="sip:bob@ims.test"><name>Bob</name><instance id="i1" state="active" cid="bob@x"/>'
            b'</resource><resource uri="sip:carol@ims.test"><instance id="i2" state="pending"/></resource></list>'
            b"\r\n--b1\r\nContent-Type: application/pidf+xml\r\nContent-ID: <bob@x>\r\n\r\n" + pidf_body +
            b"\r\n--b1--\r\n")
    notification = rlmi.parse_list_notification(
        'multipart/related;type="application/rlmi+xml";start="<root@x>";boundary="b1"', body)
    bob, carol = notification.resources
    assert notification.full_state and notification.version == 1
    assert bob.state == "active" and pidf.parse_pidf(bob.part.body).status().activity == "busy"
    assert carol.state == "pending" and carol.part is None


def test_malformed_list_notifications_are_refused():
    with pytest.raises(DocumentError) as error:
        rlmi.parse_list_notification("application/pidf+xml", b"x")
    assert error.value.status == 415
    with pytest.raises(DocumentError):
        rlmi.parse_list_notification("multipart/related;boundary=b", b"--b\r\n\r\nnot rlmi\r\n--b--")
