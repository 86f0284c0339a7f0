// Her status in the header: one select (a click and a choice) and a note, sent as presence/status.set. What the
// gateway shows for her (on the phone during a call, away with no tab open) is said next to it.
import { h, presenceText } from "./dom.js";

const CHOICES = [
  ["available", "Available"], ["busy", "Busy"], ["in-a-meeting", "In a meeting"], ["away", "Away"],
  ["offline", "Appear offline"],
];

export class StatusPicker {
  constructor(onChange) {
    this.select = h("select", { id: "presence-status", "aria-label": "Your status" },
      CHOICES.map(([value, text]) => h("option", { value }, text)));
    this.note = h("input", { id: "presence-note", type: "text", maxlength: "200", placeholder: "Add a note",
      "aria-label": "Status note" });
    this.automatic = h("span", { class: "presence-automatic", role: "status" });
    this.element = h("div", { class: "presence-picker", hidden: true },
      h("span", { class: "presence-dot", "data-tone": "available", "aria-hidden": "true" }),
      this.select, this.note, this.automatic);
    this.select.addEventListener("change", () => onChange(this.choice()));
    this.note.addEventListener("change", () => onChange(this.choice()));
  }

  choice() {
    const value = this.select.value;
    const body = value === "offline" ? { basic: "closed" } : { basic: "open", activity: value };
    return { ...body, note: this.note.value.trim() };
  }

  show(status) {
    const row = status?.identities?.[0];
    this.element.hidden = !row;
    if (!row) return;
    const chosen = row.chosen;
    this.select.value = chosen.basic === "closed" ? "offline" : chosen.activity;
    if (document.activeElement !== this.note) this.note.value = chosen.note;
    this.element.querySelector(".presence-dot").dataset.tone = toneOf(row.shown);
    this.automatic.textContent = row.problem || (row.automatic ? `Shown as ${presenceText(row.shown)}` : "");
  }
}

function toneOf(shown) {
  if (shown.basic === "closed") return "offline";
  return { busy: "busy", "on-the-phone": "busy", "in-a-meeting": "busy", away: "away" }[shown.activity] || "available";
}
