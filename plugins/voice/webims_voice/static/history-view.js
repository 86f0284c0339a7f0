// The "Recent calls" list: who, when, how it went, and a Call back button per entry.

import { formatDuration, h } from "./dom.js";

const OUTCOME_TEXT = {
  answered: (e) => (e.seconds ? formatDuration(e.seconds * 1000) : "Connected"),
  missed: () => "Missed",
  declined: () => "Declined",
  cancelled: () => "Cancelled",
  elsewhere: () => "Taken in another tab",
  forwarded: (e) => e.reason || "Forwarded",
  blocked: (e) => e.reason || "Blocked",
  failed: (e) => e.reason || "Not connected",
};

export class HistoryView {
  constructor(history, { onCallBack }) {
    this.history = history;
    this.onCallBack = onCallBack;
    this.list = h("ol", { class: "history-list", "aria-label": "Recent calls, newest first" });
    this.empty = h("p", { class: "muted history-empty", text: "No calls yet." });
    this.clear = h("button", { type: "button", class: "link-button", onclick: () => this._clear() }, "Clear history");
    this.element = h("section", { class: "card voice-history", "aria-labelledby": "voice-history-title" },
      h("div", { class: "card-head" }, h("h2", { id: "voice-history-title", text: "Recent calls" }), this.clear),
      this.empty, this.list);
    history.addEventListener("change", () => this.render());
    this.render();
  }

  render() {
    const entries = this.history.entries();
    this.empty.hidden = entries.length > 0;
    this.clear.hidden = entries.length === 0;
    const time = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });
    this.list.replaceChildren(...entries.map((entry) => {
      const who = entry.name || entry.uri;
      const direction = entry.direction === "incoming" ? "Incoming" : "Outgoing";
      const outcome = (OUTCOME_TEXT[entry.outcome] || OUTCOME_TEXT.failed)(entry);
      return h("li", { class: `history-entry outcome-${entry.outcome || "failed"}` },
        h("div", { class: "history-who" },
          h("span", { class: "history-name", text: who }),
          entry.name ? h("span", { class: "history-uri", text: entry.uri }) : null,
          h("span", { class: "history-meta", text: `${direction} · ${time.format(new Date(entry.at))} · ${outcome}` })),
        h("button", { type: "button", class: "call-back", "aria-label": `Call back ${who}`,
          onclick: () => this.onCallBack(entry) }, "Call back"));
    }));
  }

  _clear() {
    this.history.clear();
  }
}
