"""The audio codecs the gateway carries, and what one leg negotiated.

Codecs are :class:`webims.sip.sdp.Codec` values on both legs, so the bridge compares legs in
one vocabulary; :func:`from_aiortc` reads aiortc's codec parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from webims.sip.sdp import Codec

__all__ = ["OPUS", "PCMU", "PCMA", "SUPPORTED", "Negotiated", "telephone_event", "ims_payload_type",
           "from_aiortc", "is_telephone_event", "display_name"]

OPUS = Codec("opus", 48000, 2)  # RFC 7587 §7: always opus/48000/2 in SDP, whatever is sent
PCMU = Codec("PCMU", 8000)
PCMA = Codec("PCMA", 8000)
SUPPORTED = {"opus": OPUS, "PCMU": PCMU, "PCMA": PCMA}

# RFC 4733 §7.1.1: events 0-15 are the DTMF digits and letters.
DTMF_EVENTS_FMTP = "0-15"

# Payload types we put in IMS offers: RFC 3551's static ones, and the dynamic numbers most
# IMS phones and Chrome use, which keeps traces readable.
_IMS_PAYLOAD_TYPES = {("pcmu", 8000): 0, ("pcma", 8000): 8, ("opus", 48000): 111,
                      ("telephone-event", 8000): 101, ("telephone-event", 48000): 110}


def telephone_event(clock_rate: int, payload_type: int | None = None) -> Codec:
    return Codec("telephone-event", clock_rate, 1, payload_type, DTMF_EVENTS_FMTP)


def is_telephone_event(codec: Codec) -> bool:
    return codec.encoding_name.lower() == "telephone-event"


def ims_payload_type(codec: Codec) -> int:
    return _IMS_PAYLOAD_TYPES[(codec.encoding_name.lower(), codec.clock_rate)]


def display_name(codec: Codec) -> str:
    return "Opus" if codec.encoding_name.lower() == "opus" else codec.encoding_name


@attrs.frozen
class Negotiated:
    """What one leg carries after offer/answer.

    ``audio`` and ``dtmf`` carry the payload types we *send* with (the peer's numbering, RFC
    3264 §6.1); ``receive`` maps every payload type the peer may send us to its codec.
    """

    audio: Codec
    dtmf: Codec | None
    receive: Mapping[int, Codec]

    @classmethod
    def choose(cls, send_codecs: Iterable[Codec], receive_codecs: Iterable[Codec]) -> Negotiated | None:
        """The first audio codec of ``send_codecs`` and its telephone-event, or None."""
        send_codecs = list(send_codecs)
        audio = next((c for c in send_codecs if not is_telephone_event(c) and _supported(c)), None)
        if audio is None:
            return None
        events = [c for c in send_codecs if is_telephone_event(c)]
        # RFC 4733 §2.1: events share the audio's clock; take another rate only if that is all there is.
        dtmf = next((c for c in events if c.clock_rate == audio.clock_rate), events[0] if events else None)
        receive = {c.payload_type: c for c in receive_codecs if c.payload_type is not None}
        return cls(audio, dtmf, receive)

    def relays_with(self, other: Negotiated) -> bool:
        return self.audio.same_encoding(other.audio)


def _supported(codec: Codec) -> bool:
    return any(codec.same_encoding(known) for known in SUPPORTED.values())


def from_aiortc(parameters: RTCRtpCodecParameters) -> Codec:
    fmtp = ";".join(k if v is None else f"{k}={v}" for k, v in parameters.parameters.items()) or None
    return Codec(parameters.name, parameters.clockRate, parameters.channels or 1, parameters.payloadType, fmtp)
