// Privacy and blocked calls (docs/voice.md "Blocked calls", "My number"): withhold her number by default, refuse
// calls that withhold theirs, block numbers. The gateway keeps them; every tab shows the same (voice events
// barring.changed, caller_id.changed). A "callerid" event tells the dialer its default for "Withhold my number".

import { h, setText } from "./dom.js";

export class BarringView extends EventTarget {
  constructor(client) {
    super();
    this.client = client;
    this.withhold = h("input", { id: "voice-withhold-default", type: "checkbox" });
    this.anonymous = h("input", { id: "voice-bar-anonymous", type: "checkbox" });
    this.numbers = h("textarea", { id: "voice-bar-numbers", rows: "3", autocomplete: "off",
      placeholder: "+15550199\nsip:someone@example.com" });
    this.status = h("p", { class: "bar-status", role: "status" });
    this.save = h("button", { type: "submit" }, "Save privacy settings");
    const form = h("form", { class: "bar-form", novalidate: true },
      h("div", { class: "check" }, this.withhold,
        h("label", { htmlFor: "voice-withhold-default", text: "Withhold my number on every call" })),
      h("p", { class: "muted bar-hint",
        text: "You can still show it for one call: untick \u201cWithhold my number\u201d before calling." }),
      h("div", { class: "check" }, this.anonymous,
        h("label", { htmlFor: "voice-bar-anonymous", text: "Refuse calls that withhold their number" })),
      h("label", { htmlFor: "voice-bar-numbers", text: "Block these numbers (one per line)" }), this.numbers,
      this.save, this.status);
    form.addEventListener("submit", (event) => { event.preventDefault(); this._save(); });
    this.element = h("details", { class: "card voice-barring" },
      h("summary", {}, h("h2", { text: "Privacy and blocked calls" })), form);
  }

  async load() {
    try {
      const [{ barring }, { caller_id: callerId }] = await Promise.all([
        this.client.request("voice", "barring.get"), this.client.request("voice", "caller_id.get")]);
      this.apply(barring);
      this.applyCallerId(callerId);
    } catch (error) {
      setText(this.status, `Your privacy settings could not be loaded: ${error.message}`);
    }
  }

  apply(barring, note = "") {
    this.anonymous.checked = Boolean(barring.anonymous);
    this.numbers.value = (barring.numbers || []).join("\n");
    setText(this.status, note);
  }

  applyCallerId(callerId, note = "") {
    this.withhold.checked = Boolean(callerId.withhold);
    if (note) setText(this.status, note);
    this.dispatchEvent(new CustomEvent("callerid", { detail: { withhold: this.withhold.checked } }));
  }

  async _save() {
    const numbers = this.numbers.value.split("\n").map((line) => line.trim()).filter(Boolean);
    this.save.disabled = true;
    setText(this.status, "Saving…");
    let barring = null;  // two requests: the first (the one the gateway may refuse) can succeed alone
    try {
      ({ barring } = await this.client.request("voice", "barring.set",
        { barring: { anonymous: this.anonymous.checked, numbers } }));
      const { caller_id: callerId } = await this.client.request("voice", "caller_id.set",
        { caller_id: { withhold: this.withhold.checked } });
      this.apply(barring, "Saved.");
      this.applyCallerId(callerId);
    } catch (error) {
      if (barring) {
        this.apply(barring, `Blocked calls saved, but “Withhold my number” was not: ${error.message}`);
      } else {
        setText(this.status, `Not saved: ${error.message}`);
      }
    } finally {
      this.save.disabled = false;
    }
  }
}
