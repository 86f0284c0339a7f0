// One call's video: the video transceiver on the call's RTCPeerConnection, the camera track it sends, the other
// side's picture, and the controls in the call's card (the other side large, herself small, a camera button and a
// line saying what the video does).
//
// The camera goes on and off by renegotiating the call's own connection (video/video.renegotiate): the gateway
// answers at once and re-INVITEs the phone (her video line sendrecv ⇄ recvonly). The gateway never sends the page
// an offer, so every call's connection keeps a video line, receive-only while her camera is off: the phone can add
// video whenever it likes and she sees it.

export class CallVideo {
  constructor(call, service) {
    this.call = call;
    this.service = service;
    this.transceiver = null;
    this.track = null;
    this.cameraOn = false;
    this.video = null;          // the gateway's last word on this call's video (call.media's "video")
    this.noticeText = "";       // what went wrong the last time she used the camera button
    this._queue = Promise.resolve();

    this.remote = el("video", { class: "video-remote", autoplay: true, playsinline: true, muted: true,
      "aria-label": "The other side's video" });
    this.self = el("video", { class: "video-self", autoplay: true, playsinline: true, muted: true,
      "aria-label": "Your camera" });
    this.button = el("button", { type: "button", class: "video-camera", "aria-pressed": "false" }, "Camera on");
    this.button.addEventListener("click", () => this.toggle());
    this.status = el("p", { class: "video-status", "aria-live": "polite" });
    this.stage = el("div", { class: "video-stage" }, this.remote, this.self);
    this.element = el("div", { class: "call-video" }, this.stage, el("div", { class: "video-controls" }, this.button),
      this.status);
    call.addEventListener("change", () => this.render());
    this.render();
  }

  // --- the connection (voice's peerConnection hook) -----------------------------------------------------------

  // "offer": before the page's offer (a new call, or a reload's re-attach); "answer": the gateway's offer is applied.
  async attach(pc, role, { videoCall }) {
    this._stopCamera();
    if (role === "offer") {
      this.transceiver = pc.addTransceiver("video", { direction: "recvonly" });
      this.cameraOn = this.service.enabled && this.service.camera.settings.startOn;
    } else {
      this.transceiver = pc.getTransceivers().find((t) => t.receiver.track?.kind === "video") ?? null;
      this.cameraOn = Boolean(this.transceiver) && videoCall && this.service.camera.settings.startOn;
    }
    if (!this.transceiver) return;
    if (this.cameraOn) await this._openCamera().catch((error) => this._cameraFailed(error));
    this.transceiver.direction = this.cameraOn ? "sendrecv" : "recvonly";
    this.remote.srcObject = new MediaStream([this.transceiver.receiver.track]);
    this.render();
  }

  // --- what she does ------------------------------------------------------------------------------------------

  toggle() {
    const on = !this.cameraOn;
    this._queue = this._queue.then(() => this._setCamera(on)).catch((error) => this._notice(error.message));
  }

  async _setCamera(on) {
    if (this.call.state !== "active" || !this.transceiver) return;
    this.noticeText = "";
    if (on) await this._openCamera();
    else this._stopCamera();
    this.cameraOn = on;
    this.transceiver.direction = on ? "sendrecv" : "recvonly";
    this.render();
    await this._renegotiate();
  }

  // Another camera was chosen in the settings: swap the track, no renegotiation needed.
  async switchCamera() {
    if (!this.cameraOn || !this.transceiver) return;
    const old = this.track;
    await this._openCamera();
    old?.stop();
  }

  // --- what the gateway says (call.media's "video") -----------------------------------------------------------

  onVideoState(video) {
    this.video = video;
    if (video.reoffer && this.call.state === "active") {
      // She sends a format the phone cannot take: a new offer lets the gateway ask for the phone's.
      this._queue = this._queue.then(() => this._renegotiate()).catch((error) => this._notice(error.message));
    }
    this.render();
  }

  // --- internals ----------------------------------------------------------------------------------------------

  async _renegotiate() {
    const pc = this.call.pc;
    if (!pc || this.call.state !== "active") return;
    await pc.setLocalDescription(await pc.createOffer());
    const { sdp } = await this.service.client.request("video", "video.renegotiate",
      { call: this.call.id, sdp: pc.localDescription.sdp });
    if (pc === this.call.pc) await pc.setRemoteDescription({ type: "answer", sdp });
  }

  async _openCamera() {
    const track = await this.service.camera.open();
    this.track = track;
    await this.transceiver.sender.replaceTrack(track);
    this.self.srcObject = new MediaStream([track]);
  }

  _stopCamera() {
    this.track?.stop();
    this.track = null;
    this.self.srcObject = null;
    this.transceiver?.sender.replaceTrack(null).catch(() => {});
  }

  _cameraFailed(error) {
    this.cameraOn = false;
    this._notice(error.message);
  }

  _notice(text) {
    this.noticeText = text;
    this.render();
  }

  render() {
    const active = this.call.state === "active";
    const theirs = Boolean(this.video?.codec && this.video.to_browser);
    this.element.hidden = !this.service.enabled || !this.transceiver;
    this.stage.classList.toggle("has-remote", theirs);
    this.remote.hidden = !theirs;
    this.self.hidden = !this.cameraOn;
    this.button.disabled = !active;
    this.button.setAttribute("aria-pressed", String(this.cameraOn));
    setText(this.button, this.cameraOn ? "Camera off" : "Camera on");
    setText(this.status, this.noticeText || describe(this.video, this.cameraOn));
  }

  snapshot() {
    return { id: this.call.id, cameraOn: this.cameraOn, video: this.video ? { ...this.video } : null,
      remote: { width: this.remote.videoWidth, height: this.remote.videoHeight } };
  }

  close() {
    this._stopCamera();
    this.remote.srcObject = null;
    this.element.remove();
  }
}

// What the video does, in words.
function describe(video, cameraOn) {
  if (video?.reason) return video.reason;
  if (!video?.codec) return cameraOn ? "Your camera is on; the other side has no video in this call." : "";
  const theirs = video.to_browser ? "You see the other side" : "The other side's camera is off";
  const mine = video.to_ims ? "they see you" : cameraOn ? "they do not see you yet" : "your camera is off";
  return `${theirs}; ${mine}.`;
}

function el(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === true) element.setAttribute(key, "");
    else if (key === "class") element.className = value;
    else element.setAttribute(key, String(value));
  }
  element.append(...children);
  return element;
}

export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}
