// A call's card in the calls panel: who, its state in words, and the controls that fit that state (mute, hold,
// keypad, transfer, hang up). It is built once and updated in place, so keyboard focus stays where it was.

import { formatDuration, h, setText, uniqueId } from "./dom.js";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

export class CallView {
  constructor(call, { onHold }) {
    this.call = call;
    const id = uniqueId("call");
    this.name = h("h3", { class: "call-name", id: `${id}-name` });
    this.uri = h("p", { class: "call-uri" });
    this.state = h("p", { class: "call-state", "aria-live": "polite", id: `${id}-state` });
    this.timer = h("span", { class: "call-timer", "aria-hidden": "true" });
    this.badges = h("p", { class: "call-badges" });
    this.notice = h("p", { class: "call-notice", "aria-live": "polite" });
    this.quality = h("p", { class: "call-quality", hidden: true });  // not live: it changes every few seconds

    this.mute = button("Mute", "call-mute", () => call.setMuted(!call.muted));
    this.hold = button("Hold", "call-hold", () => run(() => onHold(call, !call.held.local), "Could not change hold"));
    this.keypadToggle = button("Keypad", "call-keypad-toggle", () => this._toggle(this.keypad, this.keypadToggle));
    this.transferToggle = button("Transfer", "call-transfer-toggle", () => this._toggle(this.transferForm, this.transferToggle, this.transferInput));
    this.hangup = button("Hang up", "call-hangup danger", () => run(() => call.hangup(), "Could not hang up"));
    this.extra = h("div", { class: "call-extra" });  // extensions put their controls here (voice.js, extendCall)

    const keypadId = `${id}-keypad`;
    this.keypad = h("div", { class: "keypad call-keypad", id: keypadId, role: "group", "aria-label": "Send tones", hidden: true },
      KEYS.map((key) => h("button", { type: "button", class: "key", "data-key": key, "aria-label": `Send ${key}`,
        onclick: () => run(() => call.sendDigits(key), "Could not send the tone") }, key)));
    this.keypad.addEventListener("keydown", (event) => {
      if (KEYS.includes(event.key) && !event.repeat) {
        event.preventDefault();
        run(() => call.sendDigits(event.key), "Could not send the tone");
      }
    });
    this.keypadToggle.setAttribute("aria-controls", keypadId);

    const transferId = `${id}-transfer`;
    this.transferInput = h("input", { id: `${transferId}-target`, type: "text", autocomplete: "off", spellcheck: "false",
      placeholder: "Number or SIP address" });
    this.transferForm = h("form", { class: "call-transfer", id: transferId, hidden: true, novalidate: true },
      h("label", { htmlFor: `${transferId}-target`, text: "Transfer to" }),
      h("div", { class: "inline-field" }, this.transferInput, h("button", { type: "submit", text: "Transfer now" })));
    this.transferForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const target = this.transferInput.value.trim();
      if (!target) {
        this._showNotice("Enter the number or SIP address to transfer the call to.");
        return;
      }
      run(() => call.transfer(target), "Could not transfer the call").then((done) => {
        if (!done) return;
        this.transferForm.hidden = true;
        this.transferToggle.setAttribute("aria-expanded", "false");
      });
    });
    this.transferToggle.setAttribute("aria-controls", transferId);
    this.keypadToggle.setAttribute("aria-expanded", "false");
    this.transferToggle.setAttribute("aria-expanded", "false");

    this.controls = h("div", { class: "call-controls" }, this.mute, this.hold, this.keypadToggle, this.transferToggle, this.hangup);
    this.element = h("li", { class: "call", "aria-labelledby": `${id}-name`, "aria-describedby": `${id}-state` },
      h("div", { class: "call-head" }, h("div", { class: "call-who" }, this.name, this.uri), this.timer),
      this.state, this.badges, this.quality, this.notice, this.controls, this.keypad, this.transferForm, this.extra);

    const self = this;
    async function run(action, what) {
      try {
        await action();
        return true;
      } catch (error) {
        self._showNotice(`${what}: ${error.message}`);
        return false;
      }
    }
    call.addEventListener("change", () => this.update());
    this.update();
  }

  update() {
    const call = this.call;
    const name = call.peer.display_name || call.peer.uri || "Unknown caller";
    setText(this.name, name);
    setText(this.uri, call.peer.display_name ? call.peer.uri : "");
    this.uri.hidden = !call.peer.display_name;
    setText(this.state, stateText(call));
    this.element.dataset.state = call.state;
    this.element.classList.toggle("is-held", call.held.local || call.held.remote);
    this.element.classList.toggle("media-failed", call.media.state === "failed");

    const badges = [];
    if (call.direction === "incoming" && call.calledIdentity) badges.push(`to ${call.calledIdentity}`);
    else if (call.identity) badges.push(`from ${call.identity}`);
    if (call.privacy) badges.push("number withheld");
    if (call.muted) badges.push("muted");
    setText(this.badges, badges.join(" · "));
    setText(this.notice, call.notice);
    this.notice.hidden = !call.notice;
    // While the audio path is down its last figures are stale: the state line says what is going on.
    const shown = call.state === "active" && call.media.state === "connected";
    const quality = shown ? call.quality : { grade: null, text: "" };
    setText(this.quality, quality.text);
    this.quality.hidden = !quality.text;
    this.quality.dataset.grade = quality.grade || "";

    const active = call.state === "active";
    for (const control of [this.mute, this.hold, this.keypadToggle, this.transferToggle]) control.hidden = !active;
    this.mute.setAttribute("aria-pressed", String(call.muted));
    setText(this.mute, call.muted ? "Unmute" : "Mute");
    this.hold.setAttribute("aria-pressed", String(call.held.local));
    setText(this.hold, call.held.local ? "Resume" : "Hold");
    setText(this.hangup, call.state === "incoming" || call.state === "answering" ? "Decline"
      : active ? "Hang up" : "Cancel");
    if (!active) {
      this.keypad.hidden = true;
      this.transferForm.hidden = true;
      this.keypadToggle.setAttribute("aria-expanded", "false");
      this.transferToggle.setAttribute("aria-expanded", "false");
    }
    this.tick();
  }

  // Called every second by the calls panel.
  tick() {
    const call = this.call;
    setText(this.timer, call.state === "active" && call.connectedAt ? formatDuration(Date.now() - call.connectedAt) : "");
  }

  _toggle(panel, toggle, focus = null) {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) (focus || panel.querySelector("button"))?.focus();
  }

  _showNotice(text) {
    this.call.notice = text;
    this.update();
  }
}

// Every state in words, with the audio path's trouble when there is some.
export function stateText(call) {
  const media = ["failed", "interrupted", "reconnecting"].includes(call.media.state) ? ` ${call.media.reason}` : "";
  switch (call.state) {
    case "calling": return "Calling…";
    case "ringing": return "Ringing…";
    case "early": return "Ringing (the network is playing a message)…";
    case "incoming": return "Incoming call";
    case "answering": return "Answering…";
    case "active": {
      if (call.held.local && call.held.remote) return `On hold (both sides).${media}`;
      if (call.held.local) return `On hold.${media}`;
      if (call.held.remote) return `The other side put you on hold.${media}`;
      if (call.media.state === "connecting") return "Connected. Connecting audio…";
      return `Connected.${media}`;
    }
    case "ended": return `Call ended: ${call.endReason}`;
    default: return call.state;
  }
}

function button(text, className, onclick) {
  return h("button", { type: "button", class: className, onclick }, text);
}
