"""The browser requests of the presence service (docs/presence.md): checked here, carried out by the user.

Every request acts for the subscriber of the tab it came from; anything naming one of her identities goes
through ``require_identity``, and every refusal is a :class:`ServiceError` with a sentence she can act on.
"""

from __future__ import annotations

from typing import Any

from webims.errors import ServiceError
from webims_presence import contacts as contact_list
from webims_presence.contacts import ContactError, contact_from_browser, contact_uri
from webims_presence.pres_rules import DECISIONS
from webims_presence.status import PresenceStatus, StatusError, chosen_from_browser
from webims_presence.store import StoreError
from webims_presence.user import PresenceUser, fetch_presence

MESSAGES = {"state", "status.set", "contact.add", "contact.update", "contact.remove", "contact.fetch",
            "watcher.decide"}


async def handle(user: PresenceUser, request_type: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return await _HANDLERS[request_type](user, body)
    except (ContactError, StatusError) as error:
        raise ServiceError("bad_request", str(error)) from None
    except StoreError as error:
        raise ServiceError("store_failed", error.reason) from None


async def _state(user: PresenceUser, body: dict[str, Any]) -> dict[str, Any]:
    return user.snapshot()


async def _set_status(user: PresenceUser, body: dict[str, Any]) -> dict[str, Any]:
    """Her chosen status, for one identity (``identity``) or for every identity she publishes for."""
    identity = body.get("identity")
    if identity is not None:
        identity = user.context.require_identity(identity).uri
        if identity not in user.chosen:
            raise ServiceError("bad_request", f"Your status is published for {', '.join(user.chosen)} only.")
    current = user.chosen.get(identity) if identity else next(iter(user.chosen.values()), PresenceStatus())
    await user.set_status(chosen_from_browser(body, current), identity)
    return user.status_json()


async def _add(user: PresenceUser, body: dict[str, Any]) -> dict[str, Any]:
    contact = contact_from_browser(body)
    await user.add_contact(contact)
    return {"contact": user.watches[contact.uri].to_json()}


async def _update(user: PresenceUser, body: dict[str, Any]) -> dict[str, Any]:
    uri = contact_uri(body.get("uri"))
    existing = next((c for c in user.contacts if c.uri == uri), None)
    if existing is None:
        raise ContactError(f"{uri} is not in your contacts.")
    contact = contact_from_browser(body, existing)
    await user.edit_contacts(lambda current: contact_list.replaced(current, contact))
    return {"contact": user.watches[uri].to_json()}


async def _remove(user: PresenceUser, body: dict[str, Any]) -> dict[str, Any]:
    uri = contact_uri(body.get("uri"))
    await user.edit_contacts(lambda current: contact_list.removed(current, uri))
    return {}


async def _fetch(user: PresenceUser, body: dict[str, Any]) -> dict[str, Any]:
    uri = contact_uri(body.get("uri"))
    return {"uri": uri, "presence": await fetch_presence(user, uri)}


async def _decide(user: PresenceUser, body: dict[str, Any]) -> dict[str, Any]:
    watcher, decision = body.get("watcher"), body.get("decision")
    if decision not in DECISIONS:
        raise ServiceError("bad_request", "decision is allow or block.")
    uri = contact_uri(watcher)
    await user.watchers.decide(uri, decision)
    return {"watchers": user.watchers.to_json(), "enforced": user.store.enforced}


_HANDLERS = {"state": _state, "status.set": _set_status, "contact.add": _add, "contact.update": _update,
             "contact.remove": _remove, "contact.fetch": _fetch, "watcher.decide": _decide}
