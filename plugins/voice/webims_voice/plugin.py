"""The voice service's hooks: browser requests (docs/voice.md), incoming INVITEs, the media engine's lifetime."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path

import trio

import webims_voice
from webims import log
from webims.config import Setting, in_range, one_of
from webims.context import ContextChange
from webims.errors import ServiceError
from webims.hookspecs import hookimpl
from webims.media import CodecChosen, DtmfReceived, IceStateChanged, Leg, MediaConfig, MediaError, MediaTimeout
from webims.media import KeyframeNeeded, NegotiationNeeded, VideoChanged, open_media_engine
from webims.service import Capabilities, FeatureTag, PortalAssets, Service, SipRoute, collect_call_media
from webims.sip.feature_tags import MMTEL
from webims.sip import NameAddr, RemoteProtocolError
from webims.sip.session_timer import SessionTimerPolicy
from webims_voice import barring, caller_id, forwarding, ice_servers, in_dialog
from webims_voice.call import Call
from webims_voice.incoming import IncomingCall, deflect
from webims_voice.outgoing import OutgoingCall, build_invite
from webims_voice.settings_store import CallSettingsStore
from webims.addressing import peer_key, target_uri

STATIC = Path(__file__).parent / "static"
MESSAGES = {"call.start", "call.candidate", "call.accept", "call.reject", "call.hangup", "call.hold", "call.dtmf",
            "call.transfer", "call.list", "call.reattach", "call.quality", "forwarding.get", "forwarding.set",
            "barring.get", "barring.set", "caller_id.get", "caller_id.set", "ice.servers"}
DTMF_DIGITS = set("0123456789*#ABCD")
_CALL_SETTINGS = {"forwarding": forwarding.Forwarding, "barring": barring.Barring, "caller_id": caller_id.CallerId}
_log = log.get("voice")


def _owner(context) -> str:
    """Whose call settings (forwarding, barring): the subscription's, kept under her default public identity."""
    return context.default_identity.uri if context.default_identity else context.private_identity


def _peer_name(body: dict) -> str:
    """The name she knows the callee by (a contact's), shown on her call and in her history; never sent to the IMS."""
    name = body.get("name", "")
    if not isinstance(name, str) or len(name) > 200:
        raise ServiceError("bad_request", "The name given for the call must be text of at most 200 characters.")
    return "".join(char for char in name if char.isprintable()).strip()


def _sdp(body: dict, key: str = "sdp") -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.startswith("v=") or len(value) > 32768:
        raise ServiceError("bad_request", "The page sent no valid session description.")
    return value


class VoicePlugin:
    def __init__(self) -> None:
        self.gateway = None
        self.settings = None
        self.engine = None
        self.nursery: trio.Nursery | None = None
        self.calls: dict[str, Call] = {}
        self.call_media = ()  # media kinds other plugins add to calls (webims_call_media): video
        self.ice = ice_servers.IcePolicy()  # STUN/TURN for pages: none until the settings say
        self.call_settings: CallSettingsStore | None = None
        self.outgoing: dict[str, OutgoingCall] = {}
        self.incoming: dict[str, IncomingCall] = {}
        self._ids = itertools.count(1)

    # --- declarations ------------------------------------------------------------------------------------------

    @hookimpl
    def webims_service(self):
        return Service(name="voice", version=webims_voice.__version__, summary="Audio calls to and from IMS",
                       messages=MESSAGES)

    @hookimpl
    def webims_settings_schema(self):
        return {
            "ring_timeout": Setting(int, 120, "seconds a call may ring before it is given up", in_range(5, 600)),
            "session_expires": Setting(int, 1800, "session timer interval asked for (RFC 4028), s",
                                       in_range(90, 86400)),
            "min_se": Setting(int, 90, "shortest session interval accepted, s", in_range(90, 86400)),
            "dtmf_method": Setting(str, "rfc4733", "how digits go to the IMS side: rfc4733 or info (SIP INFO)",
                                   one_of("rfc4733", "info")),
            "ims_address": Setting(str, "127.0.0.1", "address of the IMS-side RTP sockets"),
            "ims_port_min": Setting(int, 30000, "lowest IMS-side RTP port", in_range(1024, 65000)),
            "ims_port_max": Setting(int, 39999, "highest IMS-side RTP port", in_range(1028, 65535)),
            "browser_addresses": Setting(list, ["127.0.0.1"], "addresses offered to browsers as ICE candidates"),
            "ice_gathering_timeout": Setting((int, float), 2, "longest wait for our ICE candidates, s"),
            "media_timeout": Setting((int, float), 30, "seconds without audio from the phone before hanging up"),
            "workers": Setting(int, 0, "media worker processes (0: a thread of the gateway)", in_range(0, 64)),
            "media_event_loop": Setting(str, "uvloop", "the media loop: uvloop, or asyncio's own",
                                        one_of("uvloop", "asyncio")),
            "call_settings_path": Setting(str, "run/voice/call-settings.sqlite",
                                          "the SQLite file keeping each subscriber's call forwarding and barring"),
            "page_ice_servers": Setting(list, [], "STUN/TURN URLs the page may use to reach the gateway's media",
                                        ice_servers.check_urls),
            "turn_secret": Setting(str, "", "the TURN server's static-auth-secret: pages get credentials made with it"),
            "turn_credential_seconds": Setting(int, 86400, "how long a page's TURN credentials last (cover the "
                                                           "longest call), s", in_range(60, 7 * 86400)),
            "ice_transport_policy": Setting(str, "all", "all, or relay: pages send media through TURN only",
                                            one_of(*ice_servers.TRANSPORT_POLICIES)),
        }

    @hookimpl
    def webims_portal_assets(self):
        return PortalAssets(STATIC, modules=["voice.js"], styles=["voice.css"])

    @hookimpl
    def webims_sip_routes(self):
        # audio offers, and INVITEs without an offer (answered 488: an offer is required)
        return [SipRoute("INVITE", media="audio"), SipRoute("INVITE")]

    @hookimpl
    def webims_capabilities(self):
        # TS 24.173 §5.2: an MMTel phone registers, calls and answers with the MMTel ICSI; RFC 3840 "audio".
        return Capabilities([FeatureTag("+g.3gpp.icsi-ref", MMTEL), FeatureTag("audio")], accept=["application/sdp"])

    # --- lifetime ------------------------------------------------------------------------------------------------

    @hookimpl
    async def webims_gateway_started(self, gateway, settings):
        self.gateway, self.settings = gateway, settings
        self.nursery = gateway.nursery
        self.call_media = collect_call_media(gateway.plugins)
        config = MediaConfig(ims_address=settings["ims_address"],
                             ims_port_range=(settings["ims_port_min"], settings["ims_port_max"]),
                             browser_addresses=tuple(settings["browser_addresses"]),
                             ice_gathering_timeout=float(settings["ice_gathering_timeout"]),
                             media_timeout=float(settings["media_timeout"]), workers=settings["workers"],
                             event_loop=settings["media_event_loop"])
        self.ice = ice_servers.IcePolicy(tuple(settings["page_ice_servers"]), settings["turn_secret"],
                                         settings["turn_credential_seconds"], settings["ice_transport_policy"])
        problem = ice_servers.policy_problem(self.ice)
        if problem is not None:
            raise RuntimeError(f"[settings.voice] {problem}.")
        self.engine = await gateway.nursery.start(self._run_engine, config)
        try:
            self.call_settings = CallSettingsStore(settings["call_settings_path"])
        except (OSError, sqlite3.Error) as error:
            raise RuntimeError(f"The call settings file {settings['call_settings_path']} cannot be used: {error}") \
                from None

    async def _run_engine(self, config, task_status=trio.TASK_STATUS_IGNORED):
        async with open_media_engine(config) as engine:
            task_status.started(engine)
            await trio.sleep_forever()

    @hookimpl
    async def webims_gateway_stopping(self, gateway):
        with trio.move_on_after(2):
            for call in list(self.calls.values()):
                await self._hang_up(call, "The gateway is shutting down.")
        if self.call_settings is not None:  # (None: the gateway failed to start)
            self.call_settings.close()

    @hookimpl
    async def webims_context_changed(self, context, change):
        if change.kind == ContextChange.ENDED:
            for call in [c for c in self.calls.values() if c.context is context]:
                incoming = self.incoming.get(call.id)
                if incoming is not None and call.state == "incoming":
                    incoming.reject(480, "Missed call: you were logged out.")  # the caller hears "unavailable"
                else:
                    await self._hang_up(call, "You were logged out.")
        elif change.kind == ContextChange.BROWSER_ATTACHED:
            # A tab that (re)connects learns of calls still ringing for her.
            tabs = [tab for tab in context.browsers if tab.id == change.detail]
            for incoming in [i for i in self.incoming.values() if i.call.context is context]:
                if incoming.call.state == "incoming":
                    await incoming.call.notify("call.incoming", incoming.summary(), tabs=tabs)

    # --- browser requests ----------------------------------------------------------------------------------------

    @hookimpl
    async def webims_handle_message(self, request, session):
        body = request.body
        if request.type == "call.start":
            return await self._start(session, body)
        if request.type == "ice.servers":
            return ice_servers.for_browser(self.ice, session.context.private_identity, time.time())
        if request.type == "call.list":
            return {"calls": [call.summary() for call in self.calls.values() if call.context is session.context]}
        kind, _, action = request.type.partition(".")
        if kind in _CALL_SETTINGS and action == "get":
            return {kind: (await self._call_setting(session.context, kind)).to_json()}
        if kind in _CALL_SETTINGS and action == "set":
            return await self._set_call_setting(session, kind, body)
        call = self._call(session, body)
        handler = getattr(self, "_" + request.type.removeprefix("call."))
        return await handler(call, body, session) or {}

    # --- her call settings: forwarding (CDIV), barring (ACR/ICB), caller ID (OIR) -------------------------------

    async def _call_setting(self, context, kind: str):
        return await self.call_settings.get(_owner(context), kind, _CALL_SETTINGS[kind])

    async def _set_call_setting(self, session, kind: str, body) -> dict:
        context = session.context
        domain = self.gateway.config.ims.domain
        if kind == "forwarding":
            value = forwarding.from_browser(body.get(kind), domain,
                                            {peer_key(identity.uri) for identity in context.public_identities})
        elif kind == "barring":
            value = barring.from_browser(body.get(kind), domain)
        else:
            value = caller_id.from_browser(body.get(kind))
        await self.call_settings.put(_owner(context), kind, value)
        _log.info(f"{kind}.set", owner=_owner(context))
        others = [tab for tab in context.browsers if tab is not session]
        await context.tell_tabs("voice", f"{kind}.changed", {kind: value.to_json()}, tabs=others)
        return {kind: value.to_json()}

    async def _incoming_settings(self, context) -> tuple[barring.Barring, forwarding.Forwarding]:
        """Her barring and forwarding for a call coming in; if they cannot be read, the call rings as if she had
        none (a broken settings file must not cost her calls)."""
        try:
            return await self._call_setting(context, "barring"), await self._call_setting(context, "forwarding")
        except ServiceError as error:
            _log.error("call_settings.unreadable", owner=_owner(context), reason=error.message)
            return barring.Barring(), forwarding.Forwarding()

    def _call(self, session, body) -> Call:
        call = self.calls.get(body.get("call")) if isinstance(body.get("call"), str) else None
        if call is None or call.context is not session.context:
            raise ServiceError("no_such_call", "That call has already ended.")
        return call

    async def _start(self, session, body):
        context = session.context
        identity = context.require_identity(body.get("identity"))
        target = target_uri(body.get("target"), self.gateway.config.ims.domain, action="call")
        offer = _sdp(body)
        privacy = body.get("privacy")
        if privacy is None:  # the call says nothing: her default (OIR, temporary mode)
            privacy = (await self._call_setting(context, "caller_id")).withhold
        privacy = bool(privacy)
        call = _Call(self, context, f"c{next(self._ids)}", "outgoing", identity.uri, target, _peer_name(body))
        try:
            call.bridge = await self.engine.new_bridge(call.id, self.call_media)
        except MediaError as error:
            raise ServiceError("media_failed", error.reason) from None
        try:
            answer = await call.bridge.accept_browser_offer(offer)
            ims_offer = await call.bridge.ims_offer()
        except MediaError as error:
            await call.bridge.close()
            raise ServiceError("media_failed", error.reason) from None
        self._register(call)
        outgoing = OutgoingCall(call, self.settings["ring_timeout"])
        self.outgoing[call.id] = outgoing
        invite = build_invite(call, target, ims_offer.encode(), privacy, self._timers())
        self.nursery.start_soon(self._run_call, call, outgoing.run, invite)
        _log.info("call.started", call=call.id, target=target, identity=identity.uri)
        return {"call": call.id, "sdp": answer}

    def _timers(self) -> SessionTimerPolicy:
        return SessionTimerPolicy(self.settings["session_expires"], self.settings["min_se"])

    def _register(self, call: Call) -> None:
        self.calls[call.id] = call
        call.context.add_session(call.id, call)
        self.nursery.start_soon(self._watch_media, call)

    async def _run_call(self, call: Call, run, *args) -> None:
        try:
            with call.scope:
                await run(*args)
                await call.ended.wait()
        except Exception:
            _log.exception("call.failed", call=call.id)
            await call.end("The call failed because of an error on the gateway.")
        finally:
            self.outgoing.pop(call.id, None)
            self.incoming.pop(call.id, None)

    async def _candidate(self, call, body, session):
        candidate = body.get("candidate")
        if candidate is not None and (not isinstance(candidate, str) or len(candidate) > 1024):
            raise ServiceError("bad_request", "An ICE candidate must be a short string, or null at the end.")
        sdp_mid = body.get("sdp_mid") if isinstance(body.get("sdp_mid"), str) else None
        index = body.get("sdp_mline_index") if isinstance(body.get("sdp_mline_index"), int) else None
        try:
            await call.bridge.add_browser_candidate(candidate, sdp_mid, index)
        except MediaError as error:
            raise ServiceError("media_failed", error.reason) from None

    async def _accept(self, call, body, session):
        incoming = self.incoming.get(call.id)
        if incoming is None or call.state != "incoming" or incoming.decided.is_set():
            raise ServiceError("wrong_state", "This call is no longer ringing.")
        incoming.accept(_sdp(body))
        others = [tab for tab in call.context.browsers if tab is not session]
        await call.notify("call.taken", {"by": "answered"}, tabs=others)

    async def _reject(self, call, body, session):
        incoming = self.incoming.get(call.id)
        if incoming is None or incoming.decided.is_set():
            raise ServiceError("wrong_state", "This call is no longer ringing.")
        busy = body.get("reason") == "busy"
        incoming.reject(486 if busy else 603, "You declined the call." if not busy else "You were busy.")
        if busy and incoming.forwarding.busy:  # CFB: the call goes on, and her page says where
            return {"forwarded_to": incoming.forwarding.busy}

    async def _hangup(self, call, body, session):
        await self._hang_up(call, "You hung up.")

    async def _hang_up(self, call: Call, reason: str, reject_status: int = 603) -> None:
        outgoing, incoming = self.outgoing.get(call.id), self.incoming.get(call.id)
        if outgoing is not None and call.state in ("calling", "ringing", "early"):
            outgoing.cancel(reason)
        elif incoming is not None and call.state == "incoming":
            incoming.reject(reject_status, reason)
        else:
            await call.hang_up(reason)

    async def _hold(self, call, body, session):
        await in_dialog.set_hold(call, bool(body.get("hold")))

    async def _dtmf(self, call, body, session):
        digits = body.get("digits")
        if not isinstance(digits, str) or not 0 < len(digits) <= 32 or set(digits.upper()) - DTMF_DIGITS:
            raise ServiceError("bad_request", "Digits are 0-9, *, # and A-D.")
        if call.state != "active":
            raise ServiceError("wrong_state", "Digits can be sent once the call is answered.")
        if self.settings["dtmf_method"] == "info":
            await in_dialog.send_dtmf_info(call, digits.upper())
        else:
            await call.bridge.send_dtmf(digits.upper(), to=Leg.IMS)

    async def _quality(self, call, body, session):
        """The IMS leg's audio both ways (the page measures its own leg with getStats)."""
        try:
            stats = await call.bridge.stats()
        except MediaError:
            return {"ims": None}  # the call's media has just ended
        return {"ims": stats.ims_quality.to_json() if stats.ims_quality is not None else None}

    async def _transfer(self, call, body, session):
        if call.state != "active":
            raise ServiceError("wrong_state", "Only a call in progress can be transferred.")
        target = target_uri(body.get("target"), self.gateway.config.ims.domain, action="call")
        response = await call.in_dialog("REFER", headers=[("Refer-To", f"<{target}>"),
                                                          ("Referred-By", f"<{call.identity}>")])
        if not 200 <= response.status < 300:
            raise ServiceError("transfer_failed", f"The other side did not accept the transfer "
                                                  f"({response.status} {response.reason}).")
        await call.hang_up(f"Transferred to {target}.")

    async def _reattach(self, call, body, session):
        try:
            return {"sdp": await call.bridge.restart_browser_leg(_sdp(body))}
        except MediaError as error:
            raise ServiceError("media_failed", error.reason) from None

    # --- media events ----------------------------------------------------------------------------------------

    async def _watch_media(self, call: Call) -> None:
        async for event in call.bridge.events():
            if isinstance(event, IceStateChanged):
                await call.notify("call.media", {"state": event.state})
                if event.state == "failed" and call.state != "ended":
                    await call.notify("call.media", {"state": "failed", "reason": "No audio connection between "
                                                     "this window and the gateway (ICE failed)."})
            elif isinstance(event, CodecChosen):
                await call.notify("call.media", {"codec": event.browser_codec, "ims_codec": event.ims_codec,
                                                 "relay": event.mode == "relay"})
            elif isinstance(event, DtmfReceived) and event.leg == Leg.IMS:
                await call.notify("call.dtmf", {"digit": event.digit})
            elif isinstance(event, MediaTimeout) and event.leg == Leg.IMS and call.state == "active" \
                    and not (call.held_local or call.held_remote):
                await call.hang_up(f"No audio came from the other side for {event.seconds:.0f} s; "
                                   "the call was ended.")
            # --- video (webims_call_media; docs/voice.md "Video") ---
            elif isinstance(event, VideoChanged):
                await call.notify("call.media", {"video": _video_summary(event)})
            elif isinstance(event, NegotiationNeeded):
                self.nursery.start_soon(self._offer_anew, call)
            elif isinstance(event, KeyframeNeeded):
                self.nursery.start_soon(in_dialog.ask_for_keyframe, call)  # RFC 5168 INFO, besides the RTCP PLI
        if call.bridge.lost is not None and call.state != "ended":  # its media process stopped under it
            await self._hang_up(call, call.bridge.lost, reject_status=500)

    async def _offer_anew(self, call: Call) -> None:
        """The browser's media changed (camera on or off): re-INVITE the phone with the bridge's new offer."""
        try:
            async with call._reinvite_lock:
                if call.state != "active":
                    return
                response = await in_dialog.reinvite(call, (await call.bridge.ims_offer()).encode())
            if not 200 <= response.status < 300:
                _log.info("call.reoffer_refused", call=call.id, status=response.status)
        except Exception:  # the plugin boundary: a failed re-INVITE must not end the gateway
            _log.exception("call.reoffer_failed", call=call.id)

    # --- the IMS side ------------------------------------------------------------------------------------------

    @hookimpl
    async def webims_handle_sip_request(self, request, context, transaction):
        if request.to_tag is not None:
            call = next((c for c in self.calls.values()
                         if c.context is context and c.owns_dialog(request.call_id, request.to_tag)), None)
            if call is None:
                await transaction.reply(481)
                return
            await in_dialog.handle_request(call, transaction)
            return
        await self._incoming(request, context, transaction)

    async def _incoming(self, request, context, transaction):
        called = _first_address(request, "P-Called-Party-ID") or str(request.to.uri)
        caller = _first_name_addr(request, "P-Asserted-Identity") or request.from_
        if "id" in (request.headers.get("Privacy") or "").split(";"):
            peer_uri, peer_name = "anonymous", "Withheld number"
        else:
            peer_uri, peer_name = str(caller.uri), caller.display_name or ""
        call = _Call(self, context, f"c{next(self._ids)}", "incoming", called, peer_uri, peer_name)
        withheld = peer_uri == "anonymous" or peer_uri.startswith("sip:anonymous@")  # RFC 3323 §4.1.1.3
        blocked, rules = await self._incoming_settings(context)
        refusal = blocked.refusal(None if withheld else peer_uri)
        if refusal is not None:  # ACR / ICB: refused before anything rings, and her history keeps it
            status, why = refusal
            await transaction.reply(status, headers=[("Warning", f'399 webims "{why}"')])
            _log.info("call.barred", call=call.id, caller=peer_uri, status=status)
            await call.notify("call.barred", {**call.summary(), "reason": f"Blocked: {why}."})
            return
        forwarded = rules.without_ringing(tabs_open=bool(context.browsers))
        if forwarded is not None:
            await deflect(call, transaction, *forwarded)
            return
        try:
            call.bridge = await self.engine.new_bridge(call.id, self.call_media)
        except MediaError as error:
            await transaction.reply(503, headers=[("Warning", f'399 webims "{error.reason[:150]}"')])
            return
        incoming = IncomingCall(call, transaction, self.settings["ring_timeout"], self._timers(), rules)
        self.incoming[call.id] = incoming
        self._register(call)
        _log.info("call.incoming", call=call.id, called=called, caller=peer_uri)
        await self._run_call(call, incoming.run)


# --- video (webims_call_media; docs/voice.md "Video") -----------------------------------------------------------

class _Call(Call):
    """A call whose summaries (``call.list``, ``call.incoming``) say whether it has video."""

    def summary(self):
        return {**super().summary(), "video": self.bridge is not None and self.bridge.video.codec is not None}


def _video_summary(event: VideoChanged) -> dict:
    return {"codec": event.codec, "to_browser": event.to_browser, "to_ims": event.to_ims, "reason": event.reason,
            "reoffer": event.reoffer}


def _first_address(request, header: str) -> str | None:
    address = _first_name_addr(request, header)
    return str(address.uri) if address else None


def _first_name_addr(request, header: str) -> NameAddr | None:
    try:
        addresses = request.name_addrs(header)
    except RemoteProtocolError:
        return None
    return addresses[0] if addresses else None
