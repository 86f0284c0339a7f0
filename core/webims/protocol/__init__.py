"""Browser protocol v1 (JSON over WebSocket). Documented in docs/protocol.md."""

from webims.protocol.codes import CORE_ERROR_CODES
from webims.protocol.envelope import (
    PROTOCOL_VERSION,
    Envelope,
    ProtocolError,
    decode_request,
    error_body,
    event,
)

__all__ = ["CORE_ERROR_CODES", "PROTOCOL_VERSION", "Envelope", "ProtocolError", "decode_request", "error_body",
           "event"]
