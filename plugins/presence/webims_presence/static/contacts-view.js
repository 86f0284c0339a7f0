// Her contacts with live status: a dot and words, the note, and for each contact call / message / chat (asked of
// the voice and im modules through the portal, when those services are on), edit in place and remove; and the
// add form.
import { h, presenceText, presenceTone } from "./dom.js";

export class ContactsView {
  constructor({ services, onAdd, onUpdate, onRemove, onAction }) {
    this.services = services;
    this.handlers = { onUpdate, onRemove, onAction };
    this.list = h("ul", { id: "presence-contacts", class: "presence-contacts", "aria-label": "Contacts" });
    this.uri = h("input", { id: "presence-add-uri", type: "text", placeholder: "sip:name@domain or +number",
      "aria-label": "Contact address", required: true });
    this.name = h("input", { id: "presence-add-name", type: "text", placeholder: "Name", "aria-label": "Name" });
    this.group = h("input", { id: "presence-add-group", type: "text", placeholder: "Group", "aria-label": "Group" });
    this.form = h("form", { class: "presence-add", novalidate: true, "aria-label": "Add a contact" },
      this.uri, this.name, this.group, h("button", { id: "presence-add", type: "submit" }, "Add"));
    this.form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await onAdd({ uri: this.uri.value.trim(), display_name: this.name.value.trim(),
        group: this.group.value.trim() })) this.form.reset();
    });
    this.element = h("section", { class: "presence-contacts-card", "aria-labelledby": "presence-contacts-title" },
      h("h3", { id: "presence-contacts-title", text: "Contacts" }), this.list, this.form);
  }

  render(contacts) {
    const groups = new Map();
    for (const contact of contacts) {
      if (!groups.has(contact.group)) groups.set(contact.group, []);
      groups.get(contact.group).push(contact);
    }
    const items = [];
    for (const [group, members] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      if (group) items.push(h("li", { class: "presence-group", role: "presentation" }, group));
      items.push(...members.map((contact) => this.item(contact)));
    }
    if (!items.length) items.push(h("li", { class: "muted" }, "No contacts yet: add one below."));
    this.list.replaceChildren(...items);
  }

  update(uri, presence) {
    const item = [...this.list.children].find((li) => li.dataset.uri === uri);
    if (!item) return;
    item.contact = { ...item.contact, presence };
    if (!item.querySelector(".presence-edit")) item.replaceWith(this.item(item.contact));  // never under her typing
  }

  item(contact) {
    const presence = contact.presence;
    const label = contact.display_name || contact.uri;
    const words = presenceText(presence);
    const item = h("li", { class: "presence-contact", "data-uri": contact.uri, "data-basic": presence?.basic || "",
      "data-activity": presence?.activity || "" },
      h("span", { class: "presence-dot", "data-tone": presenceTone(presence), "aria-hidden": "true" }),
      h("span", { class: "presence-who" }, h("strong", { text: label }),
        contact.display_name ? h("span", { class: "muted", text: contact.uri }) : null),
      h("span", { class: "presence-words", text: words }),
      presence?.note ? h("span", { class: "presence-contact-note", text: presence.note }) : null,
      h("span", { class: "presence-actions" }, this.actions(contact, label)));
    item.contact = contact;
    return item;
  }

  actions(contact, label) {
    const { onRemove, onAction } = this.handlers;
    const button = (text, aria, onclick) => h("button", { type: "button", "aria-label": aria, onclick }, text);
    return [
      this.services.voice ? button("Call", `Call ${label}`, () => onAction("dial", contact)) : null,
      this.services.im ? button("Message", `Message ${label}`, () => onAction("message", contact)) : null,
      this.services.im ? button("Chat", `Chat with ${label}`, () => onAction("chat", contact)) : null,
      button("Edit", `Edit ${label}`, (event) => this.edit(event.target.closest("li"), contact)),
      button("Remove", `Remove ${label}`, () => onRemove(contact)),
    ];
  }

  // Rename or regroup in place: the row becomes a small form until saved or cancelled.
  edit(item, contact) {
    const name = h("input", { type: "text", value: contact.display_name, "aria-label": `Name for ${contact.uri}` });
    const group = h("input", { type: "text", value: contact.group, "aria-label": `Group for ${contact.uri}` });
    const form = h("form", { class: "presence-edit", novalidate: true },
      name, group, h("button", { type: "submit" }, "Save"),
      h("button", { type: "button", onclick: () => this.closeEdit(form) }, "Cancel"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await this.handlers.onUpdate({ uri: contact.uri, display_name: name.value.trim(),
        group: group.value.trim() })) return;  // the contacts event redraws the list
      this.closeEdit(form);
    });
    const editing = h("li", { class: "presence-contact", "data-uri": contact.uri }, form);
    editing.contact = item.contact;
    item.replaceWith(editing);
    name.focus();
  }

  closeEdit(form) {
    const item = form.closest("li");
    item.replaceWith(this.item(item.contact));
  }
}
