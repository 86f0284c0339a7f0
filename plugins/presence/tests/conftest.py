"""A fake IMS core that hands presence requests to the test, and helpers to play the presence server."""

from __future__ import annotations

import itertools

import h11
import pytest
import trio

from webims.sip import EventHeader, Request, make_challenge, new_tag, verify
from webims.testing.fake_ims import FakeAccount, FakeIms
from webims.testing.sip_peer import SipPeer

MARY = FakeAccount("secret", ["sip:mary@ims.test", "tel:+15550100", "sip:mary.work@ims.test"])
AUTH = {"keepalive_interval": 30, "grace_seconds": 30, "shutdown_seconds": 0.3}


class PresenceIms(FakeIms):
    """FakeIms answers every SUBSCRIBE as if it were for the reg event; presence ones go to the test instead."""

    async def _on_request(self, transaction) -> None:
        request = transaction.request
        if request.method == "SUBSCRIBE" and _event(request) != "reg":
            self.requests.append(request)
            await SipPeer._on_request(self, transaction)
            return
        await super()._on_request(transaction)

    async def next(self, method: str, event: str | None = None, *, timeout: float = 5):
        """The next request of ``method`` (and event package); others met on the way wait in ``held``."""
        self.held = getattr(self, "held", [])
        for index, incoming in enumerate(self.held):
            if _fits(incoming.request, method, event):
                return self.held.pop(index)
        with trio.fail_after(timeout):
            while True:
                incoming = await self.expect(None, timeout=timeout)
                if _fits(incoming.request, method, event):
                    return incoming
                self.held.append(incoming)


def _event(request: Request) -> str | None:
    value = request.headers.get("Event")
    return EventHeader.parse(value).package if value else None


def _fits(request: Request, method: str, event: str | None) -> bool:
    return request.method == method and (event is None or _event(request) == event)


class Notifier:
    """The presence server's side of one subscription: accept the SUBSCRIBE, NOTIFY in its dialog."""

    def __init__(self, ims: PresenceIms, transaction):
        self.ims = ims
        self.subscribe = transaction.request
        self.transaction = transaction
        self.tag = new_tag()
        self.cseq = 0
        self.agent = ims.agent(transaction.source)

    async def accept(self, expires: int = 600) -> Notifier:
        await self.transaction.reply(200, to_tag=self.tag, headers=[("Contact", f"<{self.ims.uri}>"),
                                                                   ("Expires", str(expires))])
        return self

    async def notify(self, body: bytes = b"", content_type: str | None = None, state: str = "active;expires=600",
                     event: str | None = None) -> int:
        self.cseq += 1
        subscribe = self.subscribe
        request = self.agent.build_request(
            "NOTIFY", str(subscribe.contacts[0].uri), from_uri=str(subscribe.to.uri),
            to_uri=str(subscribe.from_.uri), call_id=subscribe.call_id, from_tag=self.tag, cseq=self.cseq,
            route=(), body=body, content_type=content_type,
            headers=[("Event", event or _event(subscribe)), ("Subscription-State", state)])
        fields = request.headers.copy()
        fields.set("To", f"<{subscribe.from_.uri}>;tag={subscribe.from_tag}")
        response = await self.agent.send(Request("NOTIFY", request.uri, fields, body), authenticate=False)
        self.last_response = response
        return response.status


@pytest.fixture
async def ims(nursery):
    return await PresenceIms({"mary": MARY}).start(nursery)


@pytest.fixture
def start_gateway(webims_gateway, ims, tmp_path):
    """``await start_gateway(**presence_settings)``: auth and presence against the fake IMS core."""
    async def start(**presence):
        settings = {"store_path": str(tmp_path / "presence.sqlite"), "shutdown_seconds": 0.2, **presence}
        return await webims_gateway({"auth": True, "presence": True}, ims={"proxy": ims.uri},
                                    settings={"auth": AUTH, "presence": settings})
    return start


@pytest.fixture
async def gateway(start_gateway):
    return await start_gateway()


@pytest.fixture
def logged_in(webims_browser, ims):
    """``await logged_in(gateway)``: a tab of Mary's, her first PUBLISH answered (SIP-ETag e1) and her
    watcherinfo subscription accepted; returns (tab, that PUBLISH, the watcherinfo Notifier)."""
    async def login(gateway):
        tab = await webims_browser(gateway)
        await tab.request("auth", "login", {"username": "mary", "password": "secret"})
        publish = await ims.next("PUBLISH")
        await publish.reply(200, headers=[("SIP-ETag", "e1"), ("Expires", "600")])
        winfo = await Notifier(ims, await ims.next("SUBSCRIBE", "presence.winfo")).accept()
        return tab, publish.request, winfo
    return login


@pytest.fixture
def notifier(ims):
    """``await notifier(transaction)``: accept a SUBSCRIBE and play the presence server of its dialog."""
    return lambda transaction, expires=600: Notifier(ims, transaction).accept(expires)


class FakeXcap:
    """An XCAP server for tests (RFC 4825 subset): whole documents by path, ETags with If-Match/If-None-Match,
    HTTP digest for one user. ``fail_next`` answers the next requests with that status (a busy database)."""

    def __init__(self, username: str, password: str):
        self.username, self.password = username, password
        self.documents: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_next: list[int] = []
        self._etags = itertools.count(1)
        self.port = 0

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}/xcap-root"

    async def start(self, nursery) -> FakeXcap:
        listeners = await nursery.start(trio.serve_tcp, self._serve, 0)
        self.port = listeners[0].socket.getsockname()[1]
        return self

    def change_elsewhere(self, path: str, body: bytes) -> None:
        """Another client of hers writes the document meanwhile: its ETag changes."""
        self.documents[path] = (body, f'"x{next(self._etags)}"')

    async def _serve(self, stream) -> None:
        connection = h11.Connection(h11.SERVER)
        request, body = None, b""
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        status, headers, content = self._answer(request, body)
        headers = [*headers, ("Content-Length", str(len(content))), ("Connection", "close")]
        await stream.send_all(connection.send(h11.Response(status_code=status, headers=headers))
                              + connection.send(h11.Data(data=content)) + connection.send(h11.EndOfMessage()))
        await stream.aclose()

    def _answer(self, request, body: bytes):
        method, path = request.method.decode(), request.target.decode()
        fields = {name.decode().lower(): value.decode() for name, value in request.headers}
        credentials = fields.get("authorization")
        if credentials is None or not verify(credentials, method=method, password=self.password):
            return 401, [("WWW-Authenticate", make_challenge("ims.test"))], b""
        self.requests.append((method, path))
        if self.fail_next:
            return self.fail_next.pop(0), [], b""
        current = self.documents.get(path)
        if method == "GET":
            return (404, [], b"") if current is None else (200, [("ETag", current[1])], current[0])
        if "if-match" in fields and (current is None or fields["if-match"] != current[1]):
            return 412, [], b""
        if "if-none-match" in fields and current is not None:
            return 412, [], b""
        etag = f'"e{next(self._etags)}"'
        self.documents[path] = (body, etag)
        return 200, [("ETag", etag)], b""


@pytest.fixture
async def xcap(nursery):
    return await FakeXcap("mary", "secret").start(nursery)
