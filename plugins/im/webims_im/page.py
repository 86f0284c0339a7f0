"""Page-mode messages (RFC 3428) on SIP: the MESSAGE we send, and who an incoming one is from and for.

Thin: building and sending requests through her user agent, and reading the IMS headers that say who is who
(P-Asserted-Identity from the network, RFC 3325; P-Called-Party-ID, RFC 3455, for which of her identities
was written to). What the body means is :mod:`webims_im.content`'s job.
"""

from __future__ import annotations

from webims.context import RegistrationContext
from webims.sip import NameAddr, RemoteProtocolError, Request, Response
from webims_im import content


async def send(context: RegistrationContext, *, identity: str, target: str, content_type: str,
               body: bytes) -> Response:
    """Send one MESSAGE as ``identity`` (already checked with ``require_identity``) and return the final
    response; the IMS core asserts the identity we prefer when it is of her set (TS 24.229 §5.4.3.2)."""
    agent = context.user_agent
    request = agent.build_request("MESSAGE", target, from_uri=identity,
                                  headers=[("P-Preferred-Identity", f"<{identity}>")], body=body,
                                  content_type=content_type)
    return await agent.send(request)


def sender(request: Request) -> tuple[str, str]:
    """(URI, display name) of who sent it: the network-asserted identity first, From otherwise; a withheld
    identity (RFC 3323 ``Privacy: id``) stays withheld."""
    if "id" in [part.strip() for part in (request.headers.get("Privacy") or "").split(";")]:
        return "anonymous", "Withheld"
    asserted = _addresses(request, "P-Asserted-Identity")
    # A network may assert a sip: and a tel: identity; the sip: one names the person's usual address.
    chosen = next((a for a in asserted if str(a.uri).startswith("sip")), asserted[0] if asserted else None)
    chosen = chosen or request.from_
    return str(chosen.uri), chosen.display_name or ""


def called_identity(request: Request, context: RegistrationContext) -> str:
    """Which of her identities it was sent to: P-Called-Party-ID, else To if it is hers, else her default."""
    mine = {identity.uri for identity in context.public_identities}
    for candidate in [*_addresses(request, "P-Called-Party-ID"), request.to]:
        if str(candidate.uri) in mine:
            return str(candidate.uri)
    return context.default_identity.uri if context.default_identity else str(request.to.uri)


def refusal_headers(status: int, reason: str) -> list[tuple[str, str]]:
    """Warning (RFC 3261 §20.43) with our reason; on 415 also Accept, so the sender can retry (RFC 3428 §7)."""
    headers = [("Warning", f'399 webims "{reason.replace(chr(34), chr(39))[:150]}"')]
    if status == 415:
        headers.append(("Accept", ", ".join(content.ACCEPTED)))
    return headers


def _addresses(request: Request, header: str) -> list[NameAddr]:
    try:
        return request.name_addrs(header)
    except RemoteProtocolError:
        return []
