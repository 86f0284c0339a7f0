from __future__ import annotations

import hashlib

import pytest

from webims.sip import (
    Authorization,
    DigestChallenge,
    DigestClient,
    LocalProtocolError,
    RemoteProtocolError,
    choose_challenge,
    make_challenge,
    verify,
)
from webims.sip import digest

RFC2617_CHALLENGE = (
    'Digest realm="testrealm@host.com", qop="auth,auth-int", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC7616_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={}, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def answer(value: str) -> Authorization:
    return Authorization.parse(value)


def test_rfc2617_md5_auth_known_answer():
    value = DigestClient("Mufasa", "Circle Of Life").authorize(
        DigestChallenge.parse(RFC2617_CHALLENGE), "GET", "/dir/index.html", cnonce="0a4f113b"
    )
    credentials = answer(value)
    assert credentials.param("response") == "6629fae49393a05397450978507c4ef1"
    assert (credentials.param("qop"), credentials.param("nc")) == ("auth", "00000001")
    assert credentials.param("opaque") == "5ccc069c403ebaf9f0171e9517f40e41"
    assert credentials.param("algorithm") is None  # not echoed when the server sent none
    assert "qop=auth, nc=00000001" in value  # tokens, not quoted-strings (RFC 2617 §3.2.2)


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_known_answers(algorithm, response):
    challenge = DigestChallenge.parse(RFC7616_CHALLENGE.format(algorithm))
    value = DigestClient("Mufasa", "Circle of Life").authorize(
        challenge, "GET", "/dir/index.html", cnonce=RFC7616_CNONCE
    )
    assert answer(value).param("response") == response
    assert answer(value).param("algorithm") == algorithm


def h(name: str, text: str) -> str:
    return hashlib.new(name, text.encode()).hexdigest()


def test_sha512_256_with_userhash_follows_rfc7616_formulas():
    # The §3.9.2 example prints values that erratum 4897 reports as wrong, so the expected
    # values are computed here from the §3.4 formulas with hashlib directly.
    challenge = DigestChallenge.parse(
        'Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, '
        'nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", '
        'opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true'
    )
    cnonce = "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v"
    value = DigestClient("Jäsøn Doe", "Secret, or not?").authorize(
        challenge, "GET", "/doe.json", cnonce=cnonce
    )
    ha1 = h("sha512_256", "Jäsøn Doe:api@example.org:Secret, or not?")
    ha2 = h("sha512_256", "GET:/doe.json")
    credentials = answer(value)
    assert credentials.param("username") == h("sha512_256", "Jäsøn Doe:api@example.org")
    assert credentials.param("response") == h(
        "sha512_256", f"{ha1}:{challenge.nonce}:00000001:{cnonce}:auth:{ha2}")
    assert credentials.param("userhash") == "true"


def test_auth_int_hashes_the_body():
    challenge = DigestChallenge.parse('Digest realm="r", nonce="n", qop="auth-int"')
    value = DigestClient("bob", "zanzibar").authorize(
        challenge, "INVITE", "sip:bob@biloxi.com", b"v=0\r\n", cnonce="c"
    )
    ha1, body = h("md5", "bob:r:zanzibar"), h("md5", "v=0\r\n")
    ha2 = h("md5", f"INVITE:sip:bob@biloxi.com:{body}")
    assert answer(value).param("qop") == "auth-int"
    assert answer(value).param("response") == h("md5", f"{ha1}:n:00000001:c:auth-int:{ha2}")
    assert verify(value, method="INVITE", password="zanzibar", body=b"v=0\r\n")
    assert not verify(value, method="INVITE", password="zanzibar", body=b"v=1\r\n")


def test_md5_sess_mixes_nonce_and_cnonce_into_ha1():
    challenge = DigestChallenge.parse('Digest realm="r", nonce="n", qop="auth", algorithm=MD5-sess')
    value = DigestClient("bob", "pw").authorize(challenge, "REGISTER", "sip:r", cnonce="c")
    ha1 = h("md5", f"{h('md5', 'bob:r:pw')}:n:c")
    assert answer(value).param("response") == h(
        "md5", f"{ha1}:n:00000001:c:auth:{h('md5', 'REGISTER:sip:r')}")


def test_challenge_without_qop_gets_an_rfc2069_answer():
    challenge = DigestChallenge.parse('Digest realm="r", nonce="n"')
    value = DigestClient("bob", "pw").authorize(challenge, "REGISTER", "sip:r")
    ha1, ha2 = h("md5", "bob:r:pw"), h("md5", "REGISTER:sip:r")
    assert answer(value).param("response") == h("md5", f"{ha1}:n:{ha2}")
    assert answer(value).param("nc") is None and answer(value).param("cnonce") is None


def test_nonce_count_increments_per_nonce_and_restarts_for_a_new_one():
    client = DigestClient("bob", "pw")
    first = DigestChallenge.parse('Digest realm="r", nonce="n1", qop="auth"')
    second = DigestChallenge.parse('Digest realm="r", nonce="n2", qop="auth"')
    counts = [answer(client.authorize(c, "REGISTER", "sip:r")).param("nc")
              for c in (first, first, first, second, first)]
    assert counts == ["00000001", "00000002", "00000003", "00000001", "00000004"]


def test_client_remembers_only_recent_nonces():
    client = DigestClient("bob", "pw")
    for n in range(100):
        client.authorize(DigestChallenge.parse(f'Digest realm="r", nonce="{n}", qop="auth"'),
                         "REGISTER", "sip:r")
    assert len(client._nonce_counts) <= DigestClient._MAX_NONCES


def test_stale_is_visible_so_a_ua_can_retry_silently():
    assert DigestChallenge.parse('Digest realm="r", nonce="n", stale=TRUE').stale
    assert not DigestChallenge.parse('Digest realm="r", nonce="n", stale=false').stale
    assert DigestChallenge.parse(make_challenge("r", stale=True)).stale


def test_proxy_challenges_are_answered_in_proxy_authorization():
    challenge = DigestChallenge.parse('Digest realm="r", nonce="n"', proxy=True)
    assert challenge.response_header == "Proxy-Authorization"
    assert DigestChallenge.parse('Digest realm="r", nonce="n"').response_header == "Authorization"


def test_choose_challenge_prefers_the_strongest_supported_algorithm():
    challenges = [
        DigestChallenge.parse(f'Digest realm="r", nonce="{a}", algorithm={a}')
        for a in ("MD5", "AKAv1-MD5", "SHA-256", "SHA-512-256")
    ]
    assert choose_challenge(challenges).algorithm == "SHA-512-256"
    assert choose_challenge(challenges[:3]).algorithm == "SHA-256"
    assert choose_challenge([challenges[1]]) is None


def test_without_sha512_256_in_openssl_the_algorithm_is_skipped(monkeypatch):
    weaker = tuple(a for a in digest.SUPPORTED_ALGORITHMS if not a.startswith("SHA-512"))
    monkeypatch.setattr(digest, "SUPPORTED_ALGORITHMS", weaker)
    sha512 = DigestChallenge.parse('Digest realm="r", nonce="n", algorithm=SHA-512-256')
    md5 = DigestChallenge.parse('Digest realm="r", nonce="n", algorithm=MD5')
    assert not sha512.is_supported
    assert choose_challenge([sha512, md5]) is md5
    with pytest.raises(LocalProtocolError, match="not supported"):
        DigestClient("bob", "pw").authorize(sha512, "REGISTER", "sip:r")


def test_hashlib_here_provides_sha512_256():
    assert "SHA-512-256" in digest.SUPPORTED_ALGORITHMS


def test_make_challenge_and_verify_let_a_test_peer_authenticate_a_client():
    challenge = DigestChallenge.parse(make_challenge("ims.example.net", algorithm="SHA-256",
                                                     opaque="o"))
    value = DigestClient("alice", "secret").authorize(challenge, "REGISTER", "sip:ims.example.net")
    assert verify(value, method="REGISTER", password="secret")
    assert not verify(value, method="REGISTER", password="wrong")
    assert not verify(value, method="INVITE", password="secret")
    assert not verify('Basic realm="x"', method="REGISTER", password="secret")


def test_unoffered_qop_and_unusable_challenges_are_refused():
    auth_only = DigestChallenge.parse('Digest realm="r", nonce="n", qop="auth"')
    with pytest.raises(LocalProtocolError):
        DigestClient("bob", "pw").authorize(auth_only, "REGISTER", "sip:r", qop="auth-int")
    with pytest.raises(LocalProtocolError):
        DigestClient("bob", "pw").authorize(
            DigestChallenge.parse('Digest realm="r", nonce="n", qop="auth-conf"'),
            "REGISTER", "sip:r")
    with pytest.raises(RemoteProtocolError):
        DigestChallenge.parse('Basic realm="r"')
    with pytest.raises(RemoteProtocolError):
        DigestChallenge.parse('Digest realm="r"')
