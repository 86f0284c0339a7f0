"""The gateway's SIP side: one endpoint toward the IMS, and routing of what the IMS sends us.

An incoming request is routed twice. First to a subscriber: the Request-URI's user part is the contact user of
one registration context's user agent (every registration has its own). Then to a service: a request inside a
dialog goes to the service that claimed that dialog (a BYE for a call to voice, one for a chat to im); any other
goes to the service whose declared :class:`~webims.service.SipRoute` fits it best.
"""

from __future__ import annotations

import inspect
import re
import socket
from typing import TYPE_CHECKING

from webims import log
from webims.ims.agent import stable_instance_id
from webims.ims.endpoint import ServerTransaction, SipEndpoint
from webims.ims.transport import Address, Received, Transports
from webims.sip import EventHeader, RemoteProtocolError, SipUri, parse_uri

if TYPE_CHECKING:
    from webims.gateway.server import Gateway

_log = log.get("sip.routing")


def proxy_address(uri: str) -> Address:
    """Where to send to reach the IMS core named by a ``sip:host:port;transport=x`` URI (no DNS NAPTR/SRV)."""
    parsed = parse_uri(uri)
    if not isinstance(parsed, SipUri):
        raise ValueError(f"{uri} is not a sip: URI")
    transport = (parsed.param("transport") or ("tls" if parsed.scheme == "sips" else "udp")).upper()
    default_port = 5061 if transport == "TLS" else 5060
    return Address(parsed.host.strip("[]"), parsed.port or default_port, transport)


class GatewaySip:
    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self.endpoint: SipEndpoint | None = None
        self.proxy = proxy_address(gateway.config.ims.proxy)

    async def start(self, nursery) -> None:
        host, port = self.gateway.config.ims.listen
        transports = await nursery.start(Transports(host, port).serve)
        self.endpoint = await nursery.start(SipEndpoint(transports, self._on_request, self._on_stray).run)
        _log.info("sip.listening", udp=str(transports.local("UDP")), tcp=str(transports.local("TCP")),
                  proxy=str(self.proxy))

    def instance_id(self, private_identity: str) -> str:
        """The RFC 5626 instance id of ``private_identity``'s registrations from this gateway (the same after a
        restart: [ims] instance, else this host and the portal's address)."""
        device = self.gateway.config.ims.instance or f"{socket.gethostname()} {self.gateway.url}"
        return stable_instance_id(device, private_identity)

    async def _on_request(self, transaction: ServerTransaction) -> None:
        request = transaction.request
        user = request.uri.user if isinstance(request.uri, SipUri) else None
        context = self.gateway.contexts.for_contact_user(user) if user else None
        if context is None:
            await transaction.reply(404, "Not Found (no registration here for this address)")
            return
        service = self._owner(context, request)
        if service is None:
            allow = ("Allow", ", ".join(self.gateway.plugins.methods))
            if request.method == "OPTIONS" and request.to_tag is None:
                await transaction.reply(200, headers=[allow, *self._capabilities(context)])
            else:
                await transaction.reply(405, headers=[allow])
            return
        result = self.gateway.plugins.call_owner(service, "webims_handle_sip_request", request=request,
                                                 context=context, transaction=transaction)
        if inspect.isawaitable(result):
            await result
        if not transaction.answered:
            _log.error("sip.unanswered", service=service, method=request.method, call_id=request.call_id)
            await transaction.reply(500, headers=[("Warning", f'399 webims "{service} did not answer"')])

    def _capabilities(self, context) -> list[tuple[str, str]]:
        """What an OPTIONS for her is answered with (RFC 3261 §11.2, RFC 3840 §6): her Contact with the enabled
        services' feature tags, and the content types they take."""
        headers = []
        if context.user_agent is not None:
            headers.append(("Contact", context.user_agent.dialog_contact()))
        accept = self.gateway.plugins.capabilities.accept
        if accept:
            headers.append(("Accept", ", ".join(accept)))
        return headers

    def _owner(self, context, request) -> str | None:
        if request.to_tag is not None:
            claim = context.dialog_claim(request.call_id, request.to_tag)
            if claim is not None:
                return claim.service
        event = None
        if "Event" in request.headers:
            try:
                event = EventHeader.parse(request.headers.get("Event")).package
            except RemoteProtocolError:
                event = None
        return self.gateway.plugins.sip_route_owner(request.method, event, request.media_type, _offered_media(request))

    async def _on_stray(self, received: Received) -> None:
        """An ACK for our 2xx, or a 2xx retransmitted for our INVITE: it belongs to the dialog's owner."""
        message = received.message
        if hasattr(message, "method"):  # ACK: we are the UAS, our tag is the To tag
            user = message.uri.user if isinstance(message.uri, SipUri) else None
            contexts = [self.gateway.contexts.for_contact_user(user)] if user else []
            local_tag = message.to_tag
        else:  # a response: we are the UAC, our tag is the From tag
            contexts = list(self.gateway.contexts)
            local_tag = message.from_tag
        for context in contexts:
            claim = context.dialog_claim(message.call_id, local_tag) if context and local_tag else None
            if claim is not None and claim.on_stray is not None:
                await claim.on_stray(received)
                return


_MEDIA_LINE = re.compile(rb"^m=([a-z]+) ", re.MULTILINE)


def _offered_media(request) -> frozenset[str]:
    """The media types an SDP body offers (``{"audio", "video"}``), for routing INVITEs to services."""
    if request.media_type != "application/sdp":
        return frozenset()
    return frozenset(match.decode() for match in _MEDIA_LINE.findall(request.body))
