"""SIP over TLS and TCP flows: a self-signed certificate on loopback, and a dropped connection re-opened."""

import datetime
import ssl

import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webims.ims.agent import Credentials, UserAgent
from webims.ims.endpoint import SipEndpoint
from webims.ims.transport import Address, Transports


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


async def answer_ok(transaction):
    await transaction.reply(200)


async def endpoint(nursery, **tls):
    transports = await nursery.start(Transports("127.0.0.1", 0, **tls).serve)
    return await nursery.start(SipEndpoint(transports, answer_ok).run)


async def test_a_request_over_tls_is_answered(nursery, certificate):
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    server = await endpoint(nursery, tls_server=server_context)
    client = await endpoint(nursery, tls_client=client_context)
    agent = UserAgent(client, Address("localhost", server.transports.local("TLS").port, "TLS"), "ims.test",
                      Credentials("mary", "x"))
    response = await agent.send(agent.build_request("OPTIONS", "sips:ims.test", from_uri="sip:mary@ims.test"))
    assert response.status == 200


async def test_a_dropped_tcp_flow_is_reopened_for_the_next_request(nursery):
    server = await endpoint(nursery)
    client = await endpoint(nursery)
    agent = UserAgent(client, Address("127.0.0.1", server.transports.local("TCP").port, "TCP"), "ims.test",
                      Credentials("mary", "x"))
    options = lambda: agent.build_request("OPTIONS", "sip:ims.test", from_uri="sip:mary@ims.test")  # noqa: E731
    assert (await agent.send(options())).status == 200
    for connection in list(client.transports._connections.values()):
        await connection.stream.aclose()
    await trio.sleep(0.05)
    assert (await agent.send(options())).status == 200
