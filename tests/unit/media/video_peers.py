"""Video peers for the media tests, on loopback and in this process:

- ``VideoBrowser``: an aiortc peer with a 440 Hz tone and a camera (a moving colour pattern),
  decoding what it receives (aiortc decodes: frames, sizes, brightness); its codecs and camera
  direction are chosen per test, and it renegotiates on the same connection as Chrome does;
- ``VideoPhone``: a plain RTP/RTCP endpoint for the IMS video line, sending VP8 or H.264 (mode 1
  through aiortc's packetizer, mode 0 as single NAL units from libx264 with small slices), decoding
  what it receives with PyAV, answering PLI/FIR with a keyframe, and recording the feedback it got.
"""

from __future__ import annotations

import asyncio
import fractions
import struct
import time

import av
import numpy as np
import trio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.codecs import h264_depayload, vp8_depayload
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import (RTCP_PSFB_APP, RTCP_PSFB_FIR, RTCP_PSFB_PLI, RTCP_RTPFB_NACK, RtcpPacket, RtcpPsfbPacket,
                        RtcpRtpfbPacket, unpack_remb_fci)

from webims.sip.sdp import SessionDescription
from webims.testing.webrtc import ToneTrack

WIDTH, HEIGHT, FPS = 320, 240, 15
CLOCK = 90000


def pattern(index: int, width: int = WIDTH, height: int = HEIGHT) -> av.VideoFrame:
    """A bright frame with a bar moving across it: never black, never the same twice."""
    image = np.full((height, width, 3), (40, 160, 220), dtype=np.uint8)
    x = (index * 8) % width
    image[:, x:x + 24] = (250, 250, 40)
    return av.VideoFrame.from_ndarray(image, format="rgb24")


def brightness(frame: av.VideoFrame) -> float:
    return float(frame.to_ndarray(format="gray").mean())


class PatternTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        self._start = self._start or time.monotonic()
        wait = self._start + self._index / FPS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = pattern(self._index)
        frame.pts, frame.time_base = self._index * CLOCK // FPS, fractions.Fraction(1, CLOCK)
        self._index += 1
        return frame


# --- the browser ---------------------------------------------------------------------------------

class VideoBrowser:
    """An aiortc peer as the browser: audio always, video with ``camera`` "sendrecv", "recvonly"... or None.

    ``h264_modes`` are the H.264 packetization modes it offers (Constrained Baseline 3.1 only). aiortc,
    unlike Chrome, keeps the format it first sent for the whole call, so a test that needs mode 0 from
    it must offer only that.
    """

    def __init__(self, video_codecs=("VP8",), camera: str | None = "sendrecv", h264_modes=(1, 0)) -> None:
        self.video_codecs = video_codecs
        self.camera = camera
        self.h264_modes = tuple(str(mode) for mode in h264_modes)
        self.pc: RTCPeerConnection | None = None
        self.frames: list[tuple[float, int, int, float]] = []  # (time, width, height, brightness)
        self.last_picture: np.ndarray | None = None            # the latest frame decoded, RGB
        self.feedback: list[int] = []  # PSFB formats our sender got (PLI 1, FIR 4, APP 15)
        self.remb: list[int] = []      # bitrates the gateway capped us at
        self.remote_sdp = ""
        self._tasks: list[asyncio.Task] = []

    async def _setup(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.on("track", self._record)

    def _prefer(self, transceiver) -> None:
        kind = transceiver.kind
        wanted = ["PCMU", "telephone-event"] if kind == "audio" else list(self.video_codecs)
        caps = [c for name in wanted for c in RTCRtpSender.getCapabilities(kind).codecs
                if c.name.lower() == name.lower() and (kind == "audio" or self._mode_ok(c))]
        transceiver.setCodecPreferences(caps)
        if kind == "video":
            original = transceiver.sender._handle_rtcp_packet

            async def watch(packet):
                if isinstance(packet, RtcpPsfbPacket):
                    self.feedback.append(packet.fmt)
                    if packet.fmt == RTCP_PSFB_APP:
                        self.remb.append(unpack_remb_fci(packet.fci)[0])
                await original(packet)

            transceiver.sender._handle_rtcp_packet = watch

    def _mode_ok(self, capability) -> bool:
        parameters = capability.parameters
        return capability.name != "H264" or (parameters.get("profile-level-id") == "42e01f"
                                             and parameters.get("packetization-mode") in self.h264_modes)

    def _record(self, track) -> None:
        if track.kind != "video":
            return

        async def record():
            try:
                while True:
                    frame = await track.recv()
                    self.frames.append((time.monotonic(), frame.width, frame.height, brightness(frame)))
                    self.last_picture = frame.to_ndarray(format="rgb24")
            except MediaStreamError:
                pass

        self._tasks.append(asyncio.ensure_future(record()))

    def _add_video(self, direction: str) -> None:
        transceiver = self.pc.addTransceiver(PatternTrack(), direction=direction)
        self._prefer(transceiver)

    async def offer(self) -> str:
        await self._setup()
        self._prefer(self.pc.addTransceiver(ToneTrack(440), direction="sendrecv"))
        if self.camera is not None:
            self._add_video(self.camera)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept_answer(self, sdp: str) -> None:
        self.remote_sdp = sdp
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def answer(self, offer: str) -> str:
        self.remote_sdp = offer
        await self._setup()
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "audio":
                transceiver.sender.replaceTrack(ToneTrack(440))
                transceiver.direction = "sendrecv"
            else:
                transceiver.sender.replaceTrack(PatternTrack())
                transceiver.direction = self.camera or "inactive"
            self._prefer(transceiver)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def reoffer(self, camera: str) -> str:
        """Renegotiate on the same connection: the camera's direction changes, or video is added."""
        video = [t for t in self.pc.getTransceivers() if t.kind == "video"]
        if video:
            video[0].direction = camera
        else:
            self._add_video(camera)
        self.camera = camera
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def send_pli(self) -> None:
        """A PLI for the gateway's video stream, as a browser whose decoder lost its reference sends it."""
        transceiver = next(t for t in self.pc.getTransceivers() if t.kind == "video")
        sdp = SessionDescription.parse(self.remote_sdp)
        video = next(m for m in sdp.media if m.media == "video")
        gateway_ssrc = int(video.attribute("ssrc").split()[0])
        packet = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=transceiver.sender._ssrc, media_ssrc=gateway_ssrc)
        await transceiver.sender.transport._send_rtp(bytes(packet))

    def frames_since(self, since: float) -> list[tuple[float, int, int, float]]:
        return [f for f in self.frames if f[0] >= since]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()


# --- the phone -----------------------------------------------------------------------------------

class VideoPhone:
    """The IMS phone's video line: its own RTP/RTCP ports, one encoder, one decoder."""

    def __init__(self, codec: str = "VP8", mode: int = 1, sending: bool = True) -> None:
        self.codec, self.mode, self.sending = codec, mode, sending
        self.rtp = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        self.rtcp = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        self.remote: tuple[str, int] | None = None
        self.ssrc, self.seq = 0x5EED0001, 4000
        # (time, payload type, marker, sequence number, timestamp, ssrc, payload)
        self.received: list[tuple[float, int, int, int, int, int, bytes]] = []
        self.frames: list[tuple[float, int, int, float]] = []
        self.feedback: list[tuple[int, int, bytes]] = []  # (fmt, media ssrc, fci)
        self.keyframes_sent = 0
        self.payload_type = {"VP8": 96, "H264": 97 if mode == 1 else 98}[codec]
        self._force_keyframe = False
        self._decoder = av.CodecContext.create("vp8" if codec == "VP8" else "h264", "r")
        self._partial: dict[int, list[tuple[int, bytes]]] = {}

    async def bind(self) -> None:
        """An RTP port with its RTCP port next to it (RFC 3550 §11): a free port's neighbour may be taken."""
        for _ in range(20):
            await self.rtp.bind(("127.0.0.1", 0))
            try:
                await self.rtcp.bind(("127.0.0.1", self.rtp.getsockname()[1] + 1))
                return
            except OSError:
                self.rtp.close()
                self.rtp = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        raise OSError("no free RTP/RTCP port pair on 127.0.0.1")

    @property
    def port(self) -> int:
        return self.rtp.getsockname()[1]

    def sdp_lines(self, direction: str = "sendrecv", port: int | None = None,
                  bandwidth: int | None = None) -> list[str]:
        fmtp = ("max-fr=30;max-fs=3600" if self.codec == "VP8"
                else f"profile-level-id=42e01f;packetization-mode={self.mode}")
        lines = [f"m=video {self.port if port is None else port} RTP/AVP {self.payload_type}"]
        lines += [f"b=AS:{bandwidth}"] if bandwidth else []
        lines += [f"a=rtpmap:{self.payload_type} {self.codec}/90000", f"a=fmtp:{self.payload_type} {fmtp}",
                  "a=rtcp-fb:* nack pli", "a=rtcp-fb:* ccm fir", f"a={direction}"]
        return lines

    def learn(self, gateway_sdp: str) -> None:
        sdp = SessionDescription.parse(gateway_sdp)
        video = next((m for m in sdp.media if m.media == "video"), None)
        self.remote = (sdp.connection.address, video.port) if video is not None and video.port else None

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._receive_rtp)
            nursery.start_soon(self._receive_rtcp)
            encoder = self._encoder()
            index, next_time = 0, trio.current_time()
            while True:
                if self.remote is not None and self.sending:
                    await self._send_frame(encoder, index)
                index += 1
                next_time += 1 / FPS
                await trio.sleep_until(next_time)

    def _encoder(self):
        if self.codec == "VP8":
            return Vp8Encoder()
        if self.mode == 1:
            return H264Encoder()
        context = av.CodecContext.create("libx264", "w")  # mode 0: every NAL unit fits one packet
        context.width, context.height, context.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        context.time_base = fractions.Fraction(1, FPS)
        context.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline",
                           "x264-params": "slice-max-size=1100:keyint=600"}
        return context

    async def _send_frame(self, encoder, index: int) -> None:
        frame = pattern(index).reformat(format="yuv420p")
        frame.pts, frame.time_base = index, fractions.Fraction(1, FPS)
        keyframe, self._force_keyframe = self._force_keyframe, False
        if isinstance(encoder, av.CodecContext):
            frame.pict_type = av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
            payloads = [nal for packet in encoder.encode(frame) for nal in H264Encoder._split_bitstream(bytes(packet))]
        else:
            payloads, _ = encoder.encode(frame, force_keyframe=keyframe)
        self.keyframes_sent += keyframe
        timestamp = 1000 + index * CLOCK // FPS
        for i, payload in enumerate(payloads):
            marker = 0x80 if i == len(payloads) - 1 else 0
            header = struct.pack("!BBHII", 0x80, marker | self.payload_type, self.seq & 0xFFFF, timestamp, self.ssrc)
            self.seq += 1
            await self.rtp.sendto(header + payload, self.remote)

    async def send_feedback(self, fmt: int, media_ssrc: int) -> None:
        """A PLI (fmt 1) or FIR (fmt 4) for the gateway's stream, in a compound packet."""
        fci = struct.pack("!IB3x", media_ssrc, 1) if fmt == RTCP_PSFB_FIR else b""
        rr = struct.pack("!BBHI", 0x80, 201, 1, self.ssrc)
        media_ssrc = 0 if fmt == RTCP_PSFB_FIR else media_ssrc  # RFC 5104 §4.3.1.2: a FIR names it in its FCI
        packet = rr + bytes(RtcpPsfbPacket(fmt=fmt, ssrc=self.ssrc, media_ssrc=media_ssrc, fci=fci))
        await self.rtcp.sendto(packet, (self.remote[0], self.remote[1] + 1))

    async def send_nack(self, media_ssrc: int, sequence_numbers: list[int]) -> None:
        """A generic NACK (RFC 4585 §6.2.1) for packets of the gateway's stream, as an AVPF phone sends it."""
        rr = struct.pack("!BBHI", 0x80, 201, 1, self.ssrc)
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=self.ssrc, media_ssrc=media_ssrc, lost=sequence_numbers)
        await self.rtcp.sendto(rr + bytes(nack), (self.remote[0], self.remote[1] + 1))

    async def _receive_rtp(self) -> None:
        while True:
            data, _ = await self.rtp.recvfrom(4096)
            first, second, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
            payload = data[12:]
            self.received.append((time.monotonic(), second & 0x7F, second >> 7, seq, ts, ssrc, payload))
            self._reassemble(second >> 7, seq, ts, payload)

    def _reassemble(self, marker: int, seq: int, timestamp: int, payload: bytes) -> None:
        self._partial.setdefault(timestamp, []).append((seq, payload))
        if not marker:
            return
        parts = sorted(self._partial.pop(timestamp))
        depayload = vp8_depayload if self.codec == "VP8" else h264_depayload
        data = b"".join(depayload(p) for _, p in parts)
        try:
            for frame in self._decoder.decode(av.Packet(data)):
                self.frames.append((time.monotonic(), frame.width, frame.height, brightness(frame)))
        except av.error.InvalidDataError:
            pass  # a frame whose reference was lost: a keyframe request brings the picture back

    async def _receive_rtcp(self) -> None:
        while True:
            data, _ = await self.rtcp.recvfrom(4096)
            try:
                packets = RtcpPacket.parse(data)
            except ValueError:
                continue
            for packet in packets:
                if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                    self.feedback.append((packet.fmt, packet.media_ssrc, packet.fci))
                    self._force_keyframe = True

    def frames_since(self, since: float) -> list[tuple[float, int, int, float]]:
        return [f for f in self.frames if f[0] >= since]

    def close(self) -> None:
        self.rtp.close()
        self.rtcp.close()
