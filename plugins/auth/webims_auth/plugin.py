"""The auth service's hooks. Login and IMS registration arrive with the SIP stack (issue: auth plugin)."""

from __future__ import annotations

from pathlib import Path

from webims.errors import ServiceError
from webims.hookspecs import hookimpl
from webims.service import PortalAssets, Service

import webims_auth

STATIC = Path(__file__).parent / "static"


class AuthPlugin:
    @hookimpl
    def webims_service(self):
        return Service(name="auth", version=webims_auth.__version__,
                       summary="Log in with operator credentials; IMS registration",
                       messages={"login", "logout"}, requires_login=False)

    @hookimpl
    def webims_portal_assets(self):
        return PortalAssets(STATIC, modules=["auth.js"])

    @hookimpl
    async def webims_handle_message(self, request, session):
        # Registration needs the SIP user agent, which is not built yet: say so plainly instead of pretending.
        raise ServiceError("unavailable", "Login is not available yet on this gateway: IMS registration is "
                                          "still being built.")
