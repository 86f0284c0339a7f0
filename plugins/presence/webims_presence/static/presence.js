// The presence service's page module (docs/presence.md): her status and note in the header, her contacts with
// live status, and who may watch her. It speaks presence/* through the core client; the gateway keeps the state,
// so a reload or a reconnect asks for it again ("state").
//
// From a contact, Call / Message / Chat are asked of the voice and im modules through the portal:
//   portal.dispatchEvent(new CustomEvent("dial", { detail: { target, name } }))   (and "message", "chat")
// target is the contact's URI, name the name she gave it ("" if none). "dial" calls target as if she had typed it in
// the dialer (voice.js); "message" opens her conversation with target, ready to type, and "chat" also invites
// target to a chat (im.js). The buttons show only for the services the portal enables.
// Stable ids for tests: #presence, #presence-status, #presence-note, #presence-contacts (li[data-uri]
// [data-basic][data-activity]), #presence-add-uri, #presence-add-name, #presence-add-group, #presence-add,
// #presence-watchers (li[data-uri][data-status][data-decision]), #presence-error.
import { h } from "./dom.js";
import { ContactsView } from "./contacts-view.js";
import { StatusPicker } from "./status-picker.js";
import { WatchersView } from "./watchers-view.js";

export function mount({ client, panel, portal }) {
  const request = (type, body = {}) => client.request("presence", type, body);
  const error = h("p", { id: "presence-error", class: "error", role: "alert" });
  const report = (failure) => { error.textContent = failure ? failure.message : ""; };
  const act = (type, body) => request(type, body).then((reply) => { report(null); return reply; }, (failure) => {
    report(failure);
    return null;
  });
  const state = { contacts: [], watchers: [], enforced: true };

  const picker = new StatusPicker((body) => act("status.set", body).then((reply) => reply && picker.show(reply)));
  const services = portal.manifest?.services || {};
  const contacts = new ContactsView({
    services: { voice: Boolean(services.voice), im: Boolean(services.im) },
    onAdd: async (body) => Boolean(await act("contact.add", body)),
    onUpdate: (body) => act("contact.update", body),
    onRemove: (contact) => act("contact.remove", { uri: contact.uri }),
    onAction: (action, contact) => portal.dispatchEvent(new CustomEvent(action,
      { detail: { target: contact.uri, name: contact.display_name } })),
  });
  const watchers = new WatchersView((uri, decision) => act("watcher.decide", { watcher: uri, decision }));
  const root = h("section", { id: "presence", class: "card presence", hidden: true, "aria-labelledby": "presence-title" },
    h("h2", { id: "presence-title", text: "Presence" }), error, contacts.element, watchers.element);
  panel.append(root);
  portal.headerSlot.append(picker.element);

  async function load() {
    try {
      const snapshot = await request("state");
      state.contacts = snapshot.contacts;
      state.watchers = snapshot.watchers;
      state.enforced = snapshot.rules_enforced;
      picker.show(snapshot);
      contacts.render(state.contacts);
      watchers.render(state.watchers, state.enforced);
      report(snapshot.store_problem ? new Error(snapshot.store_problem) : null);
      root.hidden = false;
    } catch (failure) {
      report(failure);
    }
  }

  client.on("presence", "status", (body) => picker.show(body));
  client.on("presence", "contacts", ({ contacts: list }) => { state.contacts = list; contacts.render(list); });
  client.on("presence", "contact.presence", ({ uri, presence }) => {
    state.contacts = state.contacts.map((c) => (c.uri === uri ? { ...c, presence } : c));
    contacts.update(uri, presence);
  });
  client.on("presence", "watchers", ({ watchers: list }) => {
    state.watchers = list;
    watchers.render(list, state.enforced);
  });
  portal.addEventListener("login", load);
  portal.addEventListener("logout", () => {
    root.hidden = true;
    picker.element.hidden = true;
  });
  // A reconnect may have missed events: the gateway's state is the truth.
  client.addEventListener("reconnected", () => { if (portal.account) load(); });
  if (portal.account) load();
}
