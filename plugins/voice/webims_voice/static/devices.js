// Microphone and speaker: which ones, opening the microphone, and the words for what went wrong.
//
// One microphone stream is opened while calls need it and closed when the last call ends (so the browser's
// "microphone in use" indicator goes off); every call gets its own clone of the track, so muting one call
// never mutes another. Choices are kept in localStorage (device ids and a flag: no secrets).

// The core's, shared with the camera:
import { deviceProblem, listDevices, loadChoices, saveChoices } from "/static/devices.js";

const SETTINGS_KEY = "webims.voice.settings";
const SETTINGS_TYPES = { microphone: "string", speaker: "string", processing: "boolean" };

export class AudioDevices extends EventTarget {
  constructor() {
    super();
    this.settings = { microphone: "", speaker: "", processing: true, ...loadChoices(SETTINGS_KEY, SETTINGS_TYPES) };
    this._stream = null;
    this._opening = null;
  }

  get canChooseSpeaker() {
    return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
  }

  // Whether the page holds the microphone now (the browser shows its "in use" indicator).
  get open() {
    return Boolean(this._stream?.getAudioTracks().some((track) => track.readyState === "live"));
  }

  get available() {
    return Boolean(navigator.mediaDevices?.getUserMedia);
  }

  // A new track from the chosen microphone (a clone: the caller owns it and stops it).
  async microphoneTrack() {
    const stream = await this._open();
    return stream.getAudioTracks()[0].clone();
  }

  // Close the microphone when no call uses it any more.
  release() {
    if (this._stream) for (const track of this._stream.getTracks()) track.stop();
    this._stream = null;
  }

  async list() {
    const { audioinput, audiooutput } = await listDevices({ audioinput: "Microphone", audiooutput: "Speaker" });
    return { microphones: audioinput, speakers: audiooutput };
  }

  // Change a setting; a new microphone or processing choice reopens the microphone (calls swap their tracks).
  async choose(changes) {
    const reopen = ("microphone" in changes && changes.microphone !== this.settings.microphone)
      || ("processing" in changes && changes.processing !== this.settings.processing);
    this.settings = { ...this.settings, ...changes };
    saveChoices(SETTINGS_KEY, this.settings);
    if (reopen && this._stream) {
      this.release();
      this.dispatchEvent(new CustomEvent("microphonechange"));
    }
    if ("speaker" in changes) this.dispatchEvent(new CustomEvent("speakerchange", { detail: this.settings.speaker }));
  }

  async _open() {
    if (this.open) return this._stream;
    if (!this.available) {
      throw new Error("Calls need a secure (https) page to use the microphone; this page cannot open it.");
    }
    this._opening ??= this._getUserMedia().finally(() => { this._opening = null; });
    this._stream = await this._opening;
    return this._stream;
  }

  async _getUserMedia() {
    const processing = this.settings.processing;
    const audio = { echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing };
    try {
      if (this.settings.microphone) {
        try {
          return await navigator.mediaDevices.getUserMedia({ audio: { ...audio, deviceId: { exact: this.settings.microphone } } });
        } catch (error) {
          if (error.name !== "OverconstrainedError" && error.name !== "NotFoundError") throw error;
          this.settings = { ...this.settings, microphone: "" };  // that microphone is gone: use the default one
          saveChoices(SETTINGS_KEY, this.settings);
        }
      }
      return await navigator.mediaDevices.getUserMedia({ audio });
    } catch (error) {
      throw new Error(deviceProblem(error, "microphone"));
    }
  }
}
