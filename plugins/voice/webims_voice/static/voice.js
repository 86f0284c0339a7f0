// The voice service's page module: a dialer, the calls panel (several calls: ringing, active, on hold), the
// incoming-call banners with a ringtone and a desktop notification, the call history and the audio settings.
// It speaks the voice messages of docs/voice.md through the core client and shows only while she is logged in.
//
// Modules: this one (the calls, the gateway's events, reloads), phone-view.js (the layout and her actions),
// call.js (one call and its RTCPeerConnection), call-view.js / incoming-view.js (a call's card and banner),
// dialer.js, history.js + history-view.js, settings-view.js + devices.js, audio.js (ringtone, analysers),
// notify.js (desktop notifications), dom.js (building elements from text only).
//
// Extension point, for the video service and others: `portal.voice` (an EventTarget) —
//
//   const stop = portal.voice.extendCall({
//     // For every RTCPeerConnection of a call (the first set-up and each re-attach after a reload), when tracks
//     // may be added: role "offer" before the offer is made, role "answer" after the gateway's offer was applied
//     // (its m-lines' transceivers exist). E.g. pc.addTransceiver(cameraTrack, { direction: "sendrecv" }).
//     peerConnection(call, pc, role) {},
//     // A card was made for the call: put your own controls into `slot` (inside the card, after the voice ones).
//     controls(call, slot) {},
//     // The call is over: release what you took.
//     ended(call) {},
//   });
//
// and events on portal.voice: "callcreated" and "callended" (detail: { call }). Hooks may be async; a hook that
// throws is logged and skipped, never breaks the call. The Call object (call.js) is the extension's read view:
// id, state, peer, pc, remoteStream, and its "change" event.
//
// Test hooks, read-only, on window.webimsVoice: calls() (snapshots with states), dominantFrequency(callId)
// (Hz of the remote audio, or null), remoteLevel(callId), history(), ringtone() (null, "ring" or "waiting"),
// microphoneOpen() (whether the page holds the microphone).

import { Ringer, setSoundsOutput } from "./audio.js";
import { Call } from "./call.js";
import { AudioDevices } from "./devices.js";
import { h } from "./dom.js";
import { CallHistory, entryFor, settledEntry } from "./history.js";
import { buildUi } from "./phone-view.js";

// Events for a call id the page does not know yet (they can overtake the call.start reply) wait this long.
const EARLY_EVENT_MS = 10000;
const QUALITY_EVERY_S = 3;  // how often an active call's card says how it sounds (quality.js)

class VoiceService extends EventTarget {
  constructor(client, portal) {
    super();
    this.client = client;
    this.portal = portal;
    this.devices = new AudioDevices();
    this.history = new CallHistory();
    this.ringer = new Ringer();
    this.calls = new Set();          // every live call, including outgoing ones still waiting for their id
    this._byId = new Map();
    this._early = new Map();         // call id -> [{type, body, at}]
    this._over = new Set();          // ids of calls that ended here (their late events are dropped)
    this._extensions = [];
  }

  // --- extension point (see the top of this file) -------------------------------------------------------------

  extendCall(extension) {
    this._extensions.push(extension);
    return () => { this._extensions = this._extensions.filter((e) => e !== extension); };
  }

  async runExtensions(hook, ...args) {
    for (const extension of this._extensions) {
      try {
        await extension[hook]?.(...args);
      } catch (error) {
        console.warn(`A voice extension's ${hook} hook failed: ${error.message}`);
      }
    }
  }

  // The STUN/TURN servers the operator gives pages (docs/voice.md "STUN and TURN"), asked for each new peer
  // connection: TURN credentials are short-lived. Without any, none are used (the browser reaches the gateway's
  // media directly, and no public STUN server is asked); a gateway that cannot say leaves it at that.
  async rtcConfiguration() {
    try {
      const { ice_servers: iceServers, transport_policy: policy } = await this.client.request("voice", "ice.servers");
      return { iceServers, iceTransportPolicy: policy === "relay" ? "relay" : "all" };
    } catch (error) {
      console.info("webims: no STUN/TURN servers:", error.message);
      return { iceServers: [] };
    }
  }

  // --- calls -----------------------------------------------------------------------------------------------

  add(call) {
    this.calls.add(call);
    if (call.id) this.adopt(call);
    call.addEventListener("ended", () => this._ended(call), { once: true });
    this.dispatchEvent(new CustomEvent("callcreated", { detail: { call } }));
    return call;
  }

  // The gateway named the call (call.start's reply): events that came first are applied now.
  adopt(call) {
    this._byId.set(call.id, call);
    for (const { type, body } of this._early.get(call.id) || []) call.onEvent(type, body);
    this._early.delete(call.id);
  }

  get(id) {
    return this._byId.get(id);
  }

  live() {
    return [...this.calls].filter((call) => call.live);
  }

  onEvent(detail) {
    if (["forwarding.changed", "barring.changed", "caller_id.changed"].includes(detail.type)) {
      const kind = detail.type.split(".")[0];  // forwarding, barring, caller_id
      this.dispatchEvent(new CustomEvent(kind, { detail: detail[kind] }));
      return;
    }
    if (detail.type === "call.forwarded" || detail.type === "call.barred") {  // never rang here: history keeps it
      this.history.add(settledEntry(detail, detail.type === "call.barred" ? "blocked" : "forwarded"));
      this.dispatchEvent(new CustomEvent("settled", { detail }));
      return;
    }
    const id = detail.call ?? detail.session;
    if (this._over.has(id)) return;  // late events of a call that ended here
    const call = this._byId.get(id);
    if (detail.type === "call.incoming") {
      // The gateway offers a still-ringing call again to a tab that (re)connects: after a reload the banner
      // may already be there from call.list, waiting for this offer to be answerable.
      if (!call) this.dispatchEvent(new CustomEvent("incoming", { detail }));
      else if (call.state === "incoming" && detail.sdp && !call.offer) call.offerAgain(detail.sdp);
      return;
    }
    if (call) {
      call.onEvent(detail.type, detail);
      return;
    }
    const now = Date.now();
    const waiting = (this._early.get(id) || []).filter((e) => now - e.at < EARLY_EVENT_MS);
    waiting.push({ type: detail.type, body: detail, at: now });
    this._early.set(id, waiting);
  }

  _ended(call) {
    this.calls.delete(call);
    if (call.id) {
      this._byId.delete(call.id);
      this._over.add(call.id);
    }
    if (call.outcome !== "elsewhere") this.history.add(entryFor(call));
    if (this.live().length === 0) this.devices.release();
    this.dispatchEvent(new CustomEvent("callended", { detail: { call } }));
    this.runExtensions("ended", call);
  }

  playRemoteAudio(call) {
    if (!call.audio) {
      call.audio = h("audio", { autoplay: true, class: "remote-audio" });
      this.audioShelf.append(call.audio);
    }
    call.audio.srcObject = call.remoteStream;
    if (this.devices.settings.speaker && typeof call.audio.setSinkId === "function") {
      call.audio.setSinkId(this.devices.settings.speaker).catch(() => {});
    }
    call.audio.play().catch(() => {
      // Autoplay refused (no gesture yet, e.g. right after a reload): play on her next click or key.
      const retry = () => call.audio?.play().catch(() => {});
      document.addEventListener("pointerdown", retry, { once: true, capture: true });
      document.addEventListener("keydown", retry, { once: true, capture: true });
      call.notice = "Click anywhere on the page to hear this call.";
      call.dispatchEvent(new CustomEvent("change"));
    });
  }
}

export function mount({ client, panel, portal }) {
  const voice = new VoiceService(client, portal);
  portal.voice = voice;
  const ui = buildUi(voice, portal);
  panel.append(ui.root);
  voice.audioShelf = ui.audioShelf;

  let seconds = 0;
  const tick = setInterval(() => {
    seconds += 1;
    for (const view of ui.views.values()) {
      view.tick();
      if (seconds % QUALITY_EVERY_S === 0) view.call.refreshQuality();
    }
  }, 1000);
  window.addEventListener("pagehide", () => clearInterval(tick), { once: true });

  client.on("voice", "*", (detail) => voice.onEvent(detail));
  voice.addEventListener("incoming", ({ detail }) => ui.incoming(detail));
  voice.addEventListener("callended", ({ detail }) => ui.ended(detail.call));
  voice.addEventListener("forwarding", ({ detail }) => ui.forwarding.apply(detail, "Changed in another window."));
  voice.addEventListener("barring", ({ detail }) => ui.barring.apply(detail, "Changed in another window."));
  voice.addEventListener("caller_id", ({ detail }) => ui.barring.applyCallerId(detail, "Changed in another window."));
  voice.addEventListener("settled", ({ detail }) => ui.lastCall(`Call from ${detail.peer?.uri}: ${detail.reason}`));

  const onLogin = (account) => {
    ui.root.hidden = false;
    voice.history.setOwner(account.private_identity);
    ui.dialer.setIdentity(portal.selectedIdentity);
    resync(voice, ui);
    ui.forwarding.load();
    ui.barring.load();
  };
  portal.addEventListener("login", ({ detail }) => onLogin(detail));
  portal.addEventListener("logout", () => {
    for (const call of voice.live()) call.end("You logged out.", call.connectedAt ? "answered" : "cancelled");
    voice.ringer.stop();
    voice.history.setOwner(null);
    ui.root.hidden = true;
    ui.lastCall("");
  });
  portal.addEventListener("identitychange", ({ detail }) => ui.dialer.setIdentity(detail.identity));
  // A contact's Call button in the presence module (the event's contract is in presence.js's header).
  portal.addEventListener("dial", ({ detail }) => ui.dial(detail.target, detail.name || ""));
  voice.devices.addEventListener("microphonechange", () => swapMicrophones(voice, ui));
  voice.devices.addEventListener("speakerchange", ({ detail }) => {
    for (const call of voice.live()) {
      if (typeof call.audio?.setSinkId !== "function") continue;
      call.audio.setSinkId(detail).catch((error) => ui.settings.showError(`The speaker could not be used: ${error.message}`));
    }
    setSoundsOutput(detail).catch(() => {});
  });

  exposeTestHooks(voice);
  if (portal.account) onLogin(portal.account);
}

// After login, a reload or a reconnect: the gateway's calls are the truth. Calls this page does not know are
// re-attached with a fresh offer (ICE restart on the gateway); an incoming call still ringing shows its banner.
async function resync(voice, ui) {
  let calls;
  try {
    ({ calls } = await voice.client.request("voice", "call.list"));
  } catch (error) {
    ui.lastCall(`Your calls could not be listed: ${error.message}`);
    return;
  }
  const listed = new Set(calls.map((summary) => summary.call));
  for (const call of voice.live()) {
    if (call.id && !listed.has(call.id)) call.end("The call ended while the connection to the gateway was down.");
  }
  for (const summary of calls) {
    const known = voice.get(summary.call);
    if (known) {
      known.applySummary(summary);
      continue;
    }
    if (summary.state === "ended") continue;
    if (summary.state === "incoming") {
      ui.incoming({ ...summary, sdp: summary.sdp || null, called_identity: summary.called_identity || summary.identity });
      continue;
    }
    const call = voice.add(new Call(voice, {
      id: summary.call, direction: summary.direction, peer: summary.peer, identity: summary.identity,
      state: summary.state,
    }));
    call.applySummary(summary);
    ui.show(call);
    call.reattach().catch((error) => {
      call.media = { state: "failed", reason: `No audio connection: ${error.message}` };
      call.dispatchEvent(new CustomEvent("change"));
    });
  }
}

async function swapMicrophones(voice, ui) {
  for (const call of voice.live()) {
    if (!call.pc) continue;
    try {
      await call.useMicrophone(await voice.devices.microphoneTrack());
    } catch (error) {
      ui.settings.showError(error.message);
    }
  }
}

function exposeTestHooks(voice) {
  const hooks = {
    calls: () => [...voice.calls].map((call) => call.snapshot()),
    dominantFrequency: (id) => voice.get(id)?.analyser()?.dominantFrequency() ?? null,
    remoteLevel: (id) => voice.get(id)?.analyser()?.level() ?? null,
    history: () => voice.history.entries(),
    ringtone: () => voice.ringer.kind,  // null, "ring", or "waiting" (a call comes in during another)
    microphoneOpen: () => voice.devices.open,
    audioPath: async (id) => {  // the gateway's end of the call's selected ICE pair (and our end's type), or null
      const pc = voice.get(id)?.pc;
      if (!pc) return null;
      const stats = await pc.getStats();
      for (const report of stats.values()) {
        const pair = report.type === "transport" && stats.get(report.selectedCandidatePairId);
        const remote = pair && stats.get(pair.remoteCandidateId);
        const via = pair && stats.get(pair.localCandidateId)?.candidateType;  // "relay": through TURN
        if (remote) return { address: remote.address, port: remote.port, via };
      }
      return null;
    },
  };
  Object.defineProperty(window, "webimsVoice", { value: Object.freeze(hooks), configurable: false, writable: false });
}
