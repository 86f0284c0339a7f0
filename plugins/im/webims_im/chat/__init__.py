"""Chat sessions (MSRP, RFC 4975/4976) on trio: :mod:`.sdp` (the m=message offer/answer), :mod:`.transport`
(TCP links, the listener, relay AUTH), :mod:`.session` (one chat), :mod:`.setup` (its SIP dialog) and
:mod:`.service` (all chats of a gateway)."""
