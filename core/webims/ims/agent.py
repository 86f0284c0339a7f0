"""A subscriber's SIP user agent: builds her requests, answers digest challenges, follows her route set.

One per registration context. Every plugin sends through it, so identity (P-Preferred-Identity from her own
implicit set only), authentication and routing (the Service-Route learnt at registration, RFC 3608) are done
the same way for calls, messages and subscriptions.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable

import attrs

from webims.ims.endpoint import ClientTransaction, SipEndpoint
from webims.ims.transport import Address
from webims.sip import (
    DigestClient,
    NameAddr,
    Request,
    RemoteProtocolError,
    Response,
    choose_challenge,
    new_branch,
    new_call_id,
    new_tag,
    parse_uri,
)
from webims.sip.digest import DigestChallenge
from webims.sip.feature_tags import contact_parameters
from webims.sip.headers import Headers

MAX_FORWARDS = "70"
USER_AGENT = "webims"
# A request is retried after a challenge at most this often: a wrong password must not loop.
MAX_AUTH_ATTEMPTS = 2


@attrs.frozen
class Credentials:
    """Operator credentials of one private identity. Kept in memory only, for digest re-authentication."""

    username: str
    password: str = attrs.field(repr=False)
    realm: str = ""


_INSTANCE_NAMESPACE = uuid.UUID("5b0e2f4c-8d1a-4c53-9a67-3c1f0e9d7a21")  # webims's own, for uuid5 below


def stable_instance_id(device: str, private_identity: str) -> str:
    """RFC 5626 §4.1: a UA's instance id stays the same across restarts. Ours is one per subscriber on one gateway
    (``device`` names the gateway), so after a crash her new registration replaces the binding the old one left,
    rather than adding a second, dead contact that calls would fork to."""
    name = "\n".join((device, private_identity))  # neither holds a line break
    return f"urn:uuid:{uuid.uuid5(_INSTANCE_NAMESPACE, name)}"


class UserAgent:
    def __init__(self, endpoint: SipEndpoint, proxy: Address, domain: str, credentials: Credentials,
                 *, contact_user: str | None = None, instance_id: str | None = None, feature_tags=()):
        self.endpoint = endpoint
        self.proxy = proxy
        self.domain = domain
        self.credentials = credentials
        self.contact_user = contact_user or uuid.uuid4().hex[:16]
        self.instance_id = instance_id or f"urn:uuid:{uuid.uuid4()}"
        # RFC 3840: what the enabled services let her receive (webims.service.FeatureTag), in every Contact
        # that describes her: REGISTER, and the dialogs she sets up or answers (dialog_contact).
        self.feature_parameters = contact_parameters(feature_tags)
        # RFC 3608: after registration, requests are pre-loaded with the Service-Route the registrar gave.
        self.service_route: tuple[NameAddr, ...] = ()
        self._digest = DigestClient(credentials.username, credentials.password)
        self._cseq = itertools.count(1)

    @property
    def transport(self) -> str:
        return self.proxy.transport

    def contact_uri(self) -> str:
        local = self.endpoint.transports.local(self.transport)
        transport = "" if self.transport == "UDP" else f";transport={self.transport.lower()}"
        return f"sip:{self.contact_user}@{local.host}:{local.port}{transport}"

    def contact(self, *, reg_id: int | None = None, expires: int | None = None) -> str:
        """Our REGISTER Contact: feature tags, the RFC 5626 instance id (and reg-id when registering an outbound
        flow)."""
        value = f'<{self.contact_uri()}>{self.feature_parameters};+sip.instance="<{self.instance_id}>"'
        if reg_id is not None:
            value += f";reg-id={reg_id}"
        if expires is not None:
            value += f";expires={expires}"
        return value

    def dialog_contact(self) -> str:
        """The Contact of a dialog-creating request or response of hers (an INVITE, its 18x and 200), with her
        feature tags (TS 24.229 §5.1.2A.1.1, TS 24.173 §5.2)."""
        return f"<{self.contact_uri()}>{self.feature_parameters}"

    def via(self) -> str:
        local = self.endpoint.transports.local(self.transport)
        return f"SIP/2.0/{self.transport} {local.host}:{local.port};rport;branch={new_branch()}"

    def build_request(self, method: str, target: str, *, from_uri: str, to_uri: str | None = None,
                      headers: Iterable[tuple[str, str]] = (), body: bytes = b"", content_type: str | None = None,
                      call_id: str | None = None, from_tag: str | None = None, cseq: int | None = None,
                      route: Iterable[NameAddr] | None = None) -> Request:
        """An out-of-dialog request from ``from_uri`` (callers check it is hers: ``context.require_identity``)."""
        fields = Headers([
            ("Via", self.via()),
            ("Max-Forwards", MAX_FORWARDS),
            ("From", f"<{from_uri}>;tag={from_tag or new_tag()}"),
            ("To", f"<{to_uri or target}>"),
            ("Call-ID", call_id or new_call_id()),
            ("CSeq", f"{cseq if cseq is not None else next(self._cseq)} {method}"),
        ])
        for hop in (self.service_route if route is None else route):
            fields.add("Route", str(hop))
        fields.add("User-Agent", USER_AGENT)
        for name, value in headers:
            fields.add(name, value)
        if content_type is not None:
            fields.add("Content-Type", content_type)
        return Request(method, parse_uri(target), fields, body)

    def with_via(self, request: Request) -> Request:
        """``request`` (built by a Dialog, which leaves the Via to the transport) with our Via on top."""
        fields = request.headers.copy()
        fields.insert("Via", self.via())
        return Request(request.method, request.uri, fields, request.body)

    async def send(self, request: Request, *, on_provisional: Callable[[Response], None] | None = None,
                   destination: Address | None = None, authenticate: bool = True) -> Response:
        """Send and return the final response, answering 401/407 challenges with the subscriber's credentials.

        A challenge with ``stale=true`` is answered again without counting as a failure (RFC 7616 §3.3): the
        nonce expired, the password was right. In-dialog requests pass ``authenticate=False``: their CSeq
        belongs to the dialog, and the IMS core trusts the flow the dialog was set up on.
        """
        attempts = 0
        while True:
            transaction = await self.start(request, destination=destination)
            response = await transaction.final_response(on_provisional)
            if response.status not in (401, 407) or not authenticate:
                return response
            challenge = self._pick_challenge(response)
            if challenge is None:
                return response
            if not challenge.stale:
                attempts += 1
                if attempts >= MAX_AUTH_ATTEMPTS:
                    return response
            request = self._authorized(request, response.status, challenge)

    async def start(self, request: Request, *, destination: Address | None = None) -> ClientTransaction:
        """Start a client transaction for ``request`` (no auth handling): for INVITEs the caller follows it."""
        return await self.endpoint.request(request, destination or self.proxy)

    def authorized(self, request: Request, response: Response) -> Request | None:
        """``request`` again with credentials answering ``response``'s 401/407 challenge (None if unusable).

        For callers that follow a transaction themselves (an INVITE's provisional responses) instead of
        :meth:`send`.
        """
        challenge = self._pick_challenge(response)
        return None if challenge is None else self._authorized(request, response.status, challenge)

    def _pick_challenge(self, response: Response) -> DigestChallenge | None:
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenges = []
        for value in response.headers.get_all(header):
            try:
                challenges.append(DigestChallenge.parse(value, proxy=response.status == 407))
            except RemoteProtocolError:  # one unreadable challenge must not hide a usable one
                continue
        return choose_challenge(challenges) if challenges else None

    def _authorized(self, request: Request, status: int, challenge: DigestChallenge) -> Request:
        """The same request with credentials, a new branch and the next CSeq (RFC 3261 §22.2)."""
        header = "Authorization" if status == 401 else "Proxy-Authorization"
        fields = request.headers.copy()
        fields.remove(header)
        fields.set("Via", self.via())
        fields.set("CSeq", f"{next(self._cseq)} {request.method}")
        fields.add(header, self._digest.authorize(challenge, request.method, str(request.uri), request.body))
        return Request(request.method, request.uri, fields, request.body)
