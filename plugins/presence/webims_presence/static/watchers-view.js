// Who watches her: requests waiting for her (allow / block) first, then the watchers she has decided on. When her
// operator's presence server does not apply her decisions (no XCAP server), the page says so.
import { h } from "./dom.js";

const STATUS_TEXT = { active: "Can see your status", pending: "Asks to see your status",
  waiting: "Asked earlier", none: "Not watching now" };

export class WatchersView {
  constructor(onDecide) {
    this.onDecide = onDecide;
    this.list = h("ul", { id: "presence-watchers", class: "presence-watchers", "aria-label": "Who watches you" });
    this.notice = h("p", { class: "muted presence-enforced", hidden: true },
      "Your operator's presence server does not apply these decisions: they are kept for you only.");
    this.element = h("section", { class: "presence-watchers-card", "aria-labelledby": "presence-watchers-title" },
      h("h3", { id: "presence-watchers-title", text: "Who can see you" }), this.notice, this.list);
  }

  render(watchers, enforced) {
    this.notice.hidden = enforced !== false;
    const order = (w) => (w.status === "pending" && !w.decision ? 0 : 1);
    const items = [...watchers].sort((a, b) => order(a) - order(b)).map((w) => this.item(w));
    if (!items.length) items.push(h("li", { class: "muted" }, "Nobody is watching your status."));
    this.list.replaceChildren(...items);
  }

  item(watcher) {
    const label = watcher.display_name || watcher.uri;
    const decided = { allow: "Allowed", block: "Blocked" }[watcher.decision];
    const button = (decision, text) => h("button", { type: "button", "aria-label": `${text} ${label}`,
      disabled: watcher.decision === decision, onclick: () => this.onDecide(watcher.uri, decision) }, text);
    return h("li", { class: "presence-watcher", "data-uri": watcher.uri, "data-status": watcher.status,
      "data-decision": watcher.decision || "" },
      h("strong", { text: label }),
      h("span", { class: "muted", text: decided || STATUS_TEXT[watcher.status] || watcher.status }),
      h("span", { class: "presence-actions" }, button("allow", "Allow"), button("block", "Block")));
  }
}
