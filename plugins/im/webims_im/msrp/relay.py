"""Authenticating to an MSRP relay (RFC 4976 §5): AUTH, a digest challenge, AUTH again, then Use-Path.

Sans-IO: :class:`RelayAuthorization` builds the AUTH requests and reads the responses; the owner writes and
reads them on the connection to the relay. The digest is HTTP digest over the method ``AUTH`` and, as the lab's
Kamailio checks it, the relay's URI as ``uri`` (webims.sip's digest client computes it).
"""

from __future__ import annotations

import attrs

from webims.sip import DigestChallenge, DigestClient
from webims.sip import RemoteProtocolError as SipProtocolError
from webims_im.msrp import frames
from webims_im.msrp.errors import RemoteProtocolError
from webims_im.msrp.frames import Request, Response
from webims_im.msrp.uri import MsrpUri, parse_path

MAX_CHALLENGES = 2  # a wrong password must not loop


class RelayRefused(Exception):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@attrs.frozen
class Granted:
    """What the relay granted: the path to put before our URI in ``a=path``, and for how long (s)."""

    use_path: tuple[MsrpUri, ...]
    expires: int | None


class RelayAuthorization:
    def __init__(self, relay: MsrpUri, local: MsrpUri, username: str, password: str):
        self.relay = relay
        self.local = local
        self._digest = DigestClient(username, password)
        self._challenges = 0

    def first_request(self) -> Request:
        return frames.request("AUTH", (self.relay,), (self.local,))

    def receive(self, response: Response) -> Request | Granted:
        """The next AUTH to send (answering a challenge), or the grant; :class:`RelayRefused` otherwise."""
        if response.status == 200:
            try:
                use_path = parse_path(response.header("Use-Path"))
            except RemoteProtocolError as error:
                raise RelayRefused(f"the relay granted no usable Use-Path ({error.reason})") from None
            expires = response.header("Expires")
            return Granted(use_path, int(expires) if expires and expires.isdecimal() else None)
        if response.status != 401:
            raise RelayRefused(f"the relay refused ({response.status} {response.comment})")
        self._challenges += 1
        if self._challenges > MAX_CHALLENGES:
            raise RelayRefused("the relay did not accept the subscriber's credentials")
        try:
            challenge = DigestChallenge.parse(response.header("WWW-Authenticate") or "")
            authorization = self._digest.authorize(challenge, "AUTH", str(self.relay))
        except SipProtocolError as error:
            raise RelayRefused(f"the relay's challenge is unusable ({error.reason})") from None
        return frames.request("AUTH", (self.relay,), (self.local,), [("Authorization", authorization)])
