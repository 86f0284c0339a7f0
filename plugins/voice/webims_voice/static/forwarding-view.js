// Call forwarding: where calls to her go when she does not take them (docs/voice.md "Call forwarding"). The rules
// live on the gateway, so every tab and every later login show the same; a change in one tab reaches the others
// (voice event forwarding.changed).

import { h, setText, uniqueId } from "./dom.js";

// The conditions in the order she reads them, with their words.
const CONDITIONS = [
  ["always", "All calls, without ringing me"],
  ["busy", "When I answer \u201cBusy\u201d"],
  ["no_answer", "When I don't answer"],
  ["unreachable", "When no window of mine is open"],
];

export class ForwardingView extends EventTarget {
  constructor(client) {
    super();
    this.client = client;
    this.rules = null;
    this.rows = new Map();
    this.seconds = h("input", { id: "voice-forward-seconds", type: "number", min: "5", max: "120", step: "1",
      value: "20", inputmode: "numeric", class: "forward-seconds" });
    this.status = h("p", { class: "forward-status", role: "status" });
    this.save = h("button", { type: "submit", class: "forward-save" }, "Save forwarding");
    const fields = CONDITIONS.map(([condition, words]) => this._row(condition, words));
    const form = h("form", { class: "forward-form", novalidate: true },
      h("p", { class: "muted", text: "Send calls to another number or SIP address when you do not take them." }),
      ...fields, this.save, this.status);
    form.addEventListener("submit", (event) => { event.preventDefault(); this._save(); });
    this.element = h("details", { class: "card voice-forwarding" },
      h("summary", {}, h("h2", { text: "Call forwarding" })), form);
  }

  // After login: what the gateway keeps for her.
  async load() {
    setText(this.status, "Loading your forwarding settings…");
    try {
      const { forwarding } = await this.client.request("voice", "forwarding.get");
      this.apply(forwarding);
      setText(this.status, "");
    } catch (error) {
      setText(this.status, `Your forwarding settings could not be loaded: ${error.message}`);
    }
  }

  // Rules from the gateway (load, save, or another tab's change).
  apply(rules, note = "") {
    this.rules = rules;
    for (const [condition, { check, target, details }] of this.rows) {
      check.checked = Boolean(rules[condition]);
      target.value = rules[condition] || "";
      details.hidden = !check.checked;
    }
    this.seconds.value = String(rules.no_answer_seconds ?? 20);
    setText(this.status, note);
    this.dispatchEvent(new CustomEvent("change", { detail: rules }));
  }

  _row(condition, words) {
    const id = uniqueId(`voice-forward-${condition}`);
    const check = h("input", { id, type: "checkbox", class: "forward-check" });
    const target = h("input", { id: `${id}-target`, type: "text", class: "forward-target",
      placeholder: "e.g. +15550101 or bob", "aria-label": `Forward to (${words.toLowerCase()})`, autocomplete: "off" });
    // The target (and, for unanswered calls, how long to ring) shows once the line is ticked.
    const details = h("div", { class: "forward-details", hidden: true }, target,
      condition === "no_answer" ? h("div", { class: "forward-after" },
        h("label", { htmlFor: "voice-forward-seconds", text: "after ringing for" }), this.seconds,
        h("span", { text: "seconds" })) : null);
    check.addEventListener("change", () => {
      details.hidden = !check.checked;
      if (check.checked) target.focus();
    });
    this.rows.set(condition, { check, target, details });
    return h("div", { class: "forward-row" },
      h("div", { class: "check" }, check, h("label", { htmlFor: id, text: words })), details);
  }

  async _save() {
    const forwarding = { no_answer_seconds: Number.parseInt(this.seconds.value, 10) };
    for (const [condition, { check, target }] of this.rows) {
      if (check.checked && !target.value.trim()) {
        setText(this.status, "Enter where to forward calls, or untick that line.");
        target.focus();
        return;
      }
      forwarding[condition] = check.checked ? target.value.trim() : null;
    }
    this.save.disabled = true;
    setText(this.status, "Saving…");
    try {
      const reply = await this.client.request("voice", "forwarding.set", { forwarding });
      this.apply(reply.forwarding, "Saved.");
    } catch (error) {
      setText(this.status, `Not saved: ${error.message}`);
    } finally {
      this.save.disabled = false;
    }
  }
}

// The line the Phone card shows while every call is forwarded: easy to forget otherwise.
export function forwardingNote(rules) {
  return rules?.always ? `All your calls are forwarded to ${rules.always}.` : "";
}
