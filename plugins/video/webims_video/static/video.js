// The video service's page module: video in the voice service's calls (docs/video.md). It adds no calls of its own:
// it extends each call of the voice module through its extension point (portal.voice.extendCall, voice.js) —
//
//   peerConnection(call, pc, role)  adds the video line (the camera if she wants it on) to every connection;
//   controls(call, slot)            puts the other side's picture (large), hers (small) and a camera button in
//                                   the call's card;
//   ended(call)                     closes the camera.
//
// What the gateway says about a call's video comes with the voice events: call.incoming's "video" (the phone
// offers video) and call.media's "video" ({codec, to_browser, to_ims, reason, reoffer}, docs/voice.md "Video").
// Modules: camera.js (choosing and opening the camera), call-video.js (one call's video).
//
// Test hooks, read-only, on window.webimsVideo: calls() (snapshots: id, cameraOn, video, remote picture size).

import { Camera } from "./camera.js";
import { CallVideo, setText } from "./call-video.js";

const VOICE_WAIT_MS = 10000;

class VideoService {
  constructor(client) {
    this.client = client;
    this.camera = new Camera();
    this.calls = new Map();        // Call (voice's) -> CallVideo
    this.offered = new Map();      // call id -> the phone offered video (call.incoming)
    this.early = new Map();        // call id -> call.media video body that came before the call had its id
  }

  get enabled() {
    return Boolean(this.camera.limits.enabled) && this.camera.available;
  }

  async loadLimits() {
    this.camera.limits = await this.client.request("video", "video.settings");
    for (const video of this.calls.values()) video.render();
  }

  forCall(call) {
    let video = this.calls.get(call);
    if (!video) {
      video = new CallVideo(call, this);
      this.calls.set(call, video);
    }
    return video;
  }

  // The voice module's extension (see the top of this file).
  extension() {
    return {
      peerConnection: async (call, pc, role) => {
        if (!this.enabled) return;
        const video = this.forCall(call);
        await video.attach(pc, role, { videoCall: this.offered.get(call.id) ?? false });
        const early = this.early.get(call.id);
        if (early) video.onVideoState(early);
      },
      controls: (call, slot) => slot.append(this.forCall(call).element),
      ended: (call) => {
        this.calls.get(call)?.close();
        this.calls.delete(call);
        this.offered.delete(call.id);
        this.early.delete(call.id);
      },
    };
  }

  onVideoState(callId, body) {
    const video = [...this.calls.values()].find((v) => v.call.id === callId);
    if (video) video.onVideoState(body);
    else this.early.set(callId, body);
  }
}

export function mount({ client, panel, portal }) {
  const service = new VideoService(client);
  const settings = settingsCard(service);
  panel.append(settings.element);

  client.on("voice", "call.incoming", (detail) => service.offered.set(detail.call, Boolean(detail.video)));
  client.on("voice", "call.media", (detail) => {
    if (detail.video) service.onVideoState(detail.call, detail.video);
  });
  const onLogin = () => service.loadLimits()
    .then(() => settings.show(service.enabled))
    .catch(() => settings.show(false));
  portal.addEventListener("login", onLogin);
  portal.addEventListener("logout", () => settings.show(false));
  service.camera.addEventListener("camerachange", () => {
    for (const video of service.calls.values()) video.switchCamera().catch((error) => video._notice(error.message));
  });
  if (portal.account) onLogin();

  whenVoice(portal).then((voice) => voice.extendCall(service.extension()))
    .catch((error) => console.warn(error.message));
  Object.defineProperty(window, "webimsVideo", {
    value: Object.freeze({ calls: () => [...service.calls.values()].map((video) => video.snapshot()) }),
    configurable: false, writable: false,
  });
}

// portal.js mounts the modules in the order of /portal.json, the operator's [services] order: if it lists video
// before voice, the voice module's extension point (portal.voice) does not exist yet when this module mounts.
function whenVoice(portal) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const look = () => {
      if (portal.voice?.extendCall) resolve(portal.voice);
      else if (Date.now() - started > VOICE_WAIT_MS) reject(new Error("Video needs the voice service: not loaded."));
      else setTimeout(look, 50);
    };
    look();
  });
}

// The settings card: which camera, and whether calls start with it on.
function settingsCard(service) {
  const camera = service.camera;
  const select = document.createElement("select");
  select.id = "video-camera";
  const startOn = document.createElement("input");
  startOn.type = "checkbox";
  startOn.id = "video-start-on";
  startOn.checked = camera.settings.startOn;
  const element = document.createElement("details");
  element.className = "card video-settings";
  element.hidden = true;
  const summary = document.createElement("summary");
  const title = document.createElement("h2");
  setText(title, "Video settings");
  summary.append(title);
  const label = (target, text) => {
    const node = document.createElement("label");
    node.htmlFor = target;
    setText(node, text);
    return node;
  };
  const check = document.createElement("div");
  check.className = "check";
  check.append(startOn, label("video-start-on", "Camera on when I call, and when I answer a video call"));
  element.append(summary, label("video-camera", "Camera"), select, check);

  const refresh = async () => {
    const cameras = await camera.list();
    select.replaceChildren(...cameras.map(({ id, label: text }) => {
      const option = document.createElement("option");
      option.value = id;
      setText(option, text);
      option.selected = id === camera.settings.camera;
      return option;
    }));
  };
  select.addEventListener("change", () => camera.choose({ camera: select.value }));
  startOn.addEventListener("change", () => camera.choose({ startOn: startOn.checked }));
  element.addEventListener("toggle", () => { if (element.open) refresh().catch(() => {}); });
  navigator.mediaDevices?.addEventListener?.("devicechange", () => refresh().catch(() => {}));
  return { element, show: (visible) => { element.hidden = !visible; } };
}
