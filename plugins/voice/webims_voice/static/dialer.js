// The dialer: number or SIP address, a dial pad, "withhold my number", and the Call button. It calls from the
// identity chosen in the portal's identity picker, and says which one that is.

import { h, setText } from "./dom.js";

const PAD = [
  ["1", ""], ["2", "ABC"], ["3", "DEF"], ["4", "GHI"], ["5", "JKL"], ["6", "MNO"],
  ["7", "PQRS"], ["8", "TUV"], ["9", "WXYZ"], ["*", ""], ["0", ""], ["#", ""],
];

export class Dialer {
  constructor({ onCall }) {
    this.target = h("input", { id: "voice-target", name: "target", type: "text", inputmode: "tel", autocomplete: "off",
      spellcheck: "false", placeholder: "e.g. +15550101 or bob", "aria-describedby": "voice-from" });
    this.erase = h("button", { type: "button", class: "erase", "aria-label": "Delete the last character",
      onclick: () => this._erase() }, "⌫");
    this.privacy = h("input", { id: "voice-privacy", type: "checkbox" });
    this.callButton = h("button", { type: "submit", class: "primary call-button" }, "Call");
    this.from = h("p", { class: "voice-from", id: "voice-from" });
    this.error = h("p", { class: "error voice-dial-error", role: "alert" });
    this.pad = h("div", { class: "keypad dial-pad", role: "group", "aria-label": "Dial pad" },
      PAD.map(([key, letters]) => h("button", { type: "button", class: "key", "data-key": key, "aria-label": key,
        onclick: () => this._press(key) }, key, letters ? h("span", { class: "letters", "aria-hidden": "true" }, letters) : null)));
    this.form = h("form", { class: "dialer", novalidate: true, "aria-label": "Place a call" },
      h("label", { htmlFor: "voice-target", text: "Number or SIP address" }),
      h("div", { class: "inline-field" }, this.target, this.erase),
      this.pad,
      h("div", { class: "check" }, this.privacy, h("label", { htmlFor: "voice-privacy", text: "Withhold my number" })),
      this.callButton, this.from, this.error);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const target = this.target.value.trim();
      if (!target) {
        this.fail("Enter a number or SIP address to call.");
        this.target.focus();
        return;
      }
      this.fail("");
      // The name a contact's Call button gave, while the field still holds what it filled in.
      const name = this.named?.target === target ? this.named.name : "";
      this.named = null;
      onCall(target, this.privacy.checked, name);
    });
  }

  // Her default for "Withhold my number" (Privacy and blocked calls); she can still change it for one call.
  setWithholdDefault(withhold) {
    this.privacy.checked = withhold;
  }

  setIdentity(identity) {
    setText(this.from, identity ? `Calls go out from ${identity}.` : "");
  }

  fill(target) {
    this.target.value = target;
  }

  // A call asked for elsewhere on the page (a contact's Call button): as if she typed it and pressed Call, so
  // the same checks, identity and privacy apply. While a call is being placed, Call does nothing: false.
  dial(target, name = "") {
    if (this.callButton.disabled) return false;
    this.fill(target);
    this.named = { target, name };
    this.callButton.click();
    return true;
  }

  fail(text) {
    setText(this.error, text);
  }

  busy(on) {
    this.callButton.disabled = on;
    setText(this.callButton, on ? "Calling…" : "Call");
  }

  _press(key) {
    const input = this.target;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    input.value = input.value.slice(0, start) + key + input.value.slice(end);
    input.setSelectionRange(start + 1, start + 1);
  }

  _erase() {
    const input = this.target;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    const from = start === end ? Math.max(0, start - 1) : start;
    input.value = input.value.slice(0, from) + input.value.slice(end);
    input.setSelectionRange(from, from);
  }
}
