// Calls she does not want (docs/voice.md "Blocked calls"): refuse calls that withhold their number, and block
// numbers. The gateway keeps the list; every tab shows the same (voice event barring.changed).

import { h, setText } from "./dom.js";

export class BarringView {
  constructor(client) {
    this.client = client;
    this.anonymous = h("input", { id: "voice-bar-anonymous", type: "checkbox" });
    this.numbers = h("textarea", { id: "voice-bar-numbers", rows: "3", autocomplete: "off",
      placeholder: "+15550199\nsip:someone@example.com" });
    this.status = h("p", { class: "bar-status", role: "status" });
    this.save = h("button", { type: "submit" }, "Save blocked calls");
    const form = h("form", { class: "bar-form", novalidate: true },
      h("div", { class: "check" }, this.anonymous,
        h("label", { htmlFor: "voice-bar-anonymous", text: "Refuse calls that withhold their number" })),
      h("label", { htmlFor: "voice-bar-numbers", text: "Block these numbers (one per line)" }), this.numbers,
      this.save, this.status);
    form.addEventListener("submit", (event) => { event.preventDefault(); this._save(); });
    this.element = h("details", { class: "card voice-barring" },
      h("summary", {}, h("h2", { text: "Blocked calls" })), form);
  }

  async load() {
    try {
      this.apply((await this.client.request("voice", "barring.get")).barring);
    } catch (error) {
      setText(this.status, `Your blocked calls could not be loaded: ${error.message}`);
    }
  }

  apply(barring, note = "") {
    this.anonymous.checked = Boolean(barring.anonymous);
    this.numbers.value = (barring.numbers || []).join("\n");
    setText(this.status, note);
  }

  async _save() {
    const numbers = this.numbers.value.split("\n").map((line) => line.trim()).filter(Boolean);
    this.save.disabled = true;
    setText(this.status, "Saving…");
    try {
      const reply = await this.client.request("voice", "barring.set",
        { barring: { anonymous: this.anonymous.checked, numbers } });
      this.apply(reply.barring, "Saved.");
    } catch (error) {
      setText(this.status, `Not saved: ${error.message}`);
    } finally {
      this.save.disabled = false;
    }
  }
}
