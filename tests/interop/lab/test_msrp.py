"""The lab's MSRP relay (RFC 4976): digest AUTH, then SEND relayed between two clients."""

import hashlib
import re
import secrets
import socket

import attrs
import pytest

pytestmark = pytest.mark.interop


@attrs.define
class MsrpClient:
    """An MSRP endpoint with one TCP connection to the relay (test scaffolding)."""

    relay: str
    connection: socket.socket

    @property
    def uri(self) -> str:
        return f"msrp://127.0.0.1:{self.connection.getsockname()[1]}/{id(self):x};tcp"

    def send_frame(self, method: str, to_path: str, headers: str = "", body: str = "") -> None:
        transaction = secrets.token_hex(4)
        content = f"\r\n{body}\r\n" if body else ""
        frame = f"MSRP {transaction} {method}\r\nTo-Path: {to_path}\r\nFrom-Path: {self.uri}\r\n{headers}{content}"
        self.connection.sendall(f"{frame}-------{transaction}$\r\n".encode())

    def receive_frame(self) -> str:
        return self.connection.recv(65536).decode()

    def authenticate(self, username: str, password: str) -> str:
        """AUTH with digest (uri = the relay's URI, qop=auth); the last response frame."""
        self.send_frame("AUTH", self.relay)
        challenge = self.receive_frame()
        assert " 401 " in challenge.splitlines()[0]
        params = dict(re.findall(r'(\w+)="?([^",\r]*)"?', challenge.split("WWW-Authenticate:")[1].splitlines()[0]))

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1, ha2 = md5(f"{username}:{params['realm']}:{password}"), md5(f"AUTH:{self.relay}")
        response = md5(f"{ha1}:{params['nonce']}:00000001:0a4f113b:auth:{ha2}")
        self.send_frame("AUTH", self.relay, (
            f'Authorization: Digest username="{username}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
            f'uri="{self.relay}", response="{response}", qop=auth, nc=00000001, cnonce="0a4f113b"\r\n'
        ))
        return self.receive_frame()


@pytest.fixture
def msrp_client(lab_core):
    clients: list[MsrpClient] = []

    def connect() -> MsrpClient:
        connection = socket.create_connection(("127.0.0.1", lab_core.msrp_port), timeout=3)
        clients.append(MsrpClient(f"msrp://127.0.0.1:{lab_core.msrp_port};tcp", connection))
        return clients[-1]

    yield connect
    for client in clients:
        client.connection.close()


def use_path(frame: str) -> str:
    return re.search(r"^Use-Path: (\S+)", frame, re.MULTILINE)[1]


def test_auth_with_a_subscribers_credential_grants_a_use_path(msrp_client, lab_core):
    granted = msrp_client().authenticate("bob", "bob-secret")

    assert " 200 OK" in granted.splitlines()[0]
    assert use_path(granted).startswith(f"msrp://127.0.0.1:{lab_core.msrp_port}/")


def test_auth_with_a_wrong_password_is_challenged_again(msrp_client):
    refused = msrp_client().authenticate("bob", "not-bobs-password")

    assert " 401 " in refused.splitlines()[0]


def test_a_send_crosses_both_relay_sessions_to_the_other_client(msrp_client):
    alice, bob = msrp_client(), msrp_client()
    alice_path = use_path(alice.authenticate("mary", "mary-secret"))
    bob_path = use_path(bob.authenticate("bob", "bob-secret"))

    alice.send_frame(
        "SEND", f"{alice_path} {bob_path} {bob.uri}",
        "Message-ID: lab1\r\nByte-Range: 1-5/5\r\nContent-Type: text/plain\r\n", "hello",
    )

    assert " 200 OK" in alice.receive_frame().splitlines()[0]
    relayed = bob.receive_frame()
    assert relayed.startswith("MSRP ") and " SEND\r\n" in relayed
    assert "\r\n\r\nhello\r\n" in relayed
