// Audio settings: microphone, speaker (where the browser can choose one), voice processing, and desktop
// notifications. Device names appear once the browser has allowed the microphone; the lists follow plugging
// and unplugging (devicechange).

import { StreamAnalyser } from "./audio.js";
import { h, setText } from "./dom.js";
import { notifications } from "./notify.js";

const MIC_TEST_MS = 4000;
const HEARD_LEVEL = 0.01;  // RMS, 0..1: about -40 dBFS, well above a muted microphone's noise floor

export class SettingsView {
  // `inCall()` says whether a call uses the microphone now (the test must not close it under the call).
  constructor(devices, { onError, inCall }) {
    this.devices = devices;
    this.inCall = inCall;
    this.microphone = h("select", { id: "voice-microphone" });
    this.speaker = h("select", { id: "voice-speaker" });
    this.speakerNote = h("p", { class: "muted", text: "This browser plays calls on its default speaker; choose the speaker in your system settings." });
    this.processing = h("input", { id: "voice-processing", type: "checkbox" });
    this.notifyState = h("p", { class: "muted voice-notify-state" });
    this.notifyButton = h("button", { type: "button", onclick: () => this._askNotifications() }, "Turn on notifications");
    this.error = h("p", { class: "error", role: "alert" });
    this.micTest = h("button", { type: "button", id: "voice-test-microphone", onclick: () => this._testMicrophone() },
      "Test my microphone");
    this.micLevel = h("meter", { id: "voice-mic-level", min: "0", max: "0.2", value: "0", "aria-label": "Microphone level",
      hidden: true });
    this.micResult = h("p", { id: "voice-mic-result", role: "status" });
    this.element = h("details", { class: "card voice-settings" },
      h("summary", {}, h("h2", { text: "Audio settings" })),
      h("label", { htmlFor: "voice-microphone", text: "Microphone" }), this.microphone,
      h("label", { htmlFor: "voice-speaker", text: "Speaker", hidden: !devices.canChooseSpeaker }),
      devices.canChooseSpeaker ? this.speaker : this.speakerNote,
      h("div", { class: "check" }, this.processing,
        h("label", { htmlFor: "voice-processing", text: "Clean up my voice (echo cancellation, noise suppression)" })),
      h("div", { class: "voice-mic-test" }, this.micTest, this.micLevel), this.micResult,
      h("h3", { text: "Incoming calls" }), this.notifyState, this.notifyButton, this.error);

    this.microphone.addEventListener("change", () => devices.choose({ microphone: this.microphone.value }));
    this.speaker.addEventListener("change", () => devices.choose({ speaker: this.speaker.value }).catch((e) => onError(e)));
    this.processing.addEventListener("change", () => devices.choose({ processing: this.processing.checked }));
    this.element.addEventListener("toggle", () => { if (this.element.open) this.refresh(); });
    navigator.mediaDevices?.addEventListener?.("devicechange", () => this.refresh());
    this.refresh();
  }

  async refresh() {
    this.processing.checked = this.devices.settings.processing;
    this._showNotifications();
    try {
      const { microphones, speakers } = await this.devices.list();
      fill(this.microphone, microphones, this.devices.settings.microphone, "Default microphone");
      fill(this.speaker, speakers, this.devices.settings.speaker, "Default speaker");
    } catch (error) {
      setText(this.error, `The list of audio devices is not available: ${error.message}`);
    }
  }

  // Before a call: open the chosen microphone for a few seconds, show its level, and say whether we heard her.
  async _testMicrophone() {
    this.micTest.disabled = true;
    setText(this.micResult, "Say something: the bar moves when the microphone hears you…");
    let track = null, analyser = null, loudest = 0;
    try {
      track = await this.devices.microphoneTrack();
      analyser = new StreamAnalyser(new MediaStream([track]));
      this.micLevel.hidden = false;
      const until = Date.now() + MIC_TEST_MS;
      while (Date.now() < until) {
        const level = analyser.level();
        loudest = Math.max(loudest, level);
        this.micLevel.value = level;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      setText(this.micResult, loudest >= HEARD_LEVEL
        ? "We hear you: this microphone works."
        : `We heard nothing from this microphone in ${MIC_TEST_MS / 1000} s. Check that it is not muted in your ` +
          "system settings, or choose another one above.");
    } catch (error) {
      setText(this.micResult, error.message);
    } finally {
      analyser?.close();
      track?.stop();
      if (!this.inCall()) this.devices.release();  // the microphone indicator goes off again
      this.micLevel.hidden = true;
      this.micTest.disabled = false;
    }
  }

  showError(text) {
    setText(this.error, text);
  }

  _showNotifications() {
    const permission = notifications.permission;
    const text = {
      granted: "Calls that come in while this tab is in the background show a desktop notification.",
      denied: "Desktop notifications are blocked for this site; change that in the browser's site settings.",
      default: "Get a desktop notification when a call comes in while this tab is in the background.",
      unsupported: "This browser cannot show desktop notifications.",
    }[permission];
    setText(this.notifyState, text);
    this.notifyButton.hidden = permission !== "default";
  }

  async _askNotifications() {
    await notifications.ask();
    this._showNotifications();
  }
}

function fill(select, devices, chosen, defaultLabel) {
  const options = [h("option", { value: "", text: defaultLabel }),
    ...devices.filter((d) => d.id).map((d) => h("option", { value: d.id, text: d.label }))];
  select.replaceChildren(...options);
  select.value = devices.some((d) => d.id === chosen) ? chosen : "";
}
