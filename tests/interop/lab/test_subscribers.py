"""The subscribers file and the lab config rendered from it (no processes started)."""

import pytest

from webims.lab import LabPorts, LabSettings, SubscribersError, identity_key, load_subscribers, render_config
from webims.lab.database import htable_rows

pytestmark = pytest.mark.interop


@pytest.mark.parametrize(("uri", "key"), [
    ("sip:mary@ims.test", "sip:mary@ims.test"),
    ("sip:Mary@IMS.test:5060;transport=tcp", "sip:Mary@ims.test"),
    ("sip:+15550100@ims.test;user=phone", "tel:+15550100"),
    ("tel:+15550100;phone-context=ims.test", "tel:+15550100"),
])
def test_any_form_of_an_identity_has_one_key(uri, key):
    assert identity_key(uri) == key


def test_the_demo_subscribers_load_with_marys_two_credentials_and_three_identities():
    subscribers = load_subscribers()

    mary = subscribers.by_identity("sip:+15550100@ims.test;user=phone")
    assert [p.username for p in mary.private_identities] == ["mary", "mary.phone"]
    assert mary.implicit_set == ("sip:mary@ims.test", "tel:+15550100", "sip:mary.work@ims.test")
    assert subscribers.by_username("mary.phone") is mary
    assert {s.canonical_aor for s in subscribers.subscriptions} >= {"sip:bob@ims.test", "sip:echo@ims.test"}


def test_every_identity_and_credential_maps_to_its_subscription_in_the_lab_data():
    rows = htable_rows(load_subscribers())

    assert rows["impu:tel:+15550100"] == rows["impi:mary.phone"] == "sip:mary@ims.test"
    assert rows["pau:sip:mary@ims.test"] == "<sip:mary@ims.test>, <tel:+15550100>, <sip:mary.work@ims.test>"


@pytest.mark.parametrize(("document", "complaint"), [
    ('domain = "ims.test"\n[[subscription]]\npublic_identities = ["tel:+1555"]\n'
     'private_identities = [{username = "a", password = "b"}]', "default public identity must be a sip: URI"),
    ('domain = "ims.test"\n[[subscription]]\npublic_identities = ["sip:a@elsewhere.test"]\n'
     'private_identities = [{username = "a", password = "b"}]', "outside the lab domain"),
    ('domain = "ims.test"\n[[subscription]]\npublic_identities = ["sip:a@ims.test;user=phone"]\n'
     'private_identities = [{username = "a", password = "b"}]', "write public identity"),
    ('domain = "ims.test"\n[[subscription]]\npublic_identities = ["sip:a@ims.test"]\n'
     'private_identities = [{username = "a", password = "b"}, {username = "a", password = "c"}]',
     "a appears in more than one place"),
    ('domain = "ims.test"\n[[subscription]]\npublic_identities = ["sip:a@ims.test"]\n'
     'private_identities = []', "no private identity"),
    ('domain = "ims.test"\n[[subscription]]\npublic_identities = ["sip:a@ims.test"]',
     "missing key 'private_identities'"),
])
def test_an_impossible_subscription_is_refused_with_the_reason(tmp_path, document, complaint):
    path = tmp_path / "subscribers.toml"
    path.write_text(document)

    with pytest.raises(SubscribersError, match=complaint):
        load_subscribers(path)


def test_the_rendered_config_fills_every_placeholder_and_switches_on_options(tmp_path):
    settings = LabSettings(LabPorts(sip=15060, msrp=15061, websocket=15062), tmp_path, digest_algorithm="SHA-256")

    config = render_config(settings, "ims.test")

    assert "{{" not in config
    assert '#!substdef "!LAB_SIP_PORT!15060!g"' in config
    assert '#!substdef "!LAB_DIGEST_ALGORITHM!SHA-256!g"' in config
    assert "#!define WITH_WEBSOCKET" in config
    assert "#!define WITH_WEBSOCKET" not in render_config(LabSettings(LabPorts(15060, 15061), tmp_path), "ims.test")
