"""Hook implementations of the hello service (the hooks are documented in ``webims.hookspecs``)."""

from __future__ import annotations

from pathlib import Path

from webims.config import Setting
from webims.errors import ServiceError
from webims.hookspecs import hookimpl
from webims.service import PortalAssets, Service

import webims_hello

MAX_NAME = 80


def _has_placeholder(template: str) -> str | None:
    return None if "{name}" in template else "must contain {name}"


class HelloPlugin:
    """One instance per gateway: keep state on ``self``."""

    def __init__(self) -> None:
        self.template = "Hello, {name}!"
        self.greeted = 0

    @hookimpl
    def webims_service(self):
        # requires_login=False only so this example works before any login; real services keep the default.
        return Service(name="hello", version=webims_hello.__version__, summary="Says hello",
                       messages={"greet"}, requires_login=False)

    @hookimpl
    def webims_settings_schema(self):
        return {"greeting": Setting(str, "Hello, {name}!", "the greeting; {name} is replaced", _has_placeholder)}

    @hookimpl
    def webims_gateway_started(self, gateway, settings):
        self.template = settings["greeting"]

    @hookimpl
    def webims_portal_assets(self):
        return PortalAssets(Path(__file__).parent / "static", modules=["hello.js"])

    @hookimpl
    async def webims_handle_message(self, request, session):
        name = request.body.get("name")
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
            raise ServiceError("bad_name", f"Say who to greet: a name of 1 to {MAX_NAME} characters.")
        self.greeted += 1
        return {"greeting": self.template.format(name=name)}
