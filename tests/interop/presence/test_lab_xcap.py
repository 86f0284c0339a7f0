"""The lab's XCAP server (RFC 4825) as the presence service uses it: digest, her own documents only, ETags."""

import pytest

from webims_presence import pidf, pres_rules
from webims_presence.pres_rules import Decisions
from webims_presence.status import PresenceStatus
from webims_presence.xcap_client import XcapClient

pytestmark = pytest.mark.interop
RULES = pres_rules.build_pres_rules(Decisions(frozenset({"sip:carol@ims.test"}), frozenset({"sip:bob@ims.test"})))


def client(lab_core, username="mary", password="mary-secret"):
    return XcapClient(f"http://{lab_core.host}:{lab_core.port}/xcap-root", username, password)


async def test_she_writes_and_reads_her_pres_rules_with_digest_and_etags(lab_core):
    mary = client(lab_core)
    path = mary.document_path("pres-rules", "sip:mary@ims.test")
    created = await mary.put(path, RULES, pres_rules.CONTENT_TYPE)
    assert created.status == 200 and created.etag
    read = await mary.get(path)
    assert read.status == 200 and read.etag == created.etag
    assert pres_rules.parse_pres_rules(read.body).blocked == {"sip:bob@ims.test"}
    stale = await mary.put(path, RULES, pres_rules.CONTENT_TYPE, if_match='"not-the-etag"')
    assert stale.status == 412
    assert (await mary.put(path, RULES, pres_rules.CONTENT_TYPE, if_match=read.etag)).status == 200


async def test_nobody_else_reads_her_documents(lab_core):
    path = client(lab_core).document_path("pres-rules", "sip:mary@ims.test")
    assert (await client(lab_core, "bob", "bob-secret").get(path)).status == 403
    assert (await client(lab_core, "mary", "wrong").get(path)).status == 401
    other_identity = client(lab_core).document_path("pres-rules", "tel:+15550100")  # hers too: same AOR
    assert (await client(lab_core).get(other_identity)).status in (200, 404)


async def test_she_keeps_her_chosen_status_as_a_pidf_manipulation_document(lab_core):
    """RFC 4827: where the presence service keeps the status she chose last, for her next login."""
    mary = client(lab_core)
    path = mary.document_path("pidf-manipulation", "sip:mary@ims.test")
    status = PresenceStatus("open", "busy", "Writing the report")
    document = pidf.build_pidf("sip:mary@ims.test", status, tuple_id="webims", person_id="pwebims")
    assert (await mary.put(path, document, pidf.CONTENT_TYPE)).status == 200
    read = await mary.get(path)
    assert read.status == 200 and pidf.parse_pidf(read.body).status() == status
