// One call: its state as the person sees it, its RTCPeerConnection to the gateway, and the voice requests about it
// (docs/voice.md). The views render a Call; they never talk to the gateway themselves.
//
// States: "calling" → "ringing" | "early" → "active" → "ended" for her calls, "incoming" → "answering" →
// "active" → "ended" for calls to her. `held`, `muted` and `media` (the audio path) are separate from the state.
// A Call dispatches "change" whenever anything shown changed, and "ended" once.

import { StreamAnalyser } from "./audio.js";
import { BrowserLegMeter, describeQuality } from "./quality.js";

export const LIVE_STATES = new Set(["calling", "ringing", "early", "incoming", "answering", "active"]);

// Audio path states (`call.media.state`) and what they mean to her.
const MEDIA_TEXT = {
  connecting: "Connecting audio…",
  connected: "",
  interrupted: "Audio interrupted; trying to get it back…",
  reconnecting: "Reconnecting the audio…",
  failed: "No audio connection.",
};

// A connected audio path that stops (a network change, Wi-Fi to mobile) is given this long to come back by itself
// before we build a new one: Chrome calls a path "failed" only after about 30 s without an answer.
export const RECOVER_AFTER_MS = 4000;
const RECOVERY_ATTEMPTS = 3;
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Why the operator's TURN server gave this window no relay (an icecandidateerror), in words; null for errors of
// STUN-only servers, which cost nothing but a candidate.
export function turnFailure(event) {
  if (!/^turns?:/.test(event.url || "")) return null;
  if ([401, 403, 431, 437, 441].includes(event.errorCode)) {
    return "the media relay (TURN server) refused this window's credentials. Tell your operator.";
  }
  if (event.errorCode === 701) return "the media relay (TURN server) could not be reached from this network.";
  return `the media relay (TURN server) answered ${event.errorCode} ${event.errorText || ""}`.trim() + ".";
}

export class Call extends EventTarget {
  constructor(service, { id = null, direction, peer = {}, identity = "", calledIdentity = null, privacy = false,
    offer = null, state = null }) {
    super();
    this.service = service;
    this.client = service.client;
    this.id = id;
    this.direction = direction;
    this.peer = { uri: peer.uri || "", display_name: peer.display_name || "" };
    this.identity = identity;
    this.calledIdentity = calledIdentity;
    this.privacy = privacy;
    this.state = state || (direction === "incoming" ? "incoming" : "calling");
    this.held = { local: false, remote: false };
    this.muted = false;
    this.media = { state: "new", reason: "" };
    this.codec = "";
    this.quality = { grade: null, text: "" };  // how it sounds, in words (quality.js), while active
    this.notice = "";          // the last thing that happened to this call, e.g. "Could not hold: …"
    this.endReason = "";
    this.outcome = null;       // for the history: answered | missed | declined | failed | cancelled | elsewhere
    this.createdAt = Date.now();
    this.connectedAt = null;
    this.endedAt = null;
    this.offer = offer;        // the gateway's SDP offer while an incoming call rings
    this.pc = null;
    this.micTrack = null;
    this.remoteStream = null;
    this.audio = null;
    this._analyser = null;
    this._trickle = null;      // candidates wait here until the gateway knows the call (and has our SDP)
    this._candidateSends = [];
    this._endSent = false;
    this._hangingUp = null;    // what she did to end the call (hang up, decline) while the gateway confirms it
    this._recoveryTimer = null;
    this._recovering = false;
    this._recoveries = 0;      // new audio paths built since the last one that connected
  }

  get live() {
    return LIVE_STATES.has(this.state);
  }

  // --- setting up the media, one RTCPeerConnection per call ---------------------------------------------------

  // Outgoing: the offer goes at once, candidates follow with call.candidate (trickle ICE).
  async start(target) {
    const pc = await this._newPeerConnection("offer");
    await pc.setLocalDescription(await pc.createOffer());
    const reply = await this.client.request("voice", "call.start", {
      target, identity: this.identity || undefined, sdp: pc.localDescription.sdp, privacy: this.privacy,
      name: this.peer.display_name || undefined,
    }, { timeoutMs: 30000 });
    this.id = reply.call;
    this.service.adopt(this);
    if (this.state === "ended") {  // she hung up before the gateway had answered call.start
      this.client.request("voice", "call.hangup", { call: this.id }).catch(() => {});
      return;
    }
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    this._trickleNow();
  }

  // Incoming: answer the gateway's offer from call.incoming.
  async answer() {
    if (!this.offer) throw new Error("This call can no longer be answered here.");
    this._set({ state: "answering", notice: "" });
    const pc = await this._newPeerConnection("answer", this.offer);
    await pc.setLocalDescription(await pc.createAnswer());
    await this.client.request("voice", "call.accept", { call: this.id, sdp: pc.localDescription.sdp });
    this.offer = null;
    this._trickleNow();
    if (this.state === "answering") this._connected();
  }

  // After a reload: a new offer for a call the gateway kept (it restarts ICE; the SIP dialog went on).
  async reattach() {
    const pc = await this._newPeerConnection("offer");
    await pc.setLocalDescription(await pc.createOffer());
    const reply = await this.client.request("voice", "call.reattach", { call: this.id, sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    this._trickleNow();
  }

  async _newPeerConnection(role, remoteOffer = null) {
    const track = await this.service.devices.microphoneTrack();  // fails with a readable reason, before any signalling
    const configuration = await this.service.rtcConfiguration();
    this._closePeer();
    this.micTrack = track;
    track.enabled = !this.muted;
    const pc = new RTCPeerConnection(configuration);
    this.pc = pc;
    this._trickle = [];
    this._candidateSends = [];
    this._endSent = false;
    pc.addEventListener("icecandidate", (event) => this._onCandidate(pc, event.candidate));
    pc.addEventListener("track", (event) => this._onTrack(pc, event));
    pc.addEventListener("connectionstatechange", () => this._onConnectionState(pc));
    pc.addEventListener("icecandidateerror", (event) => { pc.turnFailure ??= turnFailure(event); });
    if (this.media.state !== "reconnecting") this._setMedia("connecting");
    if (remoteOffer) await pc.setRemoteDescription({ type: "offer", sdp: remoteOffer });
    pc.addTrack(track, new MediaStream([track]));  // answering: takes over the transceiver the offer made
    await this.service.runExtensions("peerConnection", this, pc, role);
    return pc;
  }

  _onCandidate(pc, candidate) {
    if (pc !== this.pc) return;
    const end = !candidate || !candidate.candidate;  // Chromium also signals the end with an empty candidate
    if (end && this._endSent) return;
    if (end) this._endSent = true;
    const body = end ? { candidate: null }
      : { candidate: candidate.candidate, sdp_mid: candidate.sdpMid, sdp_mline_index: candidate.sdpMLineIndex };
    if (this._trickle) this._trickle.push(body);
    else this._sendCandidate(body);
  }

  _trickleNow() {
    const waiting = this._trickle || [];
    this._trickle = null;
    for (const body of waiting) this._sendCandidate(body);
  }

  _sendCandidate(body) {
    const send = () => this.client.request("voice", "call.candidate", { call: this.id, ...body }).catch(() => {});
    if (body.candidate === null) {
      // Requests are handled concurrently on the gateway: the end marker must not overtake a candidate.
      Promise.allSettled(this._candidateSends).then(send);
    } else {
      this._candidateSends.push(send());
    }
  }

  _onTrack(pc, event) {
    if (pc !== this.pc || event.track.kind !== "audio") return;
    this.remoteStream = event.streams[0] || new MediaStream([event.track]);
    this._analyser?.close();
    this._analyser = null;
    this.service.playRemoteAudio(this);
  }

  _onConnectionState(pc) {
    if (pc !== this.pc) return;
    const state = pc.connectionState;
    if (state === "connected") {
      pc.wasConnected = true;
      this._recoveries = 0;
      clearTimeout(this._recoveryTimer);
      this._setMedia("connected");
    } else if (state === "disconnected") {
      this._setMedia("interrupted");
      if (pc.wasConnected) this._recoverLater(pc, RECOVER_AFTER_MS);
    } else if (state === "failed") {
      if (pc.wasConnected || this._recoveries > 0) this._recoverLater(pc, 0);
      else this._setMedia("failed", this._noPath("this browser could not reach the gateway's media relay."));
    }
  }

  // Why there is no audio path: the TURN server's refusal when there was one, else `why`.
  _noPath(why = "") {
    return `No audio connection: ${this.pc?.turnFailure || why}`;
  }

  // The audio path of a call that had sound stopped: the SIP call goes on at the gateway, so a new peer
  // connection re-attaches to it (call.reattach, an ICE restart there), as after a reload. While the gateway
  // cannot be reached we wait for the reconnection; a path that does not come back is rebuilt up to
  // RECOVERY_ATTEMPTS times before the card says it has no audio.
  _recoverLater(pc, delay) {
    clearTimeout(this._recoveryTimer);
    this._recoveryTimer = setTimeout(() => this._recover(pc), delay);
  }

  async _recover(pc) {
    if (pc !== this.pc || !this.live || this.id === null || this._recovering) return;
    if (pc.connectionState === "connected") return;
    this._recovering = true;
    try {
      let refused = null;  // the gateway's reason when it refused the last attempt
      while (this.live && this._recoveries < RECOVERY_ATTEMPTS) {
        if (refused) await sleep(1000 * 2 ** (this._recoveries - 1));
        this._recoveries += 1;
        this._setMedia("reconnecting", `Reconnecting the audio (attempt ${this._recoveries} of ${RECOVERY_ATTEMPTS})…`);
        try {
          await this.reattach();  // the new peer connection's own states take over from here
          return;
        } catch (error) {
          if (error.code !== "offline") {
            refused = error;
            continue;
          }
          this._recoveries -= 1;  // the gateway could not be reached: wait for it, the attempt is not used up
          refused = null;
          await this._reconnected();
        }
      }
      if (this.live) {
        this._setMedia("failed", refused ? `No audio connection: ${refused.message}`
          : "No audio connection: it was lost and could not be re-established. "
            + "Check your network connection, or hang up and call again.");
      }
    } finally {
      this._recovering = false;
    }
  }

  _reconnected() {
    return new Promise((resolve) => {
      const done = () => { clearInterval(check); this.client.removeEventListener("reconnected", done); resolve(); };
      const check = setInterval(() => { if (!this.live) done(); }, 1000);
      this.client.addEventListener("reconnected", done);
    });
  }

  _setMedia(state, reason = "") {
    if (this.media.state === state && this.media.reason === reason) return;
    this.media = { state, reason: reason || MEDIA_TEXT[state] || "" };
    this._changed();
  }

  // --- what the gateway tells (voice events) -----------------------------------------------------------------

  onEvent(type, body) {
    switch (type) {
      case "call.progress":
        if (["calling", "ringing", "early"].includes(this.state)) this._set({ state: body.state === "early" ? "early" : "ringing" });
        break;
      case "call.answered":
        if (this.live) this._connected();
        break;
      case "call.held":
        this._set({ held: { local: Boolean(body.local), remote: Boolean(body.remote) } });
        break;
      case "call.dtmf":
        this._set({ notice: `The other side pressed ${body.digit}.` });
        break;
      case "call.media":  // the gateway's view of the browser leg: ICE state, codec (and other services' media)
        this.codec = body.codec || this.codec;
        if (body.state === "failed") {
          this._setMedia("failed", this.pc?.turnFailure ? this._noPath()
            : body.reason || this._noPath("the gateway could not reach this browser's audio."));
        } else if (body.state === "completed" || body.state === "connected") {
          if (this.media.state !== "failed" || this.pc?.connectionState === "connected") this._setMedia("connected");
        } else if (body.state === "checking") {
          if (this.media.state !== "connected") this._setMedia("connecting");
        }
        break;
      case "call.taken":
        this.end(body.by === "answered" ? "Answered in another tab." : "Answered or declined in another tab.",
          "elsewhere");
        break;
      case "call.ended":
        if (this._hangingUp && body.status !== 302) this.end(this._hangingUp.words, this._hangingUp.outcome);
        else this.end(body.reason || "The call ended.", body.status === 302 ? "forwarded" : null);
        break;
      default:
        break;
    }
  }

  // The gateway's offer for a call that rang before a reload (call.incoming sent again to this tab).
  offerAgain(sdp) {
    this._set({ offer: sdp });
  }

  // A call.list summary (after a reload or a reconnect).
  applySummary(summary) {
    const state = summary.state === "incoming" && this.state === "answering" ? "answering" : summary.state;
    this._set({ state, held: { local: Boolean(summary.held?.local), remote: Boolean(summary.held?.remote) } });
    if (state === "active" && !this.connectedAt) {
      this.connectedAt = summary.started_at ? Math.min(Date.now(), summary.started_at * 1000) : Date.now();
    }
  }

  // --- what she does -----------------------------------------------------------------------------------------

  async hangup() {
    const words = this.connectedAt ? "You hung up." : this.direction === "incoming" ? "You declined the call."
      : "You cancelled the call.";
    const outcome = this.connectedAt ? "answered" : this.direction === "incoming" ? "declined" : "cancelled";
    if (this.id === null) {  // call.start has not been answered yet: hang up as soon as it is
      this.end(words, outcome);
      return;
    }
    // The gateway's call.ended may come before the reply: her own words say what she did.
    this._hangingUp = { words, outcome };
    try {
      await this.client.request("voice", "call.hangup", { call: this.id });
    } catch (error) {
      this._hangingUp = null;
      if (error.code !== "no_such_call") this._set({ notice: `Could not hang up: ${error.message}` });
      if (error.code !== "no_such_call" && error.code !== "offline") return;
    }
    this.end(words, outcome);
  }

  async reject(reason) {
    const words = reason === "busy" ? "You were busy." : "You declined the call.";
    this._hangingUp = { words, outcome: "declined" };
    let reply;
    try {
      reply = await this.client.request("voice", "call.reject", { call: this.id, reason });
    } catch (error) {
      this._hangingUp = null;
      throw error;
    }
    if (reply?.forwarded_to) this.end(`Forwarded to ${reply.forwarded_to}: you were busy.`, "forwarded");
    else this.end(words, "declined");
  }

  async hold(on) {
    await this.client.request("voice", "call.hold", { call: this.id, hold: on });
    this._set({ held: { ...this.held, local: on } });
  }

  setMuted(on) {
    if (this.micTrack) this.micTrack.enabled = !on;
    this._set({ muted: on });
  }

  async sendDigits(digits) {
    await this.client.request("voice", "call.dtmf", { call: this.id, digits });
  }

  async transfer(target) {
    await this.client.request("voice", "call.transfer", { call: this.id, target });
    this._set({ notice: `Transferring to ${target}…` });
  }

  // A new microphone (settings changed): swap the track under the running call.
  async useMicrophone(track) {
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === "audio" || s.track === null);
    if (!sender || !this.live) {
      track.stop();
      return;
    }
    track.enabled = !this.muted;
    await sender.replaceTrack(track);
    this.micTrack?.stop();
    this.micTrack = track;
  }

  // --- reading it (views, test hooks) ------------------------------------------------------------------------

  // Called every few seconds while the call is up (voice.js): both legs' figures, put in words for the card.
  async refreshQuality() {
    if (this.state !== "active" || !this.pc) return;
    this._meter ??= new BrowserLegMeter();
    const [browser, ims] = await Promise.all([
      this._meter.sample(this.pc).catch(() => null),
      this.client.request("voice", "call.quality", { call: this.id }).then((reply) => reply.ims, () => null),
    ]);
    const quality = describeQuality({ browser, ims });
    if (this.state === "active" && quality.text !== this.quality.text) this._set({ quality });
  }

  analyser() {
    if (!this.remoteStream) return null;
    this._analyser ??= new StreamAnalyser(this.remoteStream);
    return this._analyser;
  }

  snapshot() {
    return {
      id: this.id, direction: this.direction, state: this.state, peer: { ...this.peer }, identity: this.identity,
      calledIdentity: this.calledIdentity, held: { ...this.held }, muted: this.muted, media: { ...this.media },
      endReason: this.endReason, outcome: this.outcome, micEnabled: this.micTrack ? this.micTrack.enabled : null,
      connectionState: this.pc ? this.pc.connectionState : null,
    };
  }

  // --- ending ------------------------------------------------------------------------------------------------

  end(reason, outcome = null) {
    if (this.state === "ended") return;
    this.outcome = outcome || (this.connectedAt ? "answered" : this.direction === "incoming" ? "missed" : "failed");
    this.endReason = reason;
    this.endedAt = Date.now();
    this.state = "ended";
    this._closePeer();
    this._changed();
    this.dispatchEvent(new CustomEvent("ended"));
  }

  _closePeer() {
    clearTimeout(this._recoveryTimer);
    this._analyser?.close();
    this._analyser = null;
    if (this.pc) {
      this.pc.close();
      this.pc = null;
    }
    this.micTrack?.stop();
    this.micTrack = null;
    if (this.audio) {
      this.audio.srcObject = null;
      this.audio.remove();
      this.audio = null;
    }
    this.remoteStream = null;
  }

  _connected() {
    this.connectedAt ??= Date.now();
    this._set({ state: "active", notice: "" });
  }

  _set(changes) {
    Object.assign(this, changes);
    this._changed();
  }

  _changed() {
    this.dispatchEvent(new CustomEvent("change"));
  }
}
