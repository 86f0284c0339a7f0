"""Media feature tags (RFC 3840) as her Contact carries them, and the values a plugin may give."""

import pytest

from webims.service import Capabilities, FeatureTag
from webims.sip import Contact
from webims.sip.feature_tags import MMTEL, accept_contact, contact_parameters

CHAT = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"


def test_tags_become_contact_parameters_with_the_urns_percent_encoded_and_one_list_per_name():
    tags = [FeatureTag("audio"), FeatureTag("+g.3gpp.icsi-ref", MMTEL), FeatureTag("video"),
            FeatureTag("+g.3gpp.icsi-ref", CHAT), FeatureTag("+g.oma.sip-im"), FeatureTag("audio"),
            FeatureTag("+g.3gpp.icsi-ref", MMTEL)]
    assert contact_parameters(tags) == (
        ';audio;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel,'
        'urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session";video;+g.oma.sip-im')
    assert contact_parameters([]) == ""


def test_a_contact_with_tags_parses_back_to_its_uri_and_parameters():
    contact = Contact.parse("<sip:5f2a@192.0.2.1:5060>" + contact_parameters(
        [FeatureTag("+g.3gpp.icsi-ref", MMTEL), FeatureTag("video")]))
    assert str(contact.uri) == "sip:5f2a@192.0.2.1:5060"
    assert contact.param("+g.3gpp.icsi-ref") == '"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel"'
    assert ("video", None) in contact.params


def test_an_accept_contact_asks_for_one_tag():
    assert accept_contact(FeatureTag("+g.3gpp.icsi-ref", MMTEL)) == \
        '*;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel"'


@pytest.mark.parametrize(("name", "value"), [
    ("g.3gpp.icsi-ref", None),             # a tree tag needs its "+"
    ("voice", None),                       # not a base tag of RFC 3840
    ("+g.x", 'urn:a";evil=1'),             # a quote would end the value and start a header parameter
    ("+g.x", "a,b"),                       # the list separator is ours to write
    ("+g x", None),
])
def test_tags_that_could_break_her_contact_are_refused_when_the_plugin_declares_them(name, value):
    with pytest.raises(ValueError):
        FeatureTag(name, value)


def test_capabilities_take_only_feature_tags_and_media_types():
    with pytest.raises(ValueError):
        Capabilities(["audio"])
    with pytest.raises(ValueError):
        Capabilities(accept=["text plain"])
    assert Capabilities([FeatureTag("AUDIO")], ["text/plain"]).feature_tags == (FeatureTag("audio"),)
