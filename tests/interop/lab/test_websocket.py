"""SIP over WebSocket (RFC 7118) at the lab, for browser reference peers such as JsSIP."""

import base64
import hashlib
import os
import socket
import struct

import pytest

from webims.testing.peers import LabCore

pytestmark = pytest.mark.interop

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@pytest.fixture
def websocket_lab(tmp_path):
    lab = LabCore.start(tmp_path / "lab", websocket=True)
    yield lab
    lab.stop()


def open_sip_websocket(port: int) -> tuple[socket.socket, str]:
    """Upgrade a TCP connection to a `sip` WebSocket; the connection and the 101 response."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=3)
    key = base64.b64encode(os.urandom(16)).decode()
    connection.sendall((
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
    ).encode())
    response = connection.recv(4096).decode()
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    assert f"Sec-WebSocket-Accept: {accept}" in response
    return connection, response


def send_text(connection: socket.socket, text: str) -> None:
    payload, mask = text.encode(), os.urandom(4)
    # A client masks its frames; the length takes the shortest form that fits (RFC 6455 5.2).
    if len(payload) < 126:
        header = struct.pack("!BB", 0x81, 0x80 | len(payload))
    else:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, len(payload))
    connection.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def receive_text(connection: socket.socket) -> str:
    _opcode, length = connection.recv(2)
    length &= 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", connection.recv(2))
    data = b""
    while len(data) < length:
        data += connection.recv(length - len(data))
    return data.decode()


def test_a_websocket_client_upgrades_and_is_challenged_over_its_connection(websocket_lab):
    connection, handshake = open_sip_websocket(websocket_lab.websocket_port)
    assert handshake.startswith("HTTP/1.1 101 ")
    assert "Sec-WebSocket-Protocol: sip" in handshake

    send_text(connection, (
        "REGISTER sip:ims.test SIP/2.0\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws1\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:bob@ims.test>;tag=ws1\r\nTo: <sip:bob@ims.test>\r\n"
        "Call-ID: ws-register-1\r\nCSeq: 1 REGISTER\r\nContact: <sip:bob@df7jal23ls0d.invalid;transport=ws>\r\n"
        "Expires: 60\r\nContent-Length: 0\r\n\r\n"
    ))

    challenge = receive_text(connection)
    assert challenge.startswith("SIP/2.0 401 ")
    assert 'WWW-Authenticate: Digest realm="ims.test"' in challenge
    connection.close()
