"""RTCP feedback for video (RFC 4585, RFC 5104): relayed by meaning, never as bytes.

The gateway changes SSRCs (relay.py), so a PLI from the browser names *our* stream; the phone must
get one naming *its* stream, in the form it understands. What crosses, and how:

- a keyframe request (PLI, RFC 4585 §6.3.1; FIR, RFC 5104 §4.3.1) becomes a keyframe request to the
  source of that stream on the other leg: FIR to a phone that said ``ccm fir`` only, PLI otherwise.
  Requests are coalesced (:class:`KeyframeRequests`): a receiver repeats its PLI until it decodes
  again, and a lossy leg can send dozens a second, each of which would cost the sender a keyframe;
- a NACK (RFC 4585 §6.2.1) is answered on the leg it came from, from the packets we sent there
  (:class:`~webims.media.video_relay.VideoForwarder`), and goes no further: the loss happened between
  the gateway and that receiver, and the far side may have no NACK at all (an RTP/AVP phone);
- REMB (draft-alvestrand-rmcat-remb) is how the gateway caps what the browser sends: at the phone's
  ``b=TIAS``/``b=AS`` and our own limit. aiortc has no transport-cc, so REMB is what a browser's
  bandwidth estimator hears from us.
"""

from __future__ import annotations

import struct

from aiortc.rtp import (RTCP_PSFB_APP, RTCP_PSFB_FIR, RTCP_PSFB_PLI, RTCP_RTPFB_NACK, RtcpPsfbPacket,
                        RtcpRtpfbPacket, pack_remb_fci)

__all__ = ["KeyframeRequests", "keyframe_request", "remb", "is_keyframe_request", "nacked"]

_FIR_ENTRY = struct.Struct("!IB3x")  # RFC 5104 §4.3.1.1: target SSRC, sequence number, reserved


def keyframe_request(kind: str, sender_ssrc: int, media_ssrc: int, fir_sequence: int) -> bytes:
    """A PLI (``kind`` "pli") or FIR asking the source ``media_ssrc`` for a keyframe."""
    if kind == "fir":  # §4.3.1.2: the media source field is 0; the target is in the FCI
        fci = _FIR_ENTRY.pack(media_ssrc, fir_sequence & 0xFF)
        return bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_FIR, ssrc=sender_ssrc, media_ssrc=0, fci=fci))
    return bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=sender_ssrc, media_ssrc=media_ssrc))


def remb(sender_ssrc: int, bitrate: int, media_ssrcs: list[int]) -> bytes:
    return bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=sender_ssrc, media_ssrc=0,
                                fci=pack_remb_fci(bitrate, media_ssrcs)))


def is_keyframe_request(packet, our_ssrc: int) -> bool:
    """A PLI naming our stream, or a FIR with an entry for it."""
    if not isinstance(packet, RtcpPsfbPacket):
        return False
    if packet.fmt == RTCP_PSFB_PLI:
        return packet.media_ssrc == our_ssrc
    if packet.fmt == RTCP_PSFB_FIR:
        entries = len(packet.fci) // _FIR_ENTRY.size
        return any(_FIR_ENTRY.unpack_from(packet.fci, i * _FIR_ENTRY.size)[0] == our_ssrc for i in range(entries))
    return False


def nacked(packet, our_ssrc: int) -> list[int]:
    """The sequence numbers a generic NACK for our stream asks for (aiortc leaves them unwrapped)."""
    if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK and packet.media_ssrc == our_ssrc:
        return [seq & 0xFFFF for seq in packet.lost]
    return []


class KeyframeRequests:
    """Keyframe requests towards one source: the first goes out at once; more are folded into it until
    a keyframe from that source passes or ``retry`` seconds have gone (RFC 5104 §4.3.1.2: do not
    repeat a request before the previous one could have been answered)."""

    def __init__(self, retry: float = 0.3) -> None:
        self.retry = retry
        self.fir_sequence = 0
        self.sent = 0
        self.coalesced = 0
        self._outstanding_since: float | None = None

    def should_send(self, now: float) -> bool:
        if self._outstanding_since is not None and now - self._outstanding_since < self.retry:
            self.coalesced += 1
            return False
        if self._outstanding_since is None:
            self.fir_sequence += 1  # a new request; a repetition keeps the number (§4.3.1.2)
        self._outstanding_since = now
        self.sent += 1
        return True

    def keyframe_seen(self) -> None:
        self._outstanding_since = None
