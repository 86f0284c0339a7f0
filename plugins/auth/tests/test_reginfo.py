"""Reading reginfo (RFC 3680) documents: which identities are registered with our contact, which event removed it."""

import pytest

from webims_auth.reginfo import RegInfoError, ended_with, parse_reginfo, registered_with

OURS = "sip:mary-x1@127.0.0.1:5070;transport=tcp"


def document(*registrations: str, state: str = "full") -> bytes:
    return (f'<?xml version="1.0"?><reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="3" state="{state}">'
            + "".join(registrations) + "</reginfo>").encode()


def registration(aor: str, state: str, contact: str, contact_state: str = "active", event: str = "registered") -> str:
    return (f'<registration aor="{aor}" id="{aor}" state="{state}"><contact id="c" state="{contact_state}" '
            f'event="{event}"><uri>{contact}</uri></contact></registration>')


def test_only_active_registrations_holding_our_active_contact_count_as_ours():
    info = parse_reginfo(document(
        registration("sip:mary@ims.test", "active", "sip:MARY-x1@127.0.0.1:5070;ob"),  # ours, other parameters
        registration("tel:+15550100", "active", "sip:mary-phone@10.0.0.9:5060"),  # her phone's, not ours
        registration("sip:mary.work@ims.test", "terminated", OURS, "terminated", "unregistered"),
        registration("sip:mary.team@ims.test", "active", OURS, "terminated", "expired")))
    assert registered_with(info, OURS) == ("sip:mary@ims.test",)
    assert ended_with(info, OURS) == {"sip:mary.work@ims.test": "unregistered", "sip:mary.team@ims.test": "expired"}


def test_a_partial_document_names_only_what_changed():
    info = parse_reginfo(document(registration("sip:mary.team@ims.test", "active", OURS, event="created"),
                                  state="partial"))
    assert not info.full and registered_with(info, OURS) == ("sip:mary.team@ims.test",)
    assert ended_with(info, OURS) == {}


@pytest.mark.parametrize("body", [b"<reginfo", b'<?xml version="1.0"?><other/>',
                                  b'<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="x"/>',
                                  b'<!DOCTYPE r [<!ENTITY a "aaaa">]><reginfo/>'])
def test_an_unreadable_document_is_refused_with_its_reason(body):
    with pytest.raises(RegInfoError):
        parse_reginfo(body)
