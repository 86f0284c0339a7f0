"""A small in-process IMS core for plugin tests: a registrar with digest, the reg event, and a switch to go dark.

It is not the lab (``webims lab`` runs Kamailio, a real IMS core nobody here wrote); it is the quick, fully
scriptable stand-in a plugin author uses to test her plugin in isolation:

    ims = await fake_ims({"mary": FakeAccount("secret", ["sip:mary@ims.test", "tel:+15550100"])})
    gateway = await webims_gateway({"auth": True}, ims={"proxy": ims.uri})

Every request it received is in ``ims.requests``; anything it does not handle itself is queued for the test
(``await ims.expect("INVITE")``).
"""

from __future__ import annotations

import attrs
import trio

from webims.ims.endpoint import ServerTransaction
from webims.sip import Authorization, Request, make_challenge, new_tag, verify
from webims.testing.sip_peer import SipPeer

REALM = "ims.test"


@attrs.frozen
class FakeAccount:
    password: str
    identities: tuple[str, ...] = attrs.field(converter=tuple)


@attrs.define
class Binding:
    contact: str
    expires: int
    source: object


class FakeIms(SipPeer):
    def __init__(self, accounts: dict[str, FakeAccount]):
        super().__init__()
        self.accounts = accounts
        self.requests: list[Request] = []
        self.bindings: dict[str, Binding] = {}  # private identity -> binding
        self.reg_subscribers: dict[str, tuple[Request, str]] = {}  # private identity -> (SUBSCRIBE, our tag)
        self.dark = False
        self.min_expires = 0

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.address.port}"

    def registers(self) -> list[Request]:
        return [request for request in self.requests if request.method == "REGISTER"]

    async def _on_request(self, transaction: ServerTransaction) -> None:
        request = transaction.request
        self.requests.append(request)
        if self.dark:
            await trio.sleep_forever()  # nobody home: the client's transaction times out
        handler = {"REGISTER": self._register, "OPTIONS": self._options, "SUBSCRIBE": self._subscribe}.get(
            request.method)
        if handler is None:
            await super()._on_request(transaction)  # queued for the test: ``await ims.expect("INVITE")``
        else:
            await handler(transaction)

    async def _options(self, transaction: ServerTransaction) -> None:
        await transaction.reply(200)

    def _authenticated(self, request: Request) -> str | None:
        credentials = request.headers.get("Authorization")
        if credentials is None:
            return None
        username = Authorization.parse(credentials).param("username")
        account = self.accounts.get(username or "")
        if account and verify(credentials, method=request.method, password=account.password):
            return username
        return ""

    async def _register(self, transaction: ServerTransaction) -> None:
        request = transaction.request
        username = self._authenticated(request)
        if username is None:
            await transaction.reply(401, headers=[("WWW-Authenticate", make_challenge(REALM, algorithm="MD5"))])
            return
        if not username:
            await transaction.reply(403, "Authentication failed")
            return
        if self._owner_of(str(request.to.uri)) != username:  # as an S-CSCF checks the IMPU against the IMPI
            await transaction.reply(403, "Public identity not of this subscription")
            return
        expires = request.expires if request.expires is not None else 600
        if 0 < expires < self.min_expires:
            await transaction.reply(423, headers=[("Min-Expires", str(self.min_expires))])
            return
        contact = request.headers.get("Contact") or ""
        if expires == 0:
            self.bindings.pop(username, None)
            await transaction.reply(200)
            return
        self.bindings[username] = Binding(contact, expires, transaction.source)
        account = self.accounts[username]
        associated = ", ".join(f"<{identity}>" for identity in account.identities)
        await transaction.reply(200, headers=[
            ("Contact", f"{contact.split(';expires=')[0]};expires={expires}"),
            ("P-Associated-URI", associated),
            ("Service-Route", f"<{self.uri};lr>"),
        ])

    async def _subscribe(self, transaction: ServerTransaction) -> None:
        request = transaction.request
        username = self._owner_of(str(request.from_.uri))
        if username is None:
            await transaction.reply(403, "Not your registration")
            return
        tag = new_tag()
        await transaction.reply(200, to_tag=tag, headers=[("Contact", f"<{self.uri}>"),
                                                          ("Expires", str(request.expires or 600))])
        if request.expires != 0:
            self.reg_subscribers[username] = (request, tag)

    def _owner_of(self, identity: str) -> str | None:
        for username, account in self.accounts.items():
            if identity in account.identities or identity == f"sip:{username}@{REALM}":
                return username
        return None

    async def deregister(self, username: str, event: str = "deactivated") -> int:
        """Network-initiated de-registration: drop the binding and NOTIFY the reg event subscriber."""
        binding = self.bindings.pop(username)
        body = _reginfo(1, "full", self.accounts[username].identities[0], "terminated", event, binding)
        return await self._notify_reg(username, binding, body, "terminated;reason=deactivated")

    async def add_identity(self, username: str, identity: str, *, grant: bool = True) -> int:
        """The operator adds ``identity`` to the subscriber's implicit set: a partial reginfo NOTIFY says it is
        registered with her contact (TS 24.229 §5.1.1.3), as an S-CSCF does. ``grant=False``: the NOTIFY alone,
        the registrar's P-Associated-URI unchanged (a forged or mistaken NOTIFY)."""
        binding = self.bindings[username]
        if grant:
            self.accounts[username] = attrs.evolve(self.accounts[username],
                                                   identities=(*self.accounts[username].identities, identity))
        body = _reginfo(2, "partial", identity, "active", "created", binding)
        return await self._notify_reg(username, binding, body, "active;expires=600")

    def request_to(self, username: str, method: str, *, from_uri: str, to_uri: str, **build):
        """``(agent, request)``: a request of ``method`` from ``from_uri`` straight to the contact ``username``
        registered, as the core would deliver one to her (``build``: the rest of ``UserAgent.build_request``)."""
        binding = self.bindings[username]
        agent = self.agent(binding.source)
        target = binding.contact.split(">")[0].lstrip("<")
        return agent, agent.build_request(method, target, from_uri=from_uri, to_uri=to_uri, route=(), **build)

    async def remove_identity(self, username: str, identity: str, event: str = "rejected") -> int:
        """The operator takes ``identity`` out of the subscriber's implicit set: it leaves the registrar's
        P-Associated-URI, and a partial reginfo NOTIFY says its registration with her contact ended."""
        binding = self.bindings[username]
        account = self.accounts[username]
        kept = tuple(i for i in account.identities if i != identity)
        self.accounts[username] = attrs.evolve(account, identities=kept)
        body = _reginfo(3, "partial", identity, "terminated", event, binding)
        return await self._notify_reg(username, binding, body, "active;expires=600")

    async def _notify_reg(self, username: str, binding: Binding, body: bytes, subscription_state: str) -> int:
        subscribe, tag = self.reg_subscribers[username]
        agent = self.agent(binding.source)
        notify = agent.build_request(
            "NOTIFY", str(subscribe.contacts[0].uri), from_uri=str(subscribe.to.uri), to_uri=str(subscribe.from_.uri),
            call_id=subscribe.call_id, from_tag=tag, route=(), body=body, content_type="application/reginfo+xml",
            headers=[("Event", "reg"), ("Subscription-State", subscription_state)])
        fields = notify.headers.copy()
        fields.set("To", f"<{subscribe.from_.uri}>;tag={subscribe.from_tag}")
        notify = Request("NOTIFY", notify.uri, fields, body)
        return (await agent.send(notify, authenticate=False)).status


def _reginfo(version: int, document: str, aor: str, state: str, event: str, binding: Binding) -> bytes:
    """A reginfo document (RFC 3680) about one registration of ``aor`` holding ``binding``'s contact."""
    contact_uri = binding.contact.split(">")[0].lstrip("<")
    return (f'<?xml version="1.0"?><reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="{version}" '
            f'state="{document}"><registration aor="{aor}" id="a{version}" state="{state}">'
            f'<contact id="c{version}" state="{state}" event="{event}"><uri>{contact_uri}</uri></contact>'
            f'</registration></reginfo>').encode()
