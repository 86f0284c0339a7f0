"""Her contacts, decisions and chosen status as XCAP documents (RFC 4825): resource-lists (RFC 4826),
pres-rules (RFC 5025) and pidf-manipulation (RFC 4827) under her default public identity as XUI. The presence
server reads the pres-rules, so a decision taken here is enforced in the IMS; a presence server that reads
pidf-manipulation also shows her chosen status while she has no publication.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from webims_presence import pidf, pres_rules, resource_lists, rlmi
from webims_presence.contacts import Contact
from webims_presence.pres_rules import Decisions
from webims_presence.status import PresenceStatus
from webims_presence.store import ContactsEdit, DecisionsEdit, StoreError
from webims_presence.xcap_client import XcapClient, XcapError
from webims_presence.xmldoc import DocumentError

# An edit that meets another client's change (412) is tried again on the fresh document, this often.
EDIT_ATTEMPTS = 3
T = TypeVar("T")


class XcapDocument:
    """One of her documents: its last known body and ETag, and conditional writes."""

    def __init__(self, client: XcapClient, auid: str, xui: str, content_type: str):
        self.client = client
        self.path = client.document_path(auid, xui)
        self.content_type = content_type
        self.body: bytes | None = None
        self.etag: str | None = None

    async def load(self) -> bytes | None:
        response = await self._call(self.client.get(self.path))
        if response.status == 404:
            self.body, self.etag = None, None
        elif response.status == 200:
            self.body, self.etag = response.body, response.etag
        else:
            raise StoreError(f"The XCAP server refused to read {self.path} ({response.status}).")
        return self.body

    async def edit(self, rewrite: Callable[[bytes | None], tuple[T, bytes]]) -> T:
        """``rewrite(current body or None) -> (value, new body)``, written with If-Match and retried on the fresh
        document after a 412; the value of the rewrite that was stored."""
        for _ in range(EDIT_ATTEMPTS):
            value, body = rewrite(self.body)
            response = await self._call(self.client.put(self.path, body, self.content_type, if_match=self.etag))
            if response.status in (200, 201):
                self.body, self.etag = body, response.etag
                return value
            if response.status != 412:
                raise StoreError(f"The XCAP server refused to store {self.path} ({response.status}).")
            await self.load()  # changed elsewhere meanwhile: edit the fresh copy
        raise StoreError(f"{self.path} kept changing elsewhere; try again.")

    @staticmethod
    async def _call(request):
        try:
            return await request
        except XcapError as error:
            raise StoreError(f"The XCAP server could not be reached: {error.reason}") from None


class XcapUserStore:
    enforced = True

    def __init__(self, client: XcapClient, xui: str, max_bytes: int):
        self.max_bytes = max_bytes
        self.lists = XcapDocument(client, "resource-lists", xui, resource_lists.CONTENT_TYPE)
        self.rules = XcapDocument(client, "pres-rules", xui, pres_rules.CONTENT_TYPE)
        self.services = XcapDocument(client, "rls-services", xui, rlmi.RLS_SERVICES_TYPE)
        self.status = XcapDocument(client, "pidf-manipulation", xui, pidf.CONTENT_TYPE)
        self.xui = xui

    async def provide_list_service(self, service_uri: str) -> None:
        # RFC 4826 §4.2: the service names her list by its XCAP URI, node selector included.
        selector = f"/~~/resource-lists/list%5B@name=%22{resource_lists.LIST_NAME}%22%5D"
        document = rlmi.build_rls_services(service_uri, self.lists.client.url(self.lists.path) + selector)
        await self.services.load()
        if self.services.body != document:
            await self.services.edit(lambda current: (None, document))

    async def contacts(self) -> tuple[Contact, ...]:
        return self._contacts(await self.lists.load())

    async def edit_contacts(self, edit: ContactsEdit) -> tuple[Contact, ...]:
        def rewrite(body: bytes | None) -> tuple[tuple[Contact, ...], bytes]:
            contacts = edit(self._contacts(body))
            return contacts, resource_lists.resource_lists_with(contacts, body, self.max_bytes)
        return await self.lists.edit(rewrite)

    async def decisions(self) -> Decisions:
        return self._decisions(await self.rules.load())

    async def edit_decisions(self, edit: DecisionsEdit) -> Decisions:
        def rewrite(body: bytes | None) -> tuple[Decisions, bytes]:
            decisions = edit(self._decisions(body))
            return decisions, pres_rules.build_pres_rules(decisions)
        return await self.rules.edit(rewrite)

    async def saved_status(self) -> PresenceStatus | None:
        return self._read(await self.status.load(), lambda body, limit: pidf.parse_pidf(body, limit).status(), None)

    async def save_status(self, status: PresenceStatus) -> None:
        document = pidf.build_pidf(self.xui, status, tuple_id="webims", person_id="pwebims")
        await self.status.edit(lambda current: (None, document))

    def _contacts(self, body: bytes | None) -> tuple[Contact, ...]:
        return self._read(body, resource_lists.contacts_from_resource_lists, ())

    def _decisions(self, body: bytes | None) -> Decisions:
        return self._read(body, pres_rules.parse_pres_rules, Decisions())

    def _read(self, body, parse, empty):
        if body is None:
            return empty
        try:
            return parse(body, self.max_bytes)
        except DocumentError as error:
            raise StoreError(f"Your XCAP document is unreadable: {error.reason}") from None
