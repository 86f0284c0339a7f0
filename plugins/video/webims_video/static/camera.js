// The camera: which one (kept in localStorage: a device id, no secret), whether new calls start with it on, and
// opening it within the limits the gateway announced (video.settings), with the words for what went wrong.

// The core's, shared with the microphone:
import { deviceProblem, listDevices, loadChoices, saveChoices } from "/static/devices.js";

const SETTINGS_KEY = "webims.video.settings";
const SETTINGS_TYPES = { camera: "string", startOn: "boolean" };

export class Camera extends EventTarget {
  constructor() {
    super();
    this.settings = { camera: "", startOn: true, ...loadChoices(SETTINGS_KEY, SETTINGS_TYPES) };
    this.limits = { enabled: false };
  }

  get available() {
    return Boolean(navigator.mediaDevices?.getUserMedia);
  }

  // A new track from the chosen camera; the caller owns it and stops it.
  async open() {
    if (!this.available) throw new Error("Video needs a secure (https) page to use the camera.");
    const { max_width: width, max_height: height, max_framerate: frameRate } = this.limits;
    const video = { width: { ideal: width, max: width }, height: { ideal: height, max: height },
      frameRate: { ideal: frameRate, max: frameRate } };
    try {
      if (this.settings.camera) {
        try {
          return await this._track({ ...video, deviceId: { exact: this.settings.camera } });
        } catch (error) {
          if (error.name !== "OverconstrainedError" && error.name !== "NotFoundError") throw error;
          this.choose({ camera: "" });  // that camera is gone: use the default one
        }
      }
      return await this._track(video);
    } catch (error) {
      throw new Error(deviceProblem(error, "camera"));
    }
  }

  async _track(constraints) {
    const stream = await navigator.mediaDevices.getUserMedia({ video: constraints });
    return stream.getVideoTracks()[0];
  }

  async list() {
    return (await listDevices({ videoinput: "Camera" })).videoinput;
  }

  choose(changes) {
    const switched = "camera" in changes && changes.camera !== this.settings.camera;
    this.settings = { ...this.settings, ...changes };
    saveChoices(SETTINGS_KEY, this.settings);
    if (switched) this.dispatchEvent(new CustomEvent("camerachange"));
  }
}
