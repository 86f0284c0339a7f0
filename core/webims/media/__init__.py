"""webims.media: the eIMS-AGW of TS 23.228 Annex U, bridging a browser's WebRTC audio and video to IMS RTP.

Read docs/media.md first. The call layer uses :func:`open_media_engine` and :class:`Bridge`;
the modules behind them, one per object:

- :mod:`.engine` — the trio API; :mod:`.loop_thread` / :mod:`.workers` — where asyncio runs
- :mod:`.worker` — one media loop's bridges; :mod:`.bridge` — one call (:mod:`.bridge_video`: its video)
- :mod:`.browser_leg` — aiortc peer connection (:mod:`.browser_video`: its video transceiver)
- :mod:`.ims_leg` — the IMS SDP session (:mod:`.ims_video`: its video line), :mod:`.rtp_endpoint` — a port pair
- :mod:`.relay` — one direction's audio; :mod:`.transcode` — the fallback; :mod:`.dtmf` — RFC 4733
- :mod:`.video_path` — a call's video both ways (:mod:`.video_relay`, :mod:`.feedback`: PLI/FIR/NACK/REMB)
- :mod:`.rtp`, :mod:`.rtcp` — streams and reports; :mod:`.codecs`, :mod:`.video_codecs` — what each leg negotiated
"""

from .bridge import BridgeStats, LegQuality, VideoStats
from .config import MediaConfig
from .engine import Bridge, MediaEngine, open_media_engine
from .errors import MediaError
from .events import (CodecChosen, DtmfReceived, IceStateChanged, KeyframeNeeded, Leg, MediaEvent, MediaMode,
                     MediaTimeout, NegotiationNeeded, VideoChanged)

__all__ = [
    "Bridge", "BridgeStats", "CodecChosen", "DtmfReceived", "IceStateChanged", "KeyframeNeeded", "Leg",
    "LegQuality", "MediaConfig", "MediaEngine", "MediaError", "MediaEvent", "MediaMode", "MediaTimeout",
    "NegotiationNeeded", "VideoChanged", "VideoStats", "open_media_engine",
]
