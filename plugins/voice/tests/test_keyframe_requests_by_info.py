"""RFC 5168 keyframe requests by SIP INFO, in a call through the test kit's fake IMS core: the phone's INFO reaches
the call's media bridge, and the bridge's KeyframeNeeded becomes an INFO in the call's dialog. What the bridge
does with them (PLI to the browser, when it raises KeyframeNeeded): tests/unit/media/test_video.py."""

import pytest
import trio

from webims.media import KeyframeNeeded
from webims.sip.media_control import MEDIA_TYPE as MEDIA_CONTROL
from webims.sip.media_control import PICTURE_FAST_UPDATE, MediaControl


@pytest.fixture
async def call(answered_call):
    """(Bob's phone, the gateway's call, what reached the bridge's keyframe operation)."""
    the_call = answered_call.call
    passed_on = []
    keyframe_request = the_call.bridge.accept_ims_keyframe_request

    async def recorded():
        passed_on.append(trio.current_time())
        await keyframe_request()

    the_call.bridge.accept_ims_keyframe_request = recorded
    return answered_call.bob, the_call, passed_on


async def until(predicate, timeout: float = 2) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.01)


async def test_the_phones_picture_fast_update_reaches_the_calls_media_bridge(call):
    bob, the_call, passed_on = call
    response = await bob.info(PICTURE_FAST_UPDATE.encode())
    assert response.status == 200
    await until(lambda: len(passed_on) == 1)


async def test_a_media_control_document_with_nothing_to_do_is_answered_200_and_goes_no_further(call):
    bob, the_call, passed_on = call
    response = await bob.info(b"<media_control><general_error>Parse error</general_error></media_control>")
    assert response.status == 200
    await trio.sleep(0.2)
    assert passed_on == [] and the_call.state == "active"


@pytest.mark.parametrize("body, status", [
    (b"<media_control><vc_primitive>", 400),
    (b'<!DOCTYPE m [<!ENTITY a "picture_fast_update">]><media_control>&a;</media_control>', 400),
    (b"<media_control>" + b" " * 5000 + b"</media_control>", 413),
], ids=["malformed", "dtd", "oversized"])
async def test_an_unreadable_media_control_body_is_refused_with_its_reason_and_the_call_goes_on(call, body, status):
    bob, the_call, passed_on = call
    response = await bob.info(body)
    assert response.status == status
    assert response.headers.get("Warning").startswith('399 webims "The media_control body')
    assert passed_on == [] and the_call.state == "active"
    assert (await bob.info(PICTURE_FAST_UPDATE.encode())).status == 200  # and the next one is read as before


async def test_keyframe_needed_becomes_an_info_in_the_dialog_one_at_a_time(call):
    bob, the_call, _ = call
    the_call.bridge._deliver(KeyframeNeeded())  # as the media engine raises it (a PLI from her browser)
    info = await bob.ims.expect("INFO")
    request = info.request
    assert request.media_type == MEDIA_CONTROL
    assert MediaControl.parse(request.body) == PICTURE_FAST_UPDATE
    assert (request.call_id, request.to_tag, request.from_tag) == (bob.dialog.call_id, bob.dialog.local_tag,
                                                                   bob.dialog.remote_tag)

    the_call.bridge._deliver(KeyframeNeeded())  # while the first is unanswered, no second one
    with pytest.raises(trio.TooSlowError):
        await bob.ims.expect("INFO", timeout=0.5)
    await info.reply(200)
    await until(lambda: not the_call.keyframe_info_pending)

    the_call.bridge._deliver(KeyframeNeeded())  # answered: the next request goes out
    await (await bob.ims.expect("INFO")).reply(200)


async def test_a_phone_that_refuses_the_info_is_not_sent_another(call):
    bob, the_call, _ = call
    the_call.bridge._deliver(KeyframeNeeded())
    await (await bob.ims.expect("INFO")).reply(415)
    await until(lambda: the_call.keyframe_info_refused)
    the_call.bridge._deliver(KeyframeNeeded())
    with pytest.raises(trio.TooSlowError):
        await bob.ims.expect("INFO", timeout=0.5)
    assert the_call.state == "active"
