"""Her calls are MMTel calls (TS 24.173 §5.2): the INVITE names the service and asks for an MMTel callee, and her
Contact carries the MMTel ICSI and "audio" (RFC 3840), as a native IMS phone's does."""

from webims.sip import Contact


async def test_marys_invite_names_the_mmtel_service_and_asks_for_an_mmtel_phone(answered_call):
    invite = answered_call.bob.invite
    assert invite.headers.get("P-Preferred-Service") == "urn:urn-7:3gpp-service.ims.icsi.mmtel"
    assert invite.headers.get("Accept-Contact") == '*;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel"'
    contact = Contact.parse(invite.headers.get("Contact"))
    assert contact.param("+g.3gpp.icsi-ref") == '"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel"'
    assert ("audio", None) in contact.params
