"""Plugins the gateway tests run with: an echo service and one that fails on purpose."""

import pytest
import trio

from webims.errors import ServiceError
from webims.hookspecs import hookimpl
from webims.service import Service


class EchoPlugin:
    name = "echo"

    def __init__(self):
        self.sessions_started = []

    @hookimpl
    def webims_service(self):
        return Service(name=self.name, version="1.0", messages={"say", "slow"}, requires_login=False)

    @hookimpl
    async def webims_handle_message(self, request, session):
        if request.type == "slow":
            await trio.sleep_forever()
        return {"said": request.body.get("text")}

    @hookimpl
    def webims_session_started(self, session):
        self.sessions_started.append(session.id)


class FaultyPlugin:
    @hookimpl
    def webims_service(self):
        return Service(name="faulty", version="1.0", messages={"crash", "refuse", "bad_reply"},
                       requires_login=False)

    @hookimpl
    async def webims_handle_message(self, request, session):
        if request.type == "refuse":
            raise ServiceError("busy", "The line is busy.")
        if request.type == "bad_reply":
            return ["not", "a", "dict"]
        raise ZeroDivisionError("a bug in the plugin")

    @hookimpl
    def webims_session_started(self, session):
        raise RuntimeError("a bug in a broadcast hook")


class LockedPlugin:
    @hookimpl
    def webims_service(self):
        return Service(name="locked", version="1.0", messages={"open"})


@pytest.fixture
async def gateway(webims_gateway):
    return await webims_gateway(instances={"echo": EchoPlugin(), "faulty": FaultyPlugin(),
                                           "locked": LockedPlugin()}, max_frame_bytes=8192)
