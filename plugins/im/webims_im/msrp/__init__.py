"""Sans-IO MSRP (RFC 4975) with relays (RFC 4976): no sockets, no clock.

- :mod:`.uri` — MSRP URIs and paths
- :mod:`.frames` — request/response values, Byte-Range and Status, the writer
- :mod:`.reader` — bytes → frames (:class:`FrameReader`)
- :mod:`.session` — one session's state machine: chunking, reassembly, responses, REPORTs
- :mod:`.relay` — AUTH to a relay with digest, Use-Path
"""

from webims_im.msrp.errors import LocalProtocolError, MsrpError, RemoteProtocolError
from webims_im.msrp.events import MessageAborted, MessageAccepted, MessageFailed, MessageReceived, ReportReceived
from webims_im.msrp.frames import ByteRange, Request, Response, Status
from webims_im.msrp.reader import FrameReader
from webims_im.msrp.relay import Granted, RelayAuthorization, RelayRefused
from webims_im.msrp.session import MsrpSession
from webims_im.msrp.uri import MsrpUri, format_path, parse_path

__all__ = [
    "MsrpError", "RemoteProtocolError", "LocalProtocolError",
    "MessageReceived", "MessageAborted", "MessageAccepted", "MessageFailed", "ReportReceived",
    "Request", "Response", "ByteRange", "Status", "FrameReader", "MsrpSession",
    "RelayAuthorization", "RelayRefused", "Granted", "MsrpUri", "parse_path", "format_path",
]  # fmt: skip
