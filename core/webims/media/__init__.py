"""webims.media: the eIMS-AGW of TS 23.228 Annex U, bridging a browser's WebRTC audio to IMS RTP.

Read docs/media.md first. The call layer uses :func:`open_media_engine` and :class:`Bridge`;
the modules behind them, one per object:

- :mod:`.engine` — the trio API; :mod:`.loop_thread` / :mod:`.workers` — where asyncio runs
- :mod:`.worker` — one media loop's bridges; :mod:`.bridge` — one call
- :mod:`.browser_leg` — aiortc peer connection; :mod:`.ims_leg` — RTP/RTCP endpoint and its SDP
- :mod:`.relay` — one direction's packets; :mod:`.transcode` — the fallback; :mod:`.dtmf` — RFC 4733
- :mod:`.rtp`, :mod:`.rtcp` — streams and reports; :mod:`.codecs` — what each leg negotiated
"""

from .bridge import BridgeStats
from .config import MediaConfig
from .engine import Bridge, MediaEngine, open_media_engine
from .errors import MediaError
from .events import CodecChosen, DtmfReceived, IceStateChanged, Leg, MediaEvent, MediaMode, MediaTimeout

__all__ = [
    "Bridge", "BridgeStats", "CodecChosen", "DtmfReceived", "IceStateChanged", "Leg", "MediaConfig",
    "MediaEngine", "MediaError", "MediaEvent", "MediaMode", "MediaTimeout", "open_media_engine",
]
