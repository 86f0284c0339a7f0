"""Her call reached two of Bob's devices and both answered (the proxy forked the INVITE): the call goes on with
the first, the second gets its ACK and a BYE (RFC 3261 §13.2.2.4). Within the INVITE transaction's Accepted
state (RFC 6026) a repeated 200 of the first device is ACKed again too."""

import trio

from webims.sip.dialog import dialog_response

from .conftest import bobs_sdp


async def test_a_second_device_answering_her_call_is_acknowledged_and_ended_and_her_call_goes_on(answered_call):
    bob, ims = answered_call.bob, answered_call.bob.ims
    invite = bob.invite
    second = dialog_response(invite, 200, to_tag="second-device", contact=f"<sip:bob2@127.0.0.1:{ims.address.port}>",
                             headers=[("Content-Type", "application/sdp")], body=bobs_sdp(44996))
    gateway_address = ims.bindings["mary"].source
    await ims.endpoint.send_stateless(second, gateway_address)
    ack = await ims.expect("ACK")
    while ack.request.to_tag != "second-device":  # the first device's ACK may still be on its way
        ack = await ims.expect("ACK")
    assert ack.request.call_id == invite.call_id
    bye = await ims.expect("BYE")
    assert bye.request.to_tag == "second-device"
    await bye.reply(200)
    await ims.endpoint.send_stateless(second, gateway_address)  # its 200 again: another ACK, no second BYE
    assert (await ims.expect("ACK")).request.to_tag == "second-device"
    first = dialog_response(invite, 200, to_tag=bob.dialog.local_tag, contact=f"<sip:bob@127.0.0.1:{ims.address.port}>",
                            headers=[("Content-Type", "application/sdp")], body=bobs_sdp(bob.rtp.getsockname()[1]))
    await ims.endpoint.send_stateless(first, gateway_address)  # the first device's 200 again (its ACK was lost)
    assert (await ims.expect("ACK")).request.to_tag == bob.dialog.local_tag  # §13.2.2.4: ACKed again
    await trio.sleep(0.3)
    assert answered_call.call.state == "active"
    assert answered_call.call.dialog.remote_tag != "second-device"
