"""Whether her number is shown on her calls by default (TS 24.607 OIR, temporary mode: each call may still say
otherwise). A call whose request says nothing about privacy follows this; the page starts its "Withhold my number"
box from it. Kept per subscription beside her forwarding and barring (``settings_store``)."""

from __future__ import annotations

import attrs

from webims.errors import ServiceError


@attrs.frozen
class CallerId:
    withhold: bool = False

    def to_json(self) -> dict:
        return {"withhold": self.withhold}

    @classmethod
    def from_json(cls, data: dict) -> CallerId:
        return cls(bool(data.get("withhold")))


def from_browser(body: object) -> CallerId:
    if not isinstance(body, dict) or not isinstance(body.get("withhold"), bool):
        raise ServiceError("bad_request", "Say whether to withhold your number with true or false.")
    return CallerId(body["withhold"])
