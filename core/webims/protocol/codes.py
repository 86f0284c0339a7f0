"""Error codes of browser protocol v1. ``docs/protocol.md`` lists the same table; a test keeps them in step."""

# code -> when it is sent. Services add their own codes (e.g. "forbidden_identity", "busy"); these are the core's.
CORE_ERROR_CODES = {
    "bad_json": "the frame is not valid JSON (or nests deeper than the gateway parses)",
    "bad_frame": "a binary frame was sent; protocol v1 is JSON text only",
    "bad_envelope": "the JSON is not a valid envelope: a field is missing, has the wrong type, or is unknown",
    "unsupported_version": "the envelope's protocol version is not one this gateway speaks",
    "hello_required": "the first request of a connection must be core/hello",
    "unknown_service": "no enabled service has this name",
    "unknown_type": "the service does not accept this message type",
    "not_logged_in": "the service needs a logged-in subscriber; log in first",
    "too_many_requests": "too many requests of this tab are still being handled; wait for replies",
    "internal_error": "the service failed unexpectedly; the gateway logged it under the given reference",
    "forbidden_identity": "the request names a public identity that is not one of the subscriber's",
}

# WebSocket close codes the gateway uses deliberately (RFC 6455 §7.4.1).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001  # the gateway is shutting down
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY_VIOLATION = 1008  # e.g. a session replaced by a newer one
CLOSE_MESSAGE_TOO_BIG = 1009
