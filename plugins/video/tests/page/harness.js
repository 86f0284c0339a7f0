// A stand-in world for the video page module, in a real Chromium: a portal whose voice module only offers its
// extension point, a client whose "gateway" is a second RTCPeerConnection in this page (it answers the call's
// offers and sends a picture back), and one call. test_video_page.py drives it through window.harness.

import { mount } from "./video.js";

const listeners = [];

class Gateway {
  constructor() {
    this.pc = new RTCPeerConnection();
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 240;
    const paint = canvas.getContext("2d");
    setInterval(() => {
      paint.fillStyle = `hsl(${Date.now() / 10 % 360} 80% 50%)`;
      paint.fillRect(0, 0, 320, 240);
    }, 50);
    this.track = canvas.captureStream(15).getVideoTracks()[0];
    this.seen = [];
  }

  async answer(offer) {
    await this.pc.setRemoteDescription({ type: "offer", sdp: offer });
    for (const transceiver of this.pc.getTransceivers()) {
      if (transceiver.receiver.track.kind !== "video") continue;
      if (!transceiver.sender.track) await transceiver.sender.replaceTrack(this.track);
      transceiver.direction = "sendrecv";
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await gathered(this.pc);
    this.seen.push(offer);
    return this.pc.localDescription.sdp;
  }
}

// Candidates go inside the descriptions (no trickling in this harness).
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => pc.addEventListener("icegatheringstatechange", () => {
    if (pc.iceGatheringState === "complete") resolve();
  }));
}

const gateway = new Gateway();
const client = {
  async request(service, type, body) {
    if (type === "video.settings") {
      return { enabled: true, codecs: ["VP8"], max_width: 640, max_height: 480, max_framerate: 15, max_bitrate: 800 };
    }
    if (type === "video.renegotiate") return { sdp: await gateway.answer(body.sdp) };
    throw new Error(`unexpected request ${service}/${type}`);
  },
  on(service, type, handler) {
    listeners.push({ service, type, handler });
    return () => {};
  },
};

const extensions = [];
const portal = Object.assign(new EventTarget(), {
  account: { private_identity: "mary" },
  voice: { extendCall: (extension) => { extensions.push(extension); return () => {}; } },
});
mount({ client, panel: document.getElementById("panel"), portal });

class Call extends EventTarget {
  constructor() {
    super();
    this.id = "c1";
    this.state = "calling";
    this.pc = null;
  }
}

window.harness = {
  async startCall() {
    while (!extensions.length) await new Promise((resolve) => setTimeout(resolve, 20));
    const call = new Call();
    const slot = document.createElement("div");
    document.body.append(slot);
    for (const extension of extensions) extension.controls(call, slot);
    call.pc = new RTCPeerConnection();
    call.pc.addTransceiver("audio");
    for (const extension of extensions) await extension.peerConnection(call, call.pc, "offer");
    await call.pc.setLocalDescription(await call.pc.createOffer());
    await gathered(call.pc);
    await call.pc.setRemoteDescription({ type: "answer", sdp: await gateway.answer(call.pc.localDescription.sdp) });
    call.state = "active";
    call.dispatchEvent(new CustomEvent("change"));
    window.call = call;
  },
  event(type, body) {
    for (const { handler, type: wanted } of listeners) if (wanted === type) handler({ type, call: "c1", ...body });
  },
  offers: () => gateway.seen.length,
  lastOfferDirection: () => {
    const found = gateway.seen.at(-1).match(/m=video[\s\S]*?a=(sendrecv|recvonly|sendonly|inactive)/);
    return found ? found[1] : null;
  },
};
