"""Fixtures for the lab IMS core's own tests.

`raw_ua` is a deliberately tiny SIP UA over UDP (one socket, blocking calls) for the
requests SIPp and baresip make awkward: PUBLISH/SUBSCRIBE/NOTIFY bodies, SHA-256
digest. It is test scaffolding, not a SIP stack (webims.sip is that).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import time

import attrs
import pytest


@attrs.frozen
class SipMessage:
    first_line: str
    headers: tuple[tuple[str, str], ...]
    body: str

    @property
    def status(self) -> int | None:
        return int(self.first_line.split()[1]) if self.first_line.startswith("SIP/2.0") else None

    @property
    def method(self) -> str | None:
        return None if self.status else self.first_line.split()[0]

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @classmethod
    def parse(cls, data: bytes) -> SipMessage:
        head, _, body = data.decode().partition("\r\n\r\n")
        first_line, *lines = head.split("\r\n")
        headers = tuple((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines))
        return cls(first_line, headers, body)


def digest_authorization(challenge: str, method: str, uri: str, username: str, password: str) -> str:
    """The Authorization value answering one WWW/Proxy-Authenticate challenge (RFC 8760)."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    algorithm = params.get("algorithm", "MD5")
    hash_ = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[algorithm]

    def h(text: str) -> str:
        return hash_(text.encode()).hexdigest()

    ha1 = h(f"{username}:{params['realm']}:{password}")
    ha2 = h(f"{method}:{uri}")
    cnonce, nc = secrets.token_hex(8), "00000001"
    if "qop" in params:
        response = h(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        qop = f", qop=auth, nc={nc}, cnonce=\"{cnonce}\""
    else:
        response, qop = h(f"{ha1}:{params['nonce']}:{ha2}"), ""
    return (
        f'Digest username="{username}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", response="{response}", algorithm={algorithm}{qop}'
    )


@attrs.define
class RawUA:
    """One UDP SIP endpoint on 127.0.0.1 talking to one lab."""

    lab_port: int
    socket: socket.socket
    cseq: int = 1
    call_id: str = attrs.field(factory=lambda: secrets.token_hex(8))
    registrations: set[tuple[str, str, str]] = attrs.field(factory=set)

    @property
    def port(self) -> int:
        return self.socket.getsockname()[1]

    @property
    def contact(self) -> str:
        return f"<sip:ua@127.0.0.1:{self.port}>"

    def send(self, text: str) -> None:
        self.socket.sendto(text.encode(), ("127.0.0.1", self.lab_port))

    def receive(self, timeout: float = 3.0, method: str | None = None) -> SipMessage:
        """The next message (the next request of `method`, if given); answers requests 200."""
        deadline = time.monotonic() + timeout
        while True:
            self.socket.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                message = SipMessage.parse(self.socket.recv(65535))
            except TimeoutError:
                raise AssertionError(f"nothing {'(' + method + ') ' if method else ''}within {timeout} s") from None
            if message.method and message.method != "ACK":
                self.reply(message, 200, "OK")
            if method is None or message.method == method:
                return message

    def reply(self, request: SipMessage, code: int, reason: str) -> None:
        copied = ""
        for name, value in request.headers:
            if name.lower() == "to" and ";tag=" not in value:
                value += ";tag=raw"
            if name.lower() in _ECHOED:
                copied += f"{name}: {value}\r\n"
        self.send(f"SIP/2.0 {code} {reason}\r\n{copied}Content-Length: 0\r\n\r\n")

    def request(
        self, method: str, uri: str, *, from_uri: str, to_uri: str | None = None,
        headers: str = "", body: str = "", credentials: tuple[str, str] | None = None,
    ) -> SipMessage:
        """Send a request and return its final response, answering one digest challenge."""
        authorization = ""
        # REGISTER refreshes keep one Call-ID (RFC 3261 10.2); anything else starts afresh.
        call_id = self.call_id if method == "REGISTER" else secrets.token_hex(8)
        while True:
            self.send_request(method, uri, from_uri=from_uri, to_uri=to_uri, headers=headers + authorization,
                              body=body, call_id=call_id)
            response = self.final_response()
            if response.status not in (401, 407) or authorization or credentials is None:
                return response
            challenge_header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
            answer_header = "Authorization" if response.status == 401 else "Proxy-Authorization"
            value = digest_authorization(response.header(challenge_header), method, uri, *credentials)
            authorization = f"{answer_header}: {value}\r\n"

    def send_request(
        self, method: str, uri: str, *, from_uri: str, to_uri: str | None = None,
        headers: str = "", body: str = "", call_id: str | None = None,
    ) -> None:
        """Send a request without waiting: for a target that answers only once it is read."""
        self.cseq += 1
        call_id = call_id or secrets.token_hex(8)
        from_header, to_header = f"<{from_uri}>;tag={call_id[:6]}", f"<{to_uri or uri}>"
        self.send(self._build(method, uri, call_id, from_header, to_header, headers, body))

    def request_in_dialog(
        self, method: str, established: SipMessage, *, from_uri: str, headers: str = ""
    ) -> SipMessage:
        """A request in the dialog that `established` (the 2xx creating it) set up; its final response."""
        call_id = established.header("Call-ID")
        target = established.header("Contact").split("<", 1)[1].split(">", 1)[0]
        self.cseq += 1
        from_header = f"<{from_uri}>;tag={call_id[:6]}"
        self.send(self._build(method, target, call_id, from_header, established.header("To"), headers, ""))
        return self.final_response()

    def final_response(self, timeout: float = 3.0) -> SipMessage:
        while True:
            message = self.receive(timeout)
            if message.status and message.status >= 200:
                return message

    def register(self, public_identity: str, username: str, password: str, expires: int = 300) -> SipMessage:
        response = self.request(
            "REGISTER", "sip:ims.test", from_uri=public_identity, to_uri=public_identity,
            headers=f"Contact: {self.contact}\r\nExpires: {expires}\r\n", credentials=(username, password),
        )
        if response.status == 200 and expires:
            self.registrations.add((public_identity, username, password))
        return response

    def close(self) -> None:
        """Remove this UA's bindings, so that a module's shared lab forgets it, and close."""
        for registration in self.registrations:
            try:
                self.register(*registration, expires=0)
            except AssertionError:
                pass
        self.socket.close()

    def _build(self, method: str, uri: str, call_id: str, from_: str, to: str, headers: str, body: str) -> str:
        branch = "z9hG4bK" + secrets.token_hex(6)
        contact = "" if "Contact:" in headers else f"Contact: {self.contact}\r\n"
        return (
            f"{method} {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};rport;branch={branch}\r\n"
            f"Max-Forwards: 70\r\nFrom: {from_}\r\nTo: {to}\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {self.cseq} {method}\r\n{contact}"
            f"{headers}Content-Length: {len(body.encode())}\r\n\r\n{body}"
        )


_ECHOED = {"via", "from", "to", "call-id", "cseq"}


@pytest.fixture
def raw_ua_factory():
    """`make(lab)`: a RawUA on a free loopback port talking to `lab`; closed after the test."""
    endpoints: list[RawUA] = []

    def make(lab) -> RawUA:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        endpoints.append(RawUA(lab_port=lab.port, socket=udp))
        return endpoints[-1]

    yield make
    for endpoint in endpoints:
        endpoint.close()


@pytest.fixture
def raw_ua(raw_ua_factory, lab_core):
    """`make()`: a RawUA talking to the module's `lab_core`."""
    return lambda: raw_ua_factory(lab_core)
