"""Parse + serialize throughput of webims.sip on one core, for three typical IMS messages.

Run: python bench/sip_parse.py [--seconds N]   (with PYTHONPATH=core when not installed)
Prints one JSON object: interpreter, and per message the parse+serialize rate.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

from webims.sip import parse_message

SDP = (
    "v=0\r\no=- 3894811422 3894811422 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\nm=audio 49170 RTP/AVP 96 97 8 0 101\r\na=rtpmap:96 AMR-WB/16000\r\n"
    "a=fmtp:96 mode-change-capability=2;max-red=0\r\na=rtpmap:97 AMR/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
)
INVITE = (
    "INVITE sip:+15551230002@ims.example.net;user=phone SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Route: <sip:pcscf.ims.example.net:5060;lr>\r\n"
    'From: "Alice" <sip:+15551230001@ims.example.net>;tag=1928301774\r\n'
    "To: <tel:+15551230002>\r\n"
    "Call-ID: a84b4c76e66710@192.0.2.10\r\n"
    "CSeq: 314159 INVITE\r\n"
    'Contact: <sip:alice@192.0.2.10:5060;transport=tcp>;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel"\r\n'
    "P-Preferred-Identity: <sip:+15551230001@ims.example.net>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, UPDATE, PRACK, OPTIONS, MESSAGE, REFER, NOTIFY\r\n"
    "Supported: 100rel, timer, precondition, replaces\r\n"
    "Accept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel\"\r\n"
    "Session-Expires: 1800\r\n"
    "User-Agent: webims/0.1\r\n"
    "Content-Type: application/sdp\r\n"
    f"Content-Length: {len(SDP)}\r\n\r\n{SDP}"
).encode()
REGISTER_OK = (
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport=5060;received=192.0.2.10\r\n"
    "From: <sip:+15551230001@ims.example.net>;tag=4fa3\r\n"
    "To: <sip:+15551230001@ims.example.net>;tag=0f7b-99a1\r\n"
    "Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.10\r\n"
    "CSeq: 2 REGISTER\r\n"
    'Contact: <sip:alice@192.0.2.10:5060;transport=tcp>;expires=600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1\r\n'
    "P-Associated-URI: <sip:+15551230001@ims.example.net>, <tel:+15551230001>, <sip:alice@ims.example.net>\r\n"
    "Service-Route: <sip:orig@scscf.ims.example.net:6060;lr>\r\n"
    "Path: <sip:term@pcscf.ims.example.net;lr>\r\n"
    "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
    "Content-Length: 0\r\n\r\n"
).encode()
PIDF = (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n'
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@ims.example.net">\r\n'
    '  <tuple id="t1"><status><basic>open</basic></status>'
    "<contact>sip:bob@192.0.2.20</contact></tuple>\r\n</presence>\r\n"
)
NOTIFY = (
    "NOTIFY sip:alice@192.0.2.10:5060;transport=tcp SIP/2.0\r\n"
    "Via: SIP/2.0/TCP scscf.ims.example.net:6060;branch=z9hG4bK3a9f1\r\n"
    "Via: SIP/2.0/TCP pcscf.ims.example.net:5060;branch=z9hG4bK77ef2;received=192.0.2.1\r\n"
    "Max-Forwards: 68\r\n"
    "From: <sip:bob@ims.example.net>;tag=ffd2\r\n"
    "To: <sip:alice@ims.example.net>;tag=1928301774\r\n"
    "Call-ID: 7a9f3c@scscf.ims.example.net\r\n"
    "CSeq: 12 NOTIFY\r\n"
    "Contact: <sip:scscf.ims.example.net:6060>\r\n"
    "Event: presence\r\n"
    "Subscription-State: active;expires=3599\r\n"
    "Content-Type: application/pidf+xml\r\n"
    f"Content-Length: {len(PIDF)}\r\n\r\n{PIDF}"
).encode()

MESSAGES = {"invite_with_sdp": INVITE, "register_200_ok": REGISTER_OK, "notify_pidf": NOTIFY}


def rate(data: bytes, seconds: float) -> float:
    """parse+serialize round trips per second, best of three runs."""
    assert parse_message(parse_message(data).to_bytes()) == parse_message(data)
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        deadline = start + seconds / 3
        while time.perf_counter() < deadline:
            for _ in range(200):
                parse_message(data).to_bytes()
            count += 200
        best = max(best, count / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per message")
    args = parser.parse_args()
    results = {name: round(rate(data, args.seconds)) for name, data in MESSAGES.items()}
    print(json.dumps({
        "interpreter": sys.executable,
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "parse_serialize_per_second": results,
        "message_bytes": {name: len(data) for name, data in MESSAGES.items()},
    }, indent=2))


if __name__ == "__main__":
    main()
