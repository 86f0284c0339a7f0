"""Lip sync across the bridge (webims/media/sync.py): the gateway's SRs on one leg state the audio/video
relation the source's SRs stated on the other, through real forwarders and RTCP reporters."""

import attrs
from aiortc.rtp import RtcpPacket, RtcpSenderInfo, RtcpSrPacket

from webims.media.codecs import PCMU, Negotiated, telephone_event
from webims.media.relay import Forwarder
from webims.media.rtcp import RtcpReporter
from webims.media.rtp import InboundStats, OutboundStream
from webims.media.sync import PeerClock, ntp_now
from webims.media.video_codecs import VideoNegotiated
from webims.media.video_relay import VideoForwarder
from webims.sip.sdp import Codec

AUDIO, VIDEO = 0x1111, 0x2222           # the phone's SSRCs
NTP = 1 << 32                           # one second in an SR's NTP timestamp
VP8 = Codec("VP8", 90000, payload_type=96)
PCMU_0 = Negotiated(attrs.evolve(PCMU, payload_type=0), telephone_event(8000, 101),
                    {0: PCMU, 101: telephone_event(8000, 101)})


def sender_report(ssrc: int, their_seconds: float, rtp: int) -> bytes:
    info = RtcpSenderInfo(ntp_timestamp=int(their_seconds * NTP), rtp_timestamp=rtp, packet_count=1, octet_count=1)
    return bytes(RtcpSrPacket(ssrc=ssrc, sender_info=info, reports=[]))


def our_sr(reporter: RtcpReporter) -> tuple[float, int]:
    sr = RtcpPacket.parse(reporter.report())[0]
    return sr.sender_info.ntp_timestamp / NTP, sr.sender_info.rtp_timestamp


def test_the_phones_audio_video_relation_reaches_the_browser_in_our_sender_reports():
    # The phone: its wallclock is an hour behind ours; its SRs (sent 0.3 s apart) say that video timestamp
    # 70000 was captured 0.1 s before audio timestamp 5000, though both packets reach us together (a
    # slower video encoder): our SRs must keep the 0.1 s, not the arrival times.
    clock = PeerClock()
    audio_in, video_in = InboundStats(8000), InboundStats(90000)
    audio_in.peer_clock = video_in.peer_clock = clock
    phone_audio = RtcpReporter(OutboundStream(0xA, 8000), audio_in, cname="gw")
    phone_video = RtcpReporter(OutboundStream(0xB, 90000), video_in, cname="gw")
    their_now = ntp_now() - 3600
    phone_audio.receive(sender_report(AUDIO, their_now, 5000))
    phone_video.receive(sender_report(VIDEO, their_now + 0.3, 70000 + 9000 + 27000))

    # Towards the browser, through the forwarders, with offsets of their own.
    audio_out, video_out = OutboundStream(0xC, 8000), OutboundStream(0xD, 90000)
    audio = Forwarder(source=PCMU_0, target=PCMU_0, out=audio_out, send=lambda packet: None,
                      on_event=lambda *event: None, source_stats=audio_in)
    video = VideoForwarder(source=VideoNegotiated((VP8,), {96: VP8}), target=VideoNegotiated((VP8,), {96: VP8}),
                           out=video_out, send=lambda packet: None, on_new_source=lambda: None,
                           on_keyframe=lambda: None, source_stats=video_in)
    audio.forward(0, 0, 1, 5000, AUDIO, b"\xff" * 160)
    video.forward(96, 1, 1, 70000, VIDEO, b"\x10\x00\x9d\x01\x2a")
    audio_shift = audio._ts_offset
    video_shift = video._ts_offset

    (audio_ntp, audio_rtp), (video_ntp, video_rtp) = our_sr(RtcpReporter(audio_out, InboundStats(8000), "gw")), \
        our_sr(RtcpReporter(video_out, InboundStats(90000), "gw"))
    # The instant each SR gives to the source's capture timestamps 5000 (audio) and 70000 (video):
    audio_instant = audio_ntp - ((audio_rtp - audio_shift - 5000) % (1 << 32)) / 8000
    video_instant = video_ntp - ((video_rtp - video_shift - 70000) % (1 << 32)) / 90000
    assert abs((audio_instant - video_instant) - 0.1) < 0.001  # as the phone said


def test_without_a_source_report_our_timeline_follows_arrivals():
    out, inbound = OutboundStream(0xC, 8000), InboundStats(8000)
    forwarder = Forwarder(source=PCMU_0, target=PCMU_0, out=out, send=lambda packet: None,
                          on_event=lambda *event: None, source_stats=inbound)
    forwarder.forward(0, 0, 1, 5000, AUDIO, b"\xff" * 160)
    assert out.timestamp_at(ntp_now()) is None
    ntp, rtp = our_sr(RtcpReporter(out, InboundStats(8000), "gw"))
    assert abs(((rtp - out.timestamp_now()) + (1 << 31)) % (1 << 32) - (1 << 31)) < 80  # within 10 ms


def test_a_new_source_is_not_mapped_by_the_old_ones_report():
    inbound = InboundStats(8000)
    RtcpReporter(OutboundStream(0xA, 8000), inbound, cname="gw").receive(sender_report(AUDIO, ntp_now(), 5000))
    out = OutboundStream(0xC, 8000)
    forwarder = Forwarder(source=PCMU_0, target=PCMU_0, out=out, send=lambda packet: None,
                          on_event=lambda *event: None, source_stats=inbound)
    forwarder.forward(0, 0, 1, 5000, AUDIO, b"\xff" * 160)
    assert out.timestamp_at(ntp_now()) is not None
    forwarder.forward(0, 0, 9, 90000, 0x9999, b"\xff" * 160)  # a reloaded tab: another SSRC, no SR yet
    assert out.timestamp_at(ntp_now()) is None


def test_one_offset_per_peer_whatever_its_later_reports_say():
    clock = PeerClock()
    first = clock.ours(100 * NTP, now=5000.0)
    assert first == 5000.0 and clock.ours(160 * NTP, now=5061.5) == 5060.0
