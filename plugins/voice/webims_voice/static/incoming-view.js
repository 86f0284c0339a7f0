// The banner of a call coming in: the caller (display name and URI), which of her identities was called, and
// Answer / Decline / Busy. Banners sit in a fixed stack at the bottom of the window, so one appearing never moves
// what she is doing; the stack is a live region, so a screen reader announces the caller.

import { h, setText, uniqueId } from "./dom.js";

export class IncomingBanner {
  constructor(call, { onAnswer, onReject, otherCallLive }) {
    this.call = call;
    const id = uniqueId("incoming");
    this.caller = h("p", { class: "incoming-caller", id: `${id}-caller` });
    this.uri = h("p", { class: "incoming-uri" });
    this.called = h("p", { class: "incoming-called" });
    this.hint = h("p", { class: "incoming-hint" });
    this.error = h("p", { class: "incoming-error error", role: "alert" });
    this.answer = h("button", { type: "button", class: "answer", onclick: () => this._do(() => onAnswer(call)) }, "Answer");
    this.decline = h("button", { type: "button", class: "decline danger", onclick: () => this._do(() => onReject(call, "decline")) }, "Decline");
    this.busy = h("button", { type: "button", class: "busy", onclick: () => this._do(() => onReject(call, "busy")),
      "aria-label": "Busy: tell the caller you are busy" }, "Busy");
    this.otherCallLive = otherCallLive;
    this.element = h("section", { class: "incoming-call", "aria-labelledby": `${id}-title ${id}-caller` },
      h("h2", { class: "incoming-title", id: `${id}-title`, text: "Incoming call" }),
      this.caller, this.uri, this.called, this.hint, this.error,
      h("div", { class: "incoming-actions" }, this.answer, this.decline, this.busy));
    call.addEventListener("change", () => this.update());
    this.update();
  }

  update() {
    const call = this.call;
    setText(this.caller, call.peer.display_name || call.peer.uri || "Unknown caller");
    setText(this.uri, call.peer.display_name ? call.peer.uri : "");
    this.uri.hidden = !call.peer.display_name;
    setText(this.called, `to ${call.calledIdentity || call.identity}`);
    const answering = call.state === "answering";
    const hint = answering ? "Answering…"
      : !call.offer ? "Getting the call ready to answer here…"
        : this.otherCallLive() ? "Answering puts your current call on hold." : "";
    setText(this.hint, hint);
    this.hint.hidden = !hint;
    this.answer.hidden = !call.offer && !answering;
    for (const control of [this.answer, this.decline, this.busy]) control.disabled = answering;
  }

  async _do(action) {
    setText(this.error, "");
    try {
      await action();
    } catch (error) {
      setText(this.error, error.message);
    }
  }
}
