"""Video calls through a bridge: an aiortc peer with a camera as the browser, plain RTP endpoints (audio
and video) as the phone. Video is relayed, never decoded by the gateway; each side decodes what it gets."""

import time

import attrs
import pytest
import trio
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI

from webims.media import KeyframeNeeded, MediaConfig, MediaError, NegotiationNeeded, VideoChanged, open_media_engine
from webims.service import CallMedia
from webims.sip.sdp import SessionDescription
from webims.testing.webrtc import BrowserHandle

from .conftest import drain, wait_for
from .video_peers import HEIGHT, WIDTH, VideoBrowser, VideoPhone

VIDEO = CallMedia("video", ("VP8", "H264"), max_bitrate=1500)


@pytest.fixture
async def video_phone():
    phones = []
    async with trio.open_nursery() as nursery:
        async def make(codec="VP8", mode=1) -> VideoPhone:
            phone = VideoPhone(codec, mode)
            await phone.bind()
            nursery.start_soon(phone.run)
            phones.append(phone)
            return phone
        yield make
        nursery.cancel_scope.cancel()
    for phone in phones:
        phone.close()


@pytest.fixture
async def make_video_browser(browser_loop):
    made = []

    def make(codecs=("VP8",), camera="sendrecv") -> BrowserHandle:
        made.append(BrowserHandle(browser_loop, VideoBrowser(codecs, camera)))
        return made[-1]

    yield make
    for handle in made:
        await handle.close()


def phone_sdp(phone, video=None, *, version=1, video_direction="sendrecv", video_port=None, bandwidth=None,
              formats=("0", "101")) -> str:
    text = phone.sdp(formats=formats, version=version)
    if video is not None:
        text += "\r\n".join(video.sdp_lines(video_direction, video_port, bandwidth)) + "\r\n"
    return text


def section(sdp: str, kind: str):
    return next(m for m in SessionDescription.parse(sdp).media if m.media == kind)


async def video_call_out(engine, browser, phone, video, media=VIDEO, **answer):
    """The browser calls out with video; the phone answers with its audio and video lines."""
    bridge = await engine.new_bridge("video-out", media=[media])
    await browser.accept_answer(await bridge.accept_browser_offer(await browser.offer()))
    offer = await bridge.ims_offer()
    phone.learn(offer)
    if video is not None:
        video.learn(offer)
    await bridge.accept_ims_answer(phone_sdp(phone, video, **answer))
    return bridge, offer


async def both_see_each_other(browser, video, seconds: float = 1.5) -> None:
    start = time.monotonic()
    await wait_for(lambda: len(browser.frames_since(start)) > 5 and len(video.frames_since(start)) > 5,
                   timeout=seconds + 4)
    # The latest pictures (a decoder may show a damaged one while a keyframe is on its way):
    for _, width, height, light in browser.frames_since(start)[-5:] + video.frames_since(start)[-5:]:
        assert (width, height) == (WIDTH, HEIGHT)  # the size that was sent: untouched on the way
        assert light > 60                          # a picture, not black


def one_continuous_stream(packets) -> None:
    assert len({p[5] for p in packets}) == 1
    seqs = [p[3] for p in packets]
    assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:]))


async def test_vp8_is_relayed_both_ways_without_decoding(engine, make_video_browser, phone, video_phone):
    browser, video = make_video_browser(("VP8",)), await video_phone("VP8")
    bridge, offer = await video_call_out(engine, browser, phone, video)
    ims_video = section(offer, "video")
    assert ims_video.proto == "RTP/AVP" and ims_video.port != section(offer, "audio").port
    assert ims_video.codecs[0].encoding_name == "VP8"  # the browser's format first
    assert {str(b) for b in ims_video.bandwidths} == {"AS:1575", "TIAS:1500000"}
    await both_see_each_other(browser, video)
    stats = await bridge.stats()
    assert stats.decoded_frames == 0 and stats.video.codec == "VP8"
    assert stats.video.to_ims > 5 and stats.video.to_browser > 5 and stats.video.dropped == 0
    # video shares the audio's SRTP shortcut (BUNDLE): more packets took it than the audio alone sent
    assert stats.shortcut_received > stats.to_ims and stats.shortcut_sent > stats.to_browser
    one_continuous_stream(video.received)
    assert {p[1] for p in video.received} == {96}  # the phone's payload type, whatever the browser used
    assert bridge.video == VideoChanged("VP8", to_browser=True, to_ims=True)
    # The browser's SRs (aiortc sends one within 1.5 s) now time what we send the phone (sync.py).
    with trio.fail_after(5):
        while not {"audio to ims", "video to ims"} <= set((await bridge.stats()).synced):
            await trio.sleep(0.1)


async def test_h264_packetization_mode_1_is_relayed_both_ways(engine, make_video_browser, phone, video_phone):
    browser, video = make_video_browser(("H264",)), await video_phone("H264", mode=1)
    bridge, offer = await video_call_out(engine, browser, phone, video)
    first = section(offer, "video").codecs[0]
    assert first.encoding_name == "H264" and "packetization-mode=1" in first.fmtp
    await both_see_each_other(browser, video)
    assert (await bridge.stats()).video.codec == "H.264"


async def test_a_phone_with_only_h264_mode_0_is_offered_to_the_browser_in_mode_0(
        engine, make_video_browser, phone, video_phone):
    video = await video_phone("H264", mode=0)
    bridge = await engine.new_bridge("video-in", media=[VIDEO])
    browser_offer = await bridge.offer_to_browser(phone_sdp(phone, video))
    assert bridge.video == VideoChanged("H.264")  # what call.incoming says while it rings
    h264 = [c for c in section(browser_offer, "video").codecs if c.encoding_name == "H264"]
    assert "packetization-mode=0" in h264[0].fmtp
    browser = make_video_browser(("H264",))
    ims_answer = await bridge.accept_browser_answer(await browser.answer(browser_offer))
    assert section(ims_answer, "video").codecs[0].payload_type == 98
    phone.learn(ims_answer)
    video.learn(ims_answer)
    # The phone's single NAL unit packets reach the browser as they are; (aiortc, unlike Chrome, sends
    # FU-A whatever the mode, which the relay passes on untouched as well).
    await both_see_each_other(browser, video)


async def test_a_keyframe_request_on_one_leg_reaches_the_other(engine, make_video_browser, phone, video_phone):
    browser, video = make_video_browser(("VP8",)), await video_phone("VP8")
    bridge, _ = await video_call_out(engine, browser, phone, video)
    await both_see_each_other(browser, video)
    assert len(video.feedback) == 1  # the call's start: the browser cannot decode before a keyframe

    for _ in range(5):  # a browser repeats its PLI until it decodes again: one request reaches the phone
        await browser.send_pli()
    await wait_for(lambda: len(video.feedback) > 1)
    await trio.sleep(0.15)
    assert [fmt for fmt, _, _ in video.feedback[1:]] == [RTCP_PSFB_PLI]  # it said "nack pli": PLI it gets
    assert video.feedback[1][1] == video.ssrc  # naming the phone's own stream, not ours
    await wait_for(lambda: video.keyframes_sent >= 2)

    before = len(browser.feedback)
    await video.send_feedback(RTCP_PSFB_FIR, video.received[-1][5])  # the phone asks with a FIR...
    await wait_for(lambda: RTCP_PSFB_PLI in browser.feedback[before:])  # ...the browser gets a PLI
    stats = (await bridge.stats()).video
    assert stats.keyframe_requests_to_ims >= 1 and stats.keyframe_requests_coalesced >= 3


async def test_a_picture_fast_update_from_the_phone_becomes_a_pli_and_then_the_phone_is_asked_by_info_too(
        engine, make_video_browser, phone, video_phone):
    browser, video = make_video_browser(("VP8",)), await video_phone("VP8")
    bridge, _ = await video_call_out(engine, browser, phone, video)  # keyframe_request_info "auto"
    await both_see_each_other(browser, video)
    assert KeyframeNeeded() not in drain(bridge)  # until the phone uses INFO itself, it is asked over RTCP only

    before = len(browser.feedback)
    await bridge.accept_ims_keyframe_request()  # the phone's INFO, as the call layer passes it on
    await wait_for(lambda: RTCP_PSFB_PLI in browser.feedback[before:])

    asked, events = len(video.feedback), []

    def phone_asked_both_ways() -> bool:
        events.extend(drain(bridge))
        return len(video.feedback) > asked and KeyframeNeeded() in events

    for _ in range(5):  # a browser repeating its PLI: one request to the phone, by RTCP and by INFO
        await browser.send_pli()
    await wait_for(phone_asked_both_ways)
    await trio.sleep(0.15)
    events += drain(bridge)
    assert [fmt for fmt, _, _ in video.feedback[asked:]] == [RTCP_PSFB_PLI]
    assert events.count(KeyframeNeeded()) == 1


@pytest.mark.parametrize("mode", ["always", "never"])
async def test_the_keyframe_request_info_setting_decides_whether_the_phone_is_asked_by_info(
        engine, make_video_browser, phone, video_phone, mode):
    browser, video = make_video_browser(("VP8",)), await video_phone("VP8")
    media = attrs.evolve(VIDEO, keyframe_request_info=mode)
    bridge, _ = await video_call_out(engine, browser, phone, video, media=media)
    await both_see_each_other(browser, video)
    await bridge.accept_ims_keyframe_request()  # "never" ignores what the phone does; "always" needs no example
    asked = len(video.feedback)
    await browser.send_pli()
    await wait_for(lambda: len(video.feedback) > asked)  # RTCP in both modes
    await trio.sleep(0.15)
    by_info = drain(bridge).count(KeyframeNeeded())
    # "always": at the phone's first packets (a new stream for her) and for the PLI; "never": not once
    assert by_info >= 2 if mode == "always" else by_info == 0


async def test_a_nack_is_answered_from_what_the_gateway_sent(
        engine, make_video_browser, phone, video_phone):
    browser, video = make_video_browser(("VP8",)), await video_phone("VP8")
    bridge, _ = await video_call_out(engine, browser, phone, video)
    await both_see_each_other(browser, video)
    wanted = [p[3] for p in video.received[-3:]]  # as if these three were lost between gateway and phone
    before = len(video.received)
    await video.send_nack(video.received[-1][5], wanted)
    await wait_for(lambda: len([p for p in video.received[before:] if p[3] in wanted]) == 3)
    assert (await bridge.stats()).video.retransmitted == 3  # resent by the gateway: the browser is not asked


async def test_the_browser_adds_video_mid_call_and_removes_it(engine, make_video_browser, phone, video_phone):
    browser, video = make_video_browser(("VP8",), camera=None), await video_phone("VP8")
    bridge, offer = await video_call_out(engine, browser, phone, None)
    assert "m=video" not in offer  # an audio call stays one until someone turns a camera on
    drain(bridge)

    await browser.accept_answer(await bridge.accept_browser_reoffer(await browser.reoffer("sendrecv")))
    assert NegotiationNeeded() in drain(bridge)
    reoffer = await bridge.ims_offer()  # the re-INVITE
    assert section(reoffer, "video").direction.value == "sendrecv"
    video.learn(reoffer)
    await bridge.accept_ims_answer(phone_sdp(phone, video, version=2))
    await both_see_each_other(browser, video)

    await browser.accept_answer(await bridge.accept_browser_reoffer(await browser.reoffer("inactive")))
    assert NegotiationNeeded() in drain(bridge)
    reoffer = await bridge.ims_offer()
    assert section(reoffer, "video").port == 0  # removed, its line kept (RFC 3264 §8.2)
    await bridge.accept_ims_answer(phone_sdp(phone, video, version=3, video_port=0))
    assert bridge.video == VideoChanged(None)
    gone = time.monotonic() + 0.2
    await trio.sleep(0.6)
    assert not [p for p in video.received if p[0] > gone]


async def test_the_phone_adds_video_mid_call_and_removes_it(engine, make_video_browser, phone, video_phone):
    video = await video_phone("VP8")
    bridge = await engine.new_bridge("video-in", media=[VIDEO])
    browser = make_video_browser(("VP8",), camera="recvonly")  # she answers an audio call, camera off
    browser_offer = await bridge.offer_to_browser(phone_sdp(phone))
    ims_answer = await bridge.accept_browser_answer(await browser.answer(browser_offer))
    assert "m=video" not in ims_answer and NegotiationNeeded() not in drain(bridge)
    phone.learn(ims_answer)

    answer = await bridge.accept_ims_reoffer(phone_sdp(phone, video, version=2))  # the phone adds video
    assert section(answer, "video").direction.value == "recvonly"  # she watches, her camera stays off
    video.learn(answer)
    start = time.monotonic()
    await wait_for(lambda: len(browser.frames_since(start)) > 5)
    assert bridge.video == VideoChanged("VP8", to_browser=True, to_ims=False)

    answer = await bridge.accept_ims_reoffer(phone_sdp(phone, video, version=3, video_port=0))
    assert section(answer, "video").port == 0 and bridge.video == VideoChanged(None)


async def test_camera_off_makes_the_phones_video_line_receive_only(engine, make_video_browser, phone, video_phone):
    browser, video = make_video_browser(("VP8",)), await video_phone("VP8")
    bridge, _ = await video_call_out(engine, browser, phone, video)
    await both_see_each_other(browser, video)
    drain(bridge)

    await browser.accept_answer(await bridge.accept_browser_reoffer(await browser.reoffer("recvonly")))
    assert NegotiationNeeded() in drain(bridge)
    reoffer = await bridge.ims_offer()
    assert section(reoffer, "video").direction.value == "recvonly"
    await bridge.accept_ims_answer(phone_sdp(phone, video, version=2, video_direction="sendonly"))
    assert bridge.video == VideoChanged("VP8", to_browser=True, to_ims=False)
    start = time.monotonic()
    await wait_for(lambda: len(browser.frames_since(start)) > 5)  # she still sees the phone
    await trio.sleep(0.3)
    assert not [p for p in video.received if p[0] > start + 0.3]  # and it sees nothing of her

    await browser.accept_answer(await bridge.accept_browser_reoffer(await browser.reoffer("sendrecv")))
    assert NegotiationNeeded() in drain(bridge)
    await bridge.ims_offer()
    await bridge.accept_ims_answer(phone_sdp(phone, video, version=3))
    await both_see_each_other(browser, video)  # the camera is back: a keyframe was asked of the browser
    one_continuous_stream(video.received)


async def test_the_phones_bandwidth_caps_what_the_browser_sends(engine, make_video_browser, phone, video_phone):
    browser, video = make_video_browser(("VP8",)), await video_phone("VP8")
    await video_call_out(engine, browser, phone, video, bandwidth=300)
    await wait_for(lambda: browser.remb, timeout=4)
    assert max(browser.remb) <= 300_000


async def test_a_phone_offering_only_h263_video_gets_an_audio_call_and_a_reason(engine, make_video_browser, phone):
    h263 = ("v=0\r\no=ue 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {phone.port} RTP/AVP 0\r\nm=video 50020 RTP/AVP 34\r\na=rtpmap:34 H263/90000\r\n")
    bridge = await engine.new_bridge("video-h263", media=[VIDEO])
    browser_offer = await bridge.offer_to_browser(h263)
    reason = "The other phone offers only H.263 video; this gateway relays VP8 and H.264."
    assert bridge.video == VideoChanged(None, reason=reason)
    browser = make_video_browser(("VP8",), camera="sendrecv")
    ims_answer = await bridge.accept_browser_answer(await browser.answer(browser_offer))
    assert section(ims_answer, "video").port == 0 and section(ims_answer, "audio").port != 0
    assert bridge.video.reason == reason


async def test_a_media_kind_the_engine_cannot_carry_is_refused(engine):
    with pytest.raises(MediaError, match="carries audio and video, not text"):
        await engine.new_bridge("rtt", media=[CallMedia("text", ("t140",))])


async def test_a_phone_without_the_browsers_format_makes_the_browser_reoffer(
        engine, make_video_browser, phone, video_phone):
    browser, video = make_video_browser(("VP8", "H264")), await video_phone("H264", mode=1)
    bridge, offer = await video_call_out(engine, browser, phone, video)  # she sends VP8; the phone has H.264
    assert bridge.video == VideoChanged("H.264", to_browser=True, to_ims=True, reoffer=True)
    start = time.monotonic()
    await wait_for(lambda: len(browser.frames_since(start)) > 5)  # the phone's H.264 reaches her meanwhile
    answer = await bridge.accept_browser_reoffer(await browser.reoffer("sendrecv"))
    assert section(answer, "video").codecs[0].encoding_name == "H264"  # now she is asked to send H.264


async def test_a_reloaded_tab_keeps_the_phones_video_one_continuous_stream(
        engine, make_video_browser, phone, video_phone):
    first, video = make_video_browser(("VP8",)), await video_phone("VP8")
    bridge, _ = await video_call_out(engine, first, phone, video)
    await both_see_each_other(first, video)
    await first.close()

    second = make_video_browser(("VP8",))
    await second.accept_answer(await bridge.restart_browser_leg(await second.offer()))
    await both_see_each_other(second, video)  # a keyframe was asked of the new tab's camera
    one_continuous_stream(video.received)


async def test_what_the_video_does_crosses_from_worker_processes(phone):
    config = MediaConfig(workers=1, ims_port_range=(42000, 42999))
    async with open_media_engine(config) as engine:
        bridge = await engine.new_bridge("video-worker", media=[VIDEO])
        h263 = phone_sdp(phone) + "m=video 50020 RTP/AVP 34\r\n"
        await bridge.offer_to_browser(h263)
        assert bridge.video.reason.startswith("The other phone offers only H.263 video")
        await bridge.accept_ims_keyframe_request()  # crosses the pipe too; no video path: nothing to ask
