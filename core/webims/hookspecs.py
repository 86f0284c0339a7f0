"""The whole extension surface of webims, in one module.

A webims plugin is a class named by an entry point in the group ``webims``; the entry point's name is the
service name (``auth = webims_auth.plugin:AuthPlugin``). The gateway makes ONE instance of it per running
gateway and registers that instance with pluggy, so a plugin keeps its state on ``self`` and never in module
globals. Built-in services (auth, voice, im, presence, video) are found the same way as third-party ones.

Hooks marked *async* may be written as ``async def``: the gateway awaits what they return. Every hook is
optional except :func:`webims_service`.

Where a hook is "called on the owning plugin only", the gateway calls just that plugin's implementation
(pluggy's ``subset_hook_caller``); other hooks are broadcast to every enabled plugin, and an exception in one
plugin's implementation is logged and contained: it never reaches the browser of another user or another plugin.
"""

from __future__ import annotations

import pluggy

PROJECT = "webims"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- who the plugin is ------------------------------------------------------------------------------------------

@hookspec(firstresult=True)
def webims_service():
    """Describe the service this plugin provides.

    Called once, on the owning plugin only, when the gateway loads it. Must return a
    :class:`webims.service.Service`: its name (the browser protocol namespace, equal to the entry point's name),
    its version (PEP 440; the operator's ``[services]`` constraint is checked against it), the browser message
    types it accepts, and whether those need a logged-in user.
    """


@hookspec(firstresult=True)
def webims_settings_schema():
    """Declare the settings this plugin reads from its ``[settings.<name>]`` table of the operator config.

    Called on the owning plugin only, before the gateway starts and by ``webims check-config``. Return a
    mapping ``{key: webims.config.Setting}``; the core applies defaults, checks types, runs each setting's
    ``check`` and reports every problem with its key path (``settings.voice.codecs``). Unknown keys are problems
    too, so an operator's typo never passes silently. Return ``None`` (or do not implement) for "no settings".
    """


# --- gateway lifetime -------------------------------------------------------------------------------------------

@hookspec
def webims_gateway_started(gateway, settings):
    """*async* The gateway is listening; ``settings`` is this plugin's validated settings (a read-only mapping).

    Called on each plugin with its own settings. Long-running work (a media loop, a store) starts here, in
    ``gateway.nursery``, so it ends when the gateway stops. The first plugin to raise stops the gateway with a
    clear startup error.
    """


@hookspec
def webims_gateway_stopping(gateway):
    """*async* The gateway is shutting down; release what :func:`webims_gateway_started` took. Broadcast."""


# --- the browser side -------------------------------------------------------------------------------------------

@hookspec
def webims_session_started(session):
    """*async* A browser tab completed ``hello`` and is now a :class:`webims.gateway.session.BrowserSession`.

    Broadcast. ``session.context`` is ``None`` until a service (normally ``auth``) attaches a registration context.
    """


@hookspec
def webims_session_ended(session, reason):
    """*async* A browser session ended (``reason`` is a short text: "closed by browser", "logout", ...).

    Broadcast. The registration context may outlive the session (reload within the grace period).
    """


@hookspec(firstresult=True)
def webims_handle_message(request, session):
    """*async* Handle one browser request for this plugin's namespace.

    Called on the owning plugin only: the one whose service name equals ``request.service``, and only for the
    message types its :class:`~webims.service.Service` declares. ``request`` is a
    :class:`webims.protocol.Envelope` of kind ``request``; ``session`` is the tab it came from.

    Return the response body (a JSON-serialisable ``dict``, or ``None`` for an empty body). Raise a
    :class:`webims.errors.ServiceError` to answer with an error code and a reason a person can read. Any other
    exception is contained by the gateway: that browser gets ``internal_error`` with a reference to the log line,
    and nothing else is affected.
    """


@hookspec
def webims_portal_assets():
    """Contribute browser-side assets. Called on each plugin once at startup.

    Return a :class:`webims.service.PortalAssets` (a directory served under ``/plugins/<name>/`` and the ES
    module / stylesheet file names in it that the portal loads), or ``None``. Only enabled services' assets are
    served, so a disabled service never appears in the portal.
    """


# --- calls ------------------------------------------------------------------------------------------------------

@hookspec
def webims_call_media(settings):
    """Add a media kind to calls, beside their audio (the video service adds ``video`` this way).

    Called on each enabled plugin, with its own validated ``settings``, once by the service that carries calls
    (voice) when the gateway starts. Return a :class:`webims.service.CallMedia` (the SDP media type, its codecs
    in preference order, bitrate and picture limits), or ``None``. Every call set up afterwards negotiates that
    kind on both legs and its media engine relays it; a call whose other side lacks it goes on without it.
    :func:`webims.service.collect_call_media` is how a calling service asks; two plugins adding the same kind
    is a startup error naming both.
    """


# --- the IMS side -----------------------------------------------------------------------------------------------

@hookspec
def webims_sip_routes():
    """Declare which incoming SIP requests this plugin handles. Called on each plugin once at startup.

    Return an iterable of :class:`webims.service.SipRoute` (method, and optionally event package or content
    type). Two plugins claiming the same route is a startup error naming both.
    """


@hookspec
def webims_capabilities():
    """Declare what this plugin's service lets her receive. Called on each plugin once at startup.

    Return a :class:`webims.service.Capabilities`: media feature tags (RFC 3840; e.g. the MMTel ICSI and
    ``audio`` for calls) and the content types it takes, or ``None``. The gateway puts the enabled services'
    tags together in her Contact (REGISTER, dialogs she sets up or answers) and answers OPTIONS for her with
    them (RFC 3261 §11), with an Accept of every service's content types.
    """


@hookspec(firstresult=True)
def webims_handle_sip_request(request, context, transaction):
    """*async* Handle an incoming SIP request for one of this plugin's routes.

    Called on the owning plugin only. ``context`` is the :class:`~webims.context.RegistrationContext` of the
    subscriber it is for; ``transaction`` is the server transaction to answer on. The plugin must send a final
    response; if it returns without one, or raises, the gateway answers 500 with a Warning naming the plugin.
    """


@hookspec
def webims_context_changed(context, change):
    """*async* A registration context changed: registered, refreshed, identities changed, reconnecting, ended.

    Broadcast. ``change`` is a :class:`webims.context.ContextChange`. Plugins that need the changes as a stream
    may instead iterate ``context.watch()``; both see the same changes in the same order.
    """
