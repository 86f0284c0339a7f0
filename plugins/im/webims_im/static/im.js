// The im service's page module: her conversations with unread counts, one conversation with delivery/read ticks
// and "typing…", the compose box (Enter sends, Shift+Enter is a new line), the identity she writes as, and chats.
// It speaks docs/im.md through the core client; the gateway keeps the history, so a reload loses nothing.
//
// Stable ids and labels for tests: #im, #im-conversations (li[data-peer]), #im-new-target, #im-new-open,
// #im-new-chat, #im-conversation, #im-identity, #im-chat-toggle, #im-chat-status, #im-messages
// (li[data-id][data-status]), #im-composing, #im-compose, #im-send, #im-error.
import { h, personText, timeText } from "./dom.js";

const TICKS = { sending: "…", sent: "✓", stored: "✓ (kept by the network)", delivered: "✓✓", displayed: "✓✓ read",
  failed: "!" };
const TICK_LABELS = { sending: "Sending", sent: "Sent", stored: "Kept by the network until they are online",
  delivered: "Delivered", displayed: "Read", failed: "Not delivered" };
// RFC 3994: tell the other side we type, refresh well before its 90 s, and say idle after 15 s without a key.
const COMPOSING_REFRESH_MS = 60000;
const COMPOSING_IDLE_MS = 15000;

class ImService {
  constructor(client, portal) {
    this.client = client;
    this.portal = portal;
    this.conversations = new Map();  // peer -> { peer, peer_name, identity, unread, last }
    this.chats = new Map();          // chat id -> chat summary
    this.open = null;                // the peer whose conversation is shown
    this.messages = [];              // of the open conversation, oldest first
    this.more = null;                // cursor for older messages
    this.composingTimers = new Map();
    this.typing = { active: false, sentAt: 0, idleTimer: null };
    this.ui = null;
  }

  request(type, body) {
    return this.client.request("im", type, body);
  }

  identityFor(peer) {
    return this.conversations.get(peer)?.identity || this.portal.selectedIdentity || this.portal.account?.default;
  }

  activeChat(peer) {
    return [...this.chats.values()].find((chat) => chat.peer === peer && chat.state !== "ended") || null;
  }

  // --- loading ---------------------------------------------------------------------------------------------------

  async load() {
    const [{ conversations }, { chats }] = await Promise.all([this.request("conversation.list"),
      this.request("chat.list")]);
    this.conversations = new Map(conversations.map((c) => [c.peer, c]));
    this.chats = new Map(chats.map((c) => [c.chat, c]));
    this.ui.renderList();
    if (this.open) await this.openConversation(this.open);
  }

  async openConversation(peer) {
    this.open = peer;
    if (!this.conversations.has(peer)) this.conversations.set(peer, { peer, peer_name: "", unread: 0, last: null });
    const { messages, more } = await this.request("conversation.history", { peer });
    this.messages = messages;
    this.more = more;
    this.ui.renderConversation();
    this.markRead();
  }

  async loadOlder() {
    if (this.more === null || !this.open) return;
    const { messages, more } = await this.request("conversation.history", { peer: this.open, before: this.more });
    this.messages = [...messages, ...this.messages];
    this.more = more;
    this.ui.renderMessages();
  }

  markRead() {
    const conversation = this.conversations.get(this.open);
    if (!conversation || document.visibilityState !== "visible") return;
    if (conversation.unread || this.messages.some((m) => m.direction === "in" && !m.read)) {
      conversation.unread = 0;
      this.ui.renderList();
      this.request("conversation.read", { peer: this.open }).catch((error) => this.ui.showError(error.message));
    }
  }

  // --- what she does ---------------------------------------------------------------------------------------------

  async send(text) {
    const peer = this.open;
    this.stopTyping(false);
    const { message } = await this.request("message.send", { to: peer, text, identity: this.identityFor(peer) });
    this.upsertMessage(message);
  }

  async setIdentity(peer, identity) {
    await this.request("conversation.identity", { peer, identity });
    this.conversations.get(peer).identity = identity;
  }

  async startChat(peer) {
    const { chat } = await this.request("chat.start", { to: peer, identity: this.identityFor(peer) });
    this.chats.set(chat.chat, chat);
    this.ui.renderChat();
  }

  async endChat(peer) {
    const chat = this.activeChat(peer);
    if (chat) await this.request("chat.end", { chat: chat.chat });
  }

  typed() {
    const now = Date.now();
    if (!this.typing.active || now - this.typing.sentAt > COMPOSING_REFRESH_MS) {
      this.typing.active = true;
      this.typing.sentAt = now;
      this.sendComposing(true);
    }
    clearTimeout(this.typing.idleTimer);
    this.typing.idleTimer = setTimeout(() => this.stopTyping(true), COMPOSING_IDLE_MS);
  }

  stopTyping(tell) {
    clearTimeout(this.typing.idleTimer);
    if (this.typing.active && tell) this.sendComposing(false);
    this.typing.active = false;
  }

  sendComposing(active) {
    const peer = this.open;
    this.request("composing", { to: peer, identity: this.identityFor(peer), active }).catch(() => {});
  }

  // --- what the gateway tells ------------------------------------------------------------------------------------

  onEvent(event) {
    if (event.type === "message") this.onMessage(event);
    else if (event.type === "message.status") this.onStatus(event);
    else if (event.type === "composing") this.onComposing(event);
    else if (event.type === "conversation.read") this.onRead(event);
    else if (event.type === "chat.state") this.onChat(event);
  }

  onMessage(message) {
    const conversation = this.conversations.get(message.peer) || { peer: message.peer, unread: 0 };
    conversation.peer_name = message.peer_name || conversation.peer_name || "";
    conversation.last = message;
    if (message.direction === "in" && !message.read && message.peer !== this.open) conversation.unread += 1;
    this.conversations.set(message.peer, conversation);
    if (message.peer === this.open) {
      this.upsertMessage(message);
      this.markRead();
    }
    this.ui.renderList();
  }

  upsertMessage(message) {
    if (message.peer !== this.open) return;
    const index = this.messages.findIndex((m) => m.id === message.id);
    if (index >= 0) this.messages[index] = { ...this.messages[index], ...message };
    else this.messages.push(message);
    this.ui.renderMessages();
  }

  onStatus({ id, peer, status, reason }) {
    const message = this.messages.find((m) => m.id === id);
    if (message) {
      message.status = status;
      message.reason = reason;
      this.ui.renderMessages();
    }
    const last = this.conversations.get(peer)?.last;
    if (last?.id === id) Object.assign(last, { status, reason });
  }

  onComposing({ peer, active, expires }) {
    clearTimeout(this.composingTimers.get(peer));
    if (active) this.composingTimers.set(peer, setTimeout(() => this.onComposing({ peer, active: false }),
      (expires || 120) * 1000));
    else this.composingTimers.delete(peer);
    if (peer === this.open) this.ui.showComposing(active);
  }

  onRead({ peer }) {
    const conversation = this.conversations.get(peer);
    if (conversation) conversation.unread = 0;
    this.ui.renderList();
  }

  onChat(chat) {
    if (chat.state === "ended") this.chats.delete(chat.chat);
    else this.chats.set(chat.chat, chat);
    if (chat.peer === this.open) this.ui.renderChat(chat.state === "ended" ? chat.reason : "");
  }
}

function buildUi(service, portal) {
  const list = h("ul", { id: "im-conversations", class: "im-list", "aria-label": "Conversations" });
  const target = h("input", { id: "im-new-target", type: "text", autocomplete: "off",
    placeholder: "Number or SIP address", "aria-label": "Write to (number or SIP address)" });
  const error = h("p", { id: "im-error", class: "error", role: "alert", hidden: true });
  const title = h("h3", { id: "im-conversation-title" });
  const identity = h("select", { id: "im-identity", "aria-label": "Write as" });
  const chatToggle = h("button", { id: "im-chat-toggle", type: "button" }, "Start chat");
  const chatStatus = h("p", { id: "im-chat-status", class: "muted", "aria-live": "polite" });
  const older = h("button", { id: "im-older", type: "button", class: "link-button", hidden: true },
    "Show older messages");
  const messages = h("ol", { id: "im-messages", class: "im-messages", role: "log", "aria-live": "polite",
    "aria-label": "Messages" });
  const composing = h("p", { id: "im-composing", class: "muted im-composing", hidden: true });
  const compose = h("textarea", { id: "im-compose", rows: "2", "aria-label": "Message",
    placeholder: "Write a message (Enter sends, Shift+Enter for a new line)" });
  const sendButton = h("button", { id: "im-send", type: "submit", class: "primary" }, "Send");
  const form = h("form", { class: "im-compose" }, compose, sendButton);
  const conversation = h("section", { id: "im-conversation", class: "im-conversation", hidden: true,
    "aria-labelledby": "im-conversation-title" },
  h("div", { class: "im-head" }, title, h("label", { htmlFor: "im-identity" }, "Write as"), identity,
    chatToggle), chatStatus, older, messages, composing, form);
  const root = h("section", { id: "im", class: "card im", "aria-label": "Messages", hidden: true },
    h("h2", {}, "Messages"), error,
    h("div", { class: "im-grid" },
      h("div", { class: "im-side" },
        h("form", { class: "im-new", id: "im-new" }, target,
          h("button", { id: "im-new-open", type: "submit" }, "Write"),
          h("button", { id: "im-new-chat", type: "button" }, "Chat")),
        list),
      conversation));

  const fail = (err) => showError(err.message);
  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  function renderList() {
    const items = [...service.conversations.values()]
      .filter((c) => c.last)
      .sort((a, b) => (b.last?.at || 0) - (a.last?.at || 0))
      .map((c) => h("li", { "data-peer": c.peer, class: c.peer === service.open ? "is-open" : "" },
        h("button", { type: "button", onclick: () => service.openConversation(c.peer).catch(fail),
          "aria-label": `Conversation with ${personText(c.peer, c.peer_name)}` +
            (c.unread ? `, ${c.unread} unread` : "") },
        h("span", { class: "im-peer", text: c.peer_name || c.peer }),
        h("span", { class: "im-preview muted", text: c.last?.text || "" }),
        c.unread ? h("span", { class: "im-unread", text: String(c.unread) }) : null)));
    list.replaceChildren(...items);
  }

  function renderIdentities() {
    const identities = portal.account?.identities || [];
    const chosen = service.identityFor(service.open);
    identity.replaceChildren(...identities.map((i) => h("option", { value: i.uri, text: i.display_name ?
      `${i.display_name} (${i.uri})` : i.uri })));
    identity.value = chosen;
  }

  function renderConversation() {
    const c = service.conversations.get(service.open);
    title.textContent = personText(c.peer, c.peer_name);
    conversation.hidden = false;
    renderIdentities();
    renderChat();
    renderMessages();
    showComposing(service.composingTimers.has(c.peer));
    renderList();
    compose.focus();
  }

  function renderMessages() {
    older.hidden = service.more === null;
    messages.replaceChildren(...service.messages.map((m) => {
      const status = m.direction === "out" ? h("span", { class: "im-status", "data-status": m.status,
        "aria-label": TICK_LABELS[m.status] + (m.reason ? `: ${m.reason}` : ""), title: m.reason || "",
        text: TICKS[m.status] || "" }) : null;
      const reason = m.status === "failed" && m.reason ? h("span", { class: "im-reason error", text: m.reason })
        : null;
      return h("li", { class: `im-message im-${m.direction}`, "data-id": m.id, "data-status": m.status },
        h("span", { class: "im-text", text: m.text }),
        h("span", { class: "im-meta muted" }, h("time", { text: timeText(m.at) }), m.chat ? " · chat" : "", " ",
          status), reason);
    }));
    messages.lastElementChild?.scrollIntoView({ block: "end" });
  }

  function renderChat(endedReason = "") {
    const chat = service.activeChat(service.open);
    chatToggle.textContent = chat ? "End chat" : "Start chat";
    chatStatus.textContent = chat ? (chat.state === "active" ? "Chat session open: messages go through it."
      : "Inviting to a chat…") : endedReason;
  }

  function showComposing(active) {
    const c = service.conversations.get(service.open);
    composing.textContent = active ? `${c?.peer_name || c?.peer} is typing…` : "";
    composing.hidden = !active;
  }

  async function submit() {
    const text = compose.value;
    if (!text.trim()) return;
    sendButton.disabled = true;
    try {
      await service.send(text);
      compose.value = "";
      showError("");
    } catch (err) {
      fail(err);
    } finally {
      sendButton.disabled = false;
      compose.focus();
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  compose.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  compose.addEventListener("input", () => (compose.value ? service.typed() : service.stopTyping(true)));
  identity.addEventListener("change", () => service.setIdentity(service.open, identity.value).catch(fail));
  chatToggle.addEventListener("click", () => {
    const action = service.activeChat(service.open) ? service.endChat(service.open) : service.startChat(service.open);
    action.catch(fail);
  });
  older.addEventListener("click", () => service.loadOlder().catch(fail));
  root.querySelector("#im-new").addEventListener("submit", (event) => {
    event.preventDefault();
    openTyped().catch(fail);
  });
  root.querySelector("#im-new-chat").addEventListener("click", () => openTyped(true).catch(fail));

  async function openTyped(chat = false) {
    const typed = target.value.trim();
    if (!typed) return;
    const peer = await openWith(typed);
    target.value = "";
    if (chat) await service.startChat(peer);
  }

  // A contact's Message or Chat button: her draft in the "write to" field stays; a chat already open is kept.
  async function openContact(uri, chat = false) {
    const peer = await openWith(uri);
    if (chat && !service.activeChat(peer)) await service.startChat(peer);
  }

  // The gateway turns what she typed into a URI and its conversation key (the reply's peer).
  async function openWith(typed) {
    const { peer } = await service.request("conversation.history", { peer: typed, limit: 1 });
    await service.openConversation(peer);
    return peer;
  }

  return { root, renderList, renderConversation, renderMessages, renderChat, showComposing, showError, openContact,
    hide() { conversation.hidden = true; list.replaceChildren(); showError(""); } };
}

export function mount({ client, panel, portal }) {
  const service = new ImService(client, portal);
  const ui = buildUi(service, portal);
  service.ui = ui;
  panel.append(ui.root);
  client.on("im", "*", (event) => service.onEvent(event));
  document.addEventListener("visibilitychange", () => service.markRead());

  const onLogin = () => {
    ui.root.hidden = false;
    service.load().catch((error) => ui.showError(`Your messages could not be loaded: ${error.message}`));
  };
  portal.addEventListener("login", onLogin);
  portal.addEventListener("logout", () => {
    service.conversations.clear();
    service.chats.clear();
    service.open = null;
    ui.hide();
    ui.root.hidden = true;
  });
  // A reconnect may have missed events: the gateway's history is the truth.
  client.addEventListener("reconnected", () => { if (portal.account) onLogin(); });
  // A contact's Message and Chat buttons in the presence module (the events' contract is in presence.js's header).
  const fail = (error) => ui.showError(error.message);
  portal.addEventListener("message", ({ detail }) => ui.openContact(detail.target).catch(fail));
  portal.addEventListener("chat", ({ detail }) => ui.openContact(detail.target, true).catch(fail));
  if (portal.account) onLogin();
}
