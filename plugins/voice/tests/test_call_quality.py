"""call.quality: the IMS leg's audio both ways, as the gateway sees it (our reception of the phone's stream and
the phone's RTCP report on ours), for the page to put next to what it measures on its own leg."""

import struct

import pytest
import trio
from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket

from webims.testing import BrowserError

RTP_HEADER = struct.Struct("!BBHII")
BOBS_SSRC = 0xB0B


async def quality(answered_call) -> dict:
    return (await answered_call.tab.request("voice", "call.quality", {"call": answered_call.call.id}))["ims"]


async def test_the_ims_legs_loss_and_jitter_both_ways_are_in_a_persons_units(answered_call):
    bob = answered_call.bob
    assert await quality(answered_call) == {"received_loss_pct": None, "received_jitter_ms": None,
                                            "sent_loss_pct": None, "sent_jitter_ms": None, "round_trip_ms": None}
    with trio.fail_after(5):
        relayed, gateway = await bob.rtp.recvfrom(2048)  # Mary's tone, relayed to Bob
    gateway_ssrc = int.from_bytes(relayed[8:12], "big")
    for seq in range(1, 51):
        if seq != 25:  # one of 50 lost on the way to the gateway
            await bob.rtp.sendto(RTP_HEADER.pack(0x80, 0, seq, seq * 160, BOBS_SSRC) + bytes(160), gateway)
    report = RtcpReceiverInfo(ssrc=gateway_ssrc, fraction_lost=26, packets_lost=3, highest_sequence=100,
                              jitter=80, lsr=0, dlsr=0)  # Bob lost 26/256 of ours, with 10 ms of jitter
    await bob.rtcp.sendto(bytes(RtcpRrPacket(ssrc=BOBS_SSRC, reports=[report])), (gateway[0], gateway[1] + 1))
    with trio.fail_after(3):
        while (ims := await quality(answered_call))["received_loss_pct"] is None or ims["sent_loss_pct"] is None:
            await trio.sleep(0.05)
    assert ims["received_loss_pct"] == 2.0 and ims["received_jitter_ms"] > 0
    assert ims["sent_loss_pct"] == 10.2 and ims["sent_jitter_ms"] == 10.0
    assert ims["round_trip_ms"] is None  # Bob's report carried no LSR: no round trip to tell


async def test_the_quality_of_a_call_that_is_gone_is_refused_with_a_reason(answered_call):
    with pytest.raises(BrowserError) as refused:
        await answered_call.tab.request("voice", "call.quality", {"call": "c999"})
    assert refused.value.code == "no_such_call" and "already ended" in refused.value.message
