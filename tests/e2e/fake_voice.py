"""A fake voice service for the portal's browser tests: docs/voice.md with scripted far ends and no IMS.

It speaks the voice service's browser messages exactly as documented, serves the real page module
(``plugins/voice/webims_voice/static``), and terminates each call's WebRTC with an aiortc peer that plays a
tone (``fake_media``), so the page gets real audio without a SIP network. What happens to an outgoing call
is decided by the user part of its target:

===================  ==============================================================================
``busy``             rings, then ends: "The line is busy." (486)
``decline``          rings, then ends: "The call was declined." (603)
``nobody``           ends at once: "The number does not exist." (404)
``noanswer``         rings until the page hangs up (or ``no_answer_seconds``), then "No answer." (480)
``early``            early media (183) with the tone for a moment, then answered
``nomedia``          answered, then the gateway reports its media path failed (``call.media`` failed, reason)
anything else        rings for ``answer_after`` seconds, then answers and plays ``outgoing_tone_hz``
===================  ==============================================================================

Test hooks (trio, in the gateway's thread; ``FakeGateway`` in ``harness.py`` wraps them for sync tests):
``ring(...)`` makes a call come in, ``reattach_error`` makes every ``call.reattach`` fail (``caller_id_error``
every ``caller_id.set``),
``remote_hangup``, ``remote_hold``, ``remote_dtmf``, ``heard(call)``
(the tone the far end hears from the page), ``summary(call)``, and the records ``calls``, ``requests``.

Where docs/voice.md leaves it open the fake does what the real service (``webims_voice``) does: a tab that
attaches (a reload) gets ``call.incoming`` again for every call still ringing, ``call.taken`` says
``{"by": "answered"}`` to the other tabs, a declined call ends with ``call.ended`` in every tab.
"""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import attrs
import trio

from webims.context import ContextChange, RegistrationContext
from webims.errors import ServiceError
from webims.hookspecs import hookimpl
from webims.service import PortalAssets, Service

from .fake_media import FakeMedia, FakePeer

VOICE_STATIC = Path(__file__).resolve().parents[2] / "plugins" / "voice" / "webims_voice" / "static"
MESSAGES = {"call.start", "call.candidate", "call.accept", "call.reject", "call.hangup", "call.hold",
            "call.dtmf", "call.transfer", "call.list", "call.reattach", "call.quality", "forwarding.get",
            "forwarding.set", "barring.get", "barring.set", "caller_id.get", "caller_id.set",
            "ice.servers"}
NO_FORWARDING = {"always": None, "busy": None, "no_answer": None, "unreachable": None, "no_answer_seconds": 20}
DIGITS = re.compile(r"^[0-9*#A-D]{1,32}$")
LIVE = ("calling", "ringing", "early", "incoming", "active")
NO_MEDIA = "No audio connection between this window and the gateway (ICE failed)."


@attrs.define(eq=False)
class FakeCall:
    id: str
    context: RegistrationContext
    direction: str
    identity: str
    peer_uri: str
    peer_name: str = ""
    called_identity: str | None = None
    privacy: bool = False
    state: str = "calling"
    held_local: bool = False
    held_remote: bool = False
    started_at: float = attrs.field(factory=time.time)
    peer: FakePeer | None = None
    offer: str | None = None        # our offer to the page, while an incoming call rings
    end_reason: str | None = None
    dtmf_sent: list[str] = attrs.field(factory=list)
    transferred_to: str | None = None
    ims_quality: dict | None = None  # what call.quality says of the IMS leg (set by a test)
    script: trio.CancelScope = attrs.field(factory=trio.CancelScope)

    def summary(self) -> dict:
        summary = {"call": self.id, "direction": self.direction, "state": self.state, "identity": self.identity,
                   "peer": {"uri": self.peer_uri, "display_name": self.peer_name},
                   "held": {"local": self.held_local, "remote": self.held_remote}, "started_at": self.started_at}
        return summary

    def incoming_summary(self) -> dict:
        return {**self.summary(), "sdp": self.offer, "called_identity": self.called_identity}


class FakeVoicePlugin:
    """The voice service, faked. One instance per gateway, as every plugin."""

    def __init__(self, *, answer_after: float = 0.8, no_answer_seconds: float = 60, outgoing_tone_hz: float = 880,
                 domain: str = "ims.test") -> None:
        self.answer_after = answer_after
        self.no_answer_seconds = no_answer_seconds
        self.outgoing_tone_hz = outgoing_tone_hz
        self.domain = domain
        self.calls: dict[str, FakeCall] = {}
        self.reattach_error: tuple[str, str] | None = None  # (code, message) every call.reattach fails with
        self.caller_id_error: tuple[str, str] | None = None  # the same for caller_id.set
        self.forwarding = dict(NO_FORWARDING)
        self.barring = {"anonymous": False, "numbers": []}
        self.caller_id = {"withhold": False}
        self.requests: list[tuple[str, dict]] = []  # (type, body) of every browser request, in order
        self.gateway = None
        self.media = FakeMedia()
        self._ids = itertools.count(1)

    # --- hooks -------------------------------------------------------------------------------------------------

    @hookimpl
    def webims_service(self):
        return Service(name="voice", version="0.1.0", summary="Audio calls (fake, for browser tests)",
                       messages=MESSAGES)

    @hookimpl
    def webims_portal_assets(self):
        return PortalAssets(VOICE_STATIC, modules=["voice.js"], styles=["voice.css"])

    @hookimpl
    async def webims_gateway_started(self, gateway, settings):
        self.gateway = gateway
        self.media.start()

    @hookimpl
    async def webims_gateway_stopping(self, gateway):
        for call in list(self.calls.values()):
            await self._close_media(call)
        await self.media.stop()

    @hookimpl
    async def webims_context_changed(self, context, change):
        if change.kind == ContextChange.ENDED:  # logged out: her calls end with her registration
            for call in [c for c in self.calls.values() if c.context is context and c.state in LIVE]:
                await self._end(call, "You were logged out.", notify=False)
        elif change.kind == ContextChange.BROWSER_ATTACHED:  # a (re)loaded tab learns of calls still ringing
            tabs = [tab for tab in context.browsers if tab.id == change.detail]
            for call in [c for c in self.calls.values() if c.context is context and c.state == "incoming"]:
                for tab in tabs:
                    await tab.send_event("voice", "call.incoming", call.incoming_summary(), session=call.id)

    @hookimpl
    async def webims_handle_message(self, request, session):
        body = request.body
        self.requests.append((request.type, body))
        if request.type == "call.start":
            return await self._start(body, session)
        if request.type == "call.list":
            return {"calls": [c.summary() for c in self.calls.values()
                              if c.context is session.context and c.state in LIVE]}
        if request.type == "forwarding.get":  # kept, not carried out: the real service's tests do that
            return {"forwarding": self.forwarding}
        if request.type == "ice.servers":
            return {"ice_servers": [], "transport_policy": "all"}  # the page reaches the fake's media directly
        if request.type == "barring.get":
            return {"barring": self.barring}
        if request.type == "caller_id.get":
            return {"caller_id": self.caller_id}
        if request.type == "caller_id.set" and self.caller_id_error is not None:
            raise ServiceError(*self.caller_id_error)
        if request.type == "caller_id.set":
            self.caller_id = {"withhold": body["caller_id"]["withhold"] is True}
            return {"caller_id": self.caller_id}
        if request.type == "barring.set":
            self.barring = {"anonymous": bool(body["barring"].get("anonymous")),
                            "numbers": list(body["barring"].get("numbers") or [])}
            return {"barring": self.barring}
        if request.type == "forwarding.set":
            self.forwarding = {**NO_FORWARDING, **{key: (value or None) if key != "no_answer_seconds" else value
                                                   for key, value in body["forwarding"].items()}}
            return {"forwarding": self.forwarding}
        call = self._call(body, session)
        handler = {
            "call.candidate": self._candidate, "call.accept": self._accept, "call.reject": self._reject,
            "call.hangup": self._hangup, "call.hold": self._hold, "call.dtmf": self._dtmf,
            "call.transfer": self._transfer, "call.reattach": self._reattach, "call.quality": self._quality,
        }[request.type]
        return await handler(call, body, session)

    # --- browser requests --------------------------------------------------------------------------------------

    async def _start(self, body, session):
        identity = session.context.require_identity(body.get("identity")).uri
        target = self.normalize(body.get("target"))
        offer = body.get("sdp")
        if not isinstance(offer, str) or "m=audio" not in offer:
            raise ServiceError("media_failed", "The call needs an SDP offer with audio.")
        call = FakeCall(f"c{next(self._ids)}", session.context, "outgoing", identity, target,
                        privacy=bool(body.get("privacy")))
        call.peer = await self.media.new_peer(self.outgoing_tone_hz)
        answer = await self.media.run(call.peer.answer, offer)
        self.calls[call.id] = call
        self.gateway.nursery.start_soon(self._outgoing_script, call)
        return {"call": call.id, "sdp": answer}

    async def _candidate(self, call, body, session):
        if call.peer is not None:
            await self.media.run(call.peer.add_candidate, body.get("candidate"), body.get("sdp_mid"),
                                 body.get("sdp_mline_index"))
        return {}

    async def _accept(self, call, body, session):
        if call.state != "incoming":
            raise ServiceError("wrong_state", "The call is not ringing.")
        if not isinstance(body.get("sdp"), str):
            raise ServiceError("media_failed", "Answering needs the browser's SDP answer.")
        await self.media.run(call.peer.accept_answer, body["sdp"])
        call.offer = None
        call.state = "active"
        call.peer.play(True)
        await self._to_tabs(call, "call.taken", {"by": "answered"}, skip=session)
        await self._event(call, "call.answered", {})
        await self._event(call, "call.media", {"state": "completed"})
        await self._event(call, "call.media", {"codec": "opus", "ims_codec": "PCMU", "relay": False})
        return {}

    async def _reject(self, call, body, session):
        if call.state != "incoming":
            raise ServiceError("wrong_state", "The call is not ringing.")
        busy = body.get("reason") == "busy"
        await self._end(call, "You were busy." if busy else "You declined the call.", status=486 if busy else 603)
        return {}

    async def _hangup(self, call, body, session):
        await self._end(call, "You hung up.")
        return {}

    async def _hold(self, call, body, session):
        if call.state != "active":
            raise ServiceError("wrong_state", "Only a connected call can be held.")
        call.held_local = bool(body.get("hold"))
        call.peer.play(not (call.held_local or call.held_remote))
        await self._event(call, "call.held", {"local": call.held_local, "remote": call.held_remote})
        return {}

    async def _dtmf(self, call, body, session):
        digits = body.get("digits")
        if not isinstance(digits, str) or not DIGITS.match(digits):
            raise ServiceError("media_failed", f"{digits!r} is not a DTMF digit; use 0-9, *, # and A-D.")
        if call.state != "active":
            raise ServiceError("wrong_state", "Digits can be sent on a connected call only.")
        call.dtmf_sent.append(digits)
        return {}

    async def _transfer(self, call, body, session):
        if call.state != "active":
            raise ServiceError("wrong_state", "Only a connected call can be transferred.")
        call.transferred_to = self.normalize(body.get("target"))
        self.gateway.nursery.start_soon(self._end, call, f"The call was transferred to {call.transferred_to}.")
        return {}

    async def _quality(self, call, body, session):
        return {"ims": call.ims_quality}

    async def _reattach(self, call, body, session):
        if self.reattach_error is not None:
            raise ServiceError(*self.reattach_error)
        old = call.peer
        call.peer = await self.media.new_peer(old.tone_hz if old else self.outgoing_tone_hz)
        answer = await self.media.run(call.peer.answer, body.get("sdp"))
        call.peer.play(call.state == "active" and not (call.held_local or call.held_remote))
        if old is not None:
            await self.media.run(old.close)
        return {"sdp": answer}

    # --- scripted far ends -------------------------------------------------------------------------------------

    async def _outgoing_script(self, call: FakeCall) -> None:
        user = call.peer_uri.split(":", 1)[1].split("@", 1)[0]
        with call.script:
            if user == "nobody":
                await trio.sleep(0.2)
                await self._end(call, "The number does not exist.", status=404)
                return
            await trio.sleep(0.2)
            await self._progress(call, "ringing")
            if user == "busy":
                await trio.sleep(0.6)
                await self._end(call, "The line is busy.", status=486)
            elif user == "decline":
                await trio.sleep(0.6)
                await self._end(call, "The call was declined.", status=603)
            elif user == "noanswer":
                await trio.sleep(self.no_answer_seconds)
                await self._end(call, "No answer.", status=480)
            else:
                if user == "early":
                    await self._progress(call, "early")
                    call.peer.play(True)
                await trio.sleep(self.answer_after)
                call.state = "active"
                call.peer.play(True)
                await self._event(call, "call.answered", {})
                if user == "nomedia":  # as the real service says it
                    await self._event(call, "call.media", {"state": "failed"})
                    await self._event(call, "call.media", {"state": "failed", "reason": NO_MEDIA})
                else:
                    await self._event(call, "call.media", {"state": "completed"})

    async def _progress(self, call: FakeCall, state: str) -> None:
        call.state = state
        await self._event(call, "call.progress", {"state": state})

    # --- test hooks --------------------------------------------------------------------------------------------

    async def ring(self, caller: str = "sip:bob@ims.test", display_name: str = "Bob", *,
                   to: str = "sip:mary@ims.test", tone_hz: float = 660) -> str:
        """A call comes in from ``caller`` for the public identity ``to``; returns its id."""
        context = self.gateway.contexts.for_public_identity(to)
        if context is None:
            raise LookupError(f"nobody is logged in with {to}")
        call = FakeCall(f"c{next(self._ids)}", context, "incoming", to, caller, display_name, called_identity=to,
                        state="incoming")
        call.peer = await self.media.new_peer(tone_hz)
        call.offer = await self.media.run(call.peer.offer)
        self.calls[call.id] = call
        await self._to_tabs(call, "call.incoming", call.incoming_summary())
        return call.id

    async def remote_hangup(self, call_id: str, reason: str = "The other side hung up.") -> None:
        await self._end(self.calls[call_id], reason, status=200)

    async def remote_hold(self, call_id: str, held: bool = True) -> None:
        call = self.calls[call_id]
        call.held_remote = held
        call.peer.play(not (call.held_local or call.held_remote))
        await self._event(call, "call.held", {"local": call.held_local, "remote": call.held_remote})

    async def remote_dtmf(self, call_id: str, digit: str) -> None:
        await self._event(self.calls[call_id], "call.dtmf", {"digit": digit})

    async def heard(self, call_id: str) -> tuple[float, float]:
        """(dominant frequency, RMS level) of the last second the far end of ``call_id`` heard from the page."""
        peer = self.calls[call_id].peer
        return await self.media.run(peer.heard_tone)

    async def ice_state(self, call_id: str) -> str:
        return await self.media.run(self.calls[call_id].peer.ice_state)

    def summary(self, call_id: str) -> dict:
        return self.calls[call_id].summary()

    # --- helpers -----------------------------------------------------------------------------------------------

    def normalize(self, target) -> str:
        """What a person typed, as docs/voice.md says: ``+1555…`` → tel URI, ``bob`` → ``sip:bob@<domain>``."""
        if not isinstance(target, str) or not target.strip():
            raise ServiceError("bad_target", "Enter a number or SIP address to call.")
        target = target.strip()
        if re.fullmatch(r"(sips?:[^\s<>@]+@[^\s<>@]+|tel:\+?[0-9*#().\-]+)", target):
            return target
        if re.fullmatch(r"\+?[0-9][0-9 ().\-]*", target):
            digits = re.sub(r"[ ().\-]", "", target)
            return f"tel:{digits}" if digits.startswith("+") else f"sip:{digits}@{self.domain};user=phone"
        if re.fullmatch(r"[A-Za-z0-9._~!$&'*+=-]+", target):
            return f"sip:{target}@{self.domain}"
        raise ServiceError("bad_target", f"{target} is not a number or SIP address.")

    def _call(self, body, session) -> FakeCall:
        call = self.calls.get(body.get("call"))
        if call is None or call.context is not session.context or call.state == "ended":
            raise ServiceError("no_such_call", "There is no such call (it may have ended).")
        return call

    async def _event(self, call: FakeCall, type: str, body: dict, only=None) -> None:
        tabs = [only] if only is not None else list(call.context.browsers)
        for tab in tabs:
            await tab.send_event("voice", type, {"call": call.id, **body}, session=call.id)

    async def _to_tabs(self, call: FakeCall, type: str, body: dict, skip=None) -> None:
        for tab in list(call.context.browsers):
            if tab is not skip:
                await tab.send_event("voice", type, {"call": call.id, **body}, session=call.id)

    async def _end(self, call: FakeCall, reason: str, status: int | None = None, notify: bool = True) -> None:
        if call.state == "ended":
            return
        call.state, call.end_reason = "ended", reason
        call.script.cancel()  # may be the task we run in: what follows is shielded from that
        with trio.CancelScope(shield=True):
            if notify:
                body = {"reason": reason, **({"status": status} if status else {})}
                await self._event(call, "call.ended", body)
            await self._close_media(call)

    async def _close_media(self, call: FakeCall) -> None:
        if call.peer is not None:
            peer, call.peer = call.peer, None
            with trio.CancelScope(shield=True):
                await self.media.run(peer.close)
