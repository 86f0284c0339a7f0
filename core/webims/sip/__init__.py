"""Sans-IO SIP for webims: messages, parsing and digest authentication.

Nothing in this package touches a socket, a clock or an event loop: it turns bytes into
typed messages and back (h11-style), so the trio layer only moves bytes and time.

- :mod:`.uri` — SIP/SIPS/tel URIs and RFC 3261 §19.1.4 comparison
- :mod:`.headers` — the header multi-map and typed header values
- :mod:`.message` — Request/Response values and the helpers to build them
- :mod:`.parser` — one datagram → message, and a framer for stream transports
- :mod:`.digest` — HTTP Digest client (and a small server side for test peers)
"""

from .digest import (
    DigestChallenge,
    DigestClient,
    choose_challenge,
    make_challenge,
    verify,
)
from .errors import LocalProtocolError, RemoteProtocolError, SipError
from .headers import (
    Authenticate,
    Authorization,
    Contact,
    CSeq,
    EventHeader,
    Headers,
    NameAddr,
    Privacy,
    SubscriptionState,
    TokenList,
    Via,
)
from .message import (
    Message,
    Request,
    Response,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
)
from .parser import KeepAlive, Limits, StreamFramer, parse_message
from .uri import AbsoluteUri, SipUri, TelUri, Uri, parse_uri, uri_equal

__all__ = [
    "SipError", "RemoteProtocolError", "LocalProtocolError",
    "SipUri", "TelUri", "AbsoluteUri", "Uri", "parse_uri", "uri_equal",
    "Headers", "NameAddr", "Contact", "Via", "CSeq", "Authenticate", "Authorization",
    "EventHeader", "SubscriptionState", "Privacy", "TokenList",
    "Request", "Response", "Message", "make_response", "new_branch", "new_tag", "new_call_id",
    "parse_message", "StreamFramer", "KeepAlive", "Limits",
    "DigestChallenge", "DigestClient", "choose_challenge", "make_challenge", "verify",
]  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Transactions, dialogs, SDP and offer/answer: sans-IO state machines that take messages and
# "timer fired" inputs and return actions (Send, StartTimer, StopTimer, Deliver, Timeout,
# Terminated) for the trio layer to carry out.
#
# - :mod:`.timers` — timer names and durations (T1/T2/T4, reliable vs unreliable)
# - :mod:`.transaction` — actions, matching keys, TransactionTable, CANCEL (RFC 3261 §17, §9)
# - :mod:`.transaction_client`, :mod:`.transaction_server` — the four state tables (+RFC 6026)
# - :mod:`.retransmission` — 2xx until ACK and ACK per 2xx, end to end (§13.2.2.4, §13.3.1.4)
# - :mod:`.prack` — reliable provisional responses (RFC 3262)
# - :mod:`.dialog` — dialogs, forked early dialogs, 491/500 glare rules (§12, RFC 3311)
# - :mod:`.session_timer` — RFC 4028 arithmetic
# - :mod:`.sdp`, :mod:`.offer_answer` — SDP model (RFC 8866) and RFC 3264 helpers
# - :mod:`.media_control` — RFC 5168 bodies (SIP INFO ``picture_fast_update``: a keyframe, please)

from .dialog import Dialog, DialogId, DialogSet, DialogState, Negotiation, Reject
from .offer_answer import (
    IMS_RTP_PROFILES,
    SdpSession,
    answer_direction,
    answer_media,
    common_codecs,
    explain_failure,
    explain_media_failure,
    hold_direction,
    is_hold_offer,
    reject_media,
    resume_direction,
    sdp_unchanged,
)
from .prack import RAck, ReliableProvisionalSender, is_reliable_provisional, rseq_of
from .retransmission import AckRepeater, SuccessRetransmitter
from .sdp import (
    Attribute,
    Bandwidth,
    Codec,
    Connection,
    Direction,
    MediaDescription,
    Origin,
    SessionDescription,
    Timing,
)
from .session_timer import (
    Refresher,
    SessionExpires,
    SessionTimer,
    SessionTimerPolicy,
    TooSmall,
    retry_after_422,
    session_timer_headers,
    uac_session_timer,
    uas_session_timer,
)
from .timers import Timer, TimerConfig, is_reliable_transport
from .transaction import (
    Action,
    ClientKey,
    Deliver,
    Send,
    ServerKey,
    StartTimer,
    StopTimer,
    Terminated,
    TerminationReason,
    Timeout,
    Transaction,
    TransactionState,
    TransactionTable,
    cancel_target_key,
    client_key,
    make_cancel,
    server_key,
)
from .transaction_client import (
    InviteClientTransaction,
    NonInviteClientTransaction,
    make_non_2xx_ack,
)
from .transaction_server import InviteServerTransaction, NonInviteServerTransaction

__all__ += [
    "Timer", "TimerConfig", "is_reliable_transport",
    "Action", "Send", "StartTimer", "StopTimer", "Deliver", "Timeout", "Terminated",
    "TerminationReason", "Transaction", "TransactionState", "TransactionTable",
    "ClientKey", "ServerKey", "client_key", "server_key", "cancel_target_key", "make_cancel",
    "InviteClientTransaction", "NonInviteClientTransaction", "make_non_2xx_ack",
    "InviteServerTransaction", "NonInviteServerTransaction",
    "SuccessRetransmitter", "AckRepeater",
    "RAck", "ReliableProvisionalSender", "is_reliable_provisional", "rseq_of",
    "Dialog", "DialogId", "DialogSet", "DialogState", "Negotiation", "Reject",
    "Refresher", "SessionExpires", "SessionTimer", "SessionTimerPolicy", "TooSmall",
    "session_timer_headers", "retry_after_422", "uac_session_timer", "uas_session_timer",
    "SessionDescription", "MediaDescription", "Codec", "Attribute", "Bandwidth", "Connection",
    "Origin", "Timing", "Direction",
    "SdpSession", "IMS_RTP_PROFILES", "answer_media", "answer_direction", "common_codecs",
    "reject_media", "explain_failure", "explain_media_failure", "hold_direction",
    "resume_direction", "is_hold_offer", "sdp_unchanged",
]  # fmt: skip
