"""One direction's packet rewriting, RFC 4733 events and RTP/RTCP helpers, without sockets."""

import struct

import attrs

from webims.media.codecs import OPUS, PCMA, PCMU, Negotiated, telephone_event
from webims.media.dtmf import EventReader, scale_duration
from webims.media.relay import Forwarder
from webims.media.rtcp import LegQuality, RtcpReporter
from webims.media.rtp import InboundStats, OutboundStream, parse_rtp


def leg(codec, pt, dtmf_pt, dtmf_rate=None):
    audio = attrs.evolve(codec, payload_type=pt)
    dtmf = telephone_event(dtmf_rate or codec.clock_rate, dtmf_pt)
    return Negotiated(audio, dtmf, {pt: audio, dtmf_pt: dtmf})


def forwarder(source, target):
    sent, events = [], []
    out = OutboundStream(ssrc=0xCAFE, clock_rate=target.audio.clock_rate)
    fwd = Forwarder(source=source, target=target, out=out, send=sent.append,
                    on_event=lambda ts, payload: events.append((ts, payload)))
    return fwd, sent, events


def test_a_relay_rewrites_ssrc_and_payload_type_and_keeps_the_payload_and_gaps():
    fwd, sent, _ = forwarder(leg(PCMU, 0, 126), leg(PCMU, 0, 101))
    for seq in (10, 11, 13):  # 12 is lost on the way in
        fwd.forward(0, 0, seq, seq * 160, 0x1111, b"\xff" * 160)
    packets = [parse_rtp(p) for p in sent]
    assert [p[4] for p in packets] == [0xCAFE] * 3
    assert [p[0] for p in packets] == [0, 0, 0] and packets[0][5] == b"\xff" * 160
    assert [(p[2] - packets[0][2]) % 65536 for p in packets] == [0, 1, 3]
    assert [(p[3] - packets[0][3]) % 2**32 for p in packets] == [0, 160, 480]
    assert [p[1] for p in packets] == [1, 0, 0]  # marker: a new source starts a talkspurt


def test_a_new_source_continues_the_outgoing_stream():
    fwd, sent, _ = forwarder(leg(PCMU, 0, 126), leg(PCMU, 0, 101))
    fwd.forward(0, 0, 100, 8000, 0x1111, b"a")
    fwd.forward(0, 0, 50000, 123456, 0x2222, b"b")  # a reloaded tab: new SSRC, sequence and timestamp
    first, second = (parse_rtp(p) for p in sent)
    assert (second[2] - first[2]) % 65536 == 1
    assert 0 <= (second[3] - first[3]) % 2**32 < 800  # only the wall-clock time between them
    assert second[1] == 1


def test_events_cross_with_the_other_legs_payload_type_and_clock():
    fwd, sent, events = forwarder(leg(OPUS, 111, 110), leg(PCMU, 0, 101))
    payload = struct.pack("!BBH", 5, 0x80 | 10, 4800)  # 100 ms at 48 kHz
    fwd.forward(110, 1, 7, 96000, 0x1111, payload)
    pt, _, _, _, _, out = parse_rtp(sent[0])
    assert pt == 101 and struct.unpack("!BBH", out) == (5, 0x80 | 10, 800)  # 100 ms at 8 kHz
    assert events == [(96000, payload)]


def test_a_disabled_forwarder_still_reads_digits_but_sends_nothing():
    fwd, sent, events = forwarder(leg(PCMU, 0, 126), leg(PCMA, 8, 101))
    fwd.enabled = False
    fwd.forward(126, 1, 1, 160, 0x1111, struct.pack("!BBH", 1, 0x80, 800))
    fwd.forward(0, 0, 2, 320, 0x1111, b"x")
    assert sent == [] and len(events) == 1


def test_formats_the_other_leg_did_not_agree_to_are_dropped():
    fwd, sent, _ = forwarder(leg(PCMU, 0, 126), leg(PCMU, 0, 101))
    fwd.forward(13, 0, 1, 160, 0x1111, b"\x40")  # comfort noise
    assert sent == [] and fwd.dropped == 1


def test_each_event_is_reported_once_even_with_three_end_packets_and_a_lost_end():
    digits = []
    reader = EventReader(8000, lambda digit, ms: digits.append((digit, ms)))
    for duration, flags in ((160, 10), (320, 10), (800, 0x8A), (800, 0x8A), (800, 0x8A)):
        reader.feed(1000, struct.pack("!BBH", 11, flags, duration))
    reader.feed(5000, struct.pack("!BBH", 3, 10, 160))  # its end packets are lost...
    reader.feed(9000, struct.pack("!BBH", 4, 0x8A, 400))  # ...the next event reports it
    assert digits == [("#", 100), ("3", 20), ("4", 50)]


def test_scale_duration_changes_only_the_duration():
    assert scale_duration(struct.pack("!BBH", 1, 0x8A, 4800) + b"x", 8000, 48000) == struct.pack(
        "!BBH", 1, 0x8A, 800) + b"x"


def test_parse_rtp_skips_csrcs_extension_and_padding():
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 1, 0x80 | 96, 7, 8, 9) + struct.pack("!I", 1234)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x10\x01\x00\x00"
    packet = header + extension + b"payload" + b"\x00\x00\x03"
    assert parse_rtp(packet) == (96, 1, 7, 8, 9, b"payload")
    assert parse_rtp(b"\x00" * 12) is None and parse_rtp(b"\x80") is None


def test_rtcp_reports_what_was_sent_and_received_and_reads_round_trip():
    out, inbound = OutboundStream(0xAAAA, 8000), InboundStats(8000)
    ours = RtcpReporter(out, inbound, cname="gw")
    out.packet(0, 0, out.timestamp_now(), b"x" * 160)
    for seq in (1, 2, 4):
        inbound.update(0xBBBB, seq, seq * 160, 0.0)
    report = ours.report()
    assert report[1] == 200  # SR first (RFC 3550 §6.1), then SDES
    peer = RtcpReporter(OutboundStream(0xBBBB, 8000), InboundStats(8000), cname="phone")
    peer.receive(report)
    assert peer.inbound.lsr != 0
    peer.inbound.update(0xAAAA, 1, 160, 0.0)
    ours.receive(peer.report())
    assert ours.round_trip is not None and 0 <= ours.round_trip < 1
    assert b"gw" in report and ours.bye()[-8:-4] == b"\x81\xcb\x00\x01"


def test_a_legs_quality_reads_our_reception_and_the_peers_report_in_a_persons_units():
    out, inbound = OutboundStream(0xAAAA, 8000), InboundStats(8000)
    ours = RtcpReporter(out, inbound, cname="gw")
    assert ours.quality() == LegQuality(None, None, None, None, None)  # no media, no report yet
    for seq in range(1, 101):
        if seq % 10:  # one packet in ten lost on the way in
            inbound.update(0xBBBB, seq, seq * 160, seq * 0.020 + (0.004 if seq % 2 else 0.0))
    peer_in = InboundStats(8000)
    peer = RtcpReporter(OutboundStream(0xBBBB, 8000), peer_in, cname="phone")
    for seq in (1, 2, 3, 5):  # the phone lost one of our four
        peer_in.update(0xAAAA, seq, seq * 160, 0.0)
    out.packet(0, 0, out.timestamp_now(), b"x" * 160)  # we send too: our SR lets the phone's report time the trip
    peer.receive(ours.report())
    ours.receive(peer.report())
    quality = ours.quality()
    assert quality.received_loss_pct == 9.1  # 9 of 99 expected (1..99: the 100th was the one lost)
    assert 1 < quality.received_jitter_ms < 4  # packets alternately 4 ms late: RFC 3550's estimate of it
    assert quality.sent_loss_pct == 19.9  # fraction lost 1/5 as the report's 8 bits say it (51/256)
    assert quality.sent_jitter_ms > 0 and 0 <= quality.round_trip_ms < 1000
