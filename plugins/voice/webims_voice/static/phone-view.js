// The voice page's layout and what happens on it: the calls panel, the dialer, the incoming-call banners (with
// the ringtone and the desktop notification), the history and the settings, and the person's actions on them
// (place, answer, hold others, call back). voice.js owns the calls; this module shows them.

import { BarringView } from "./barring-view.js";
import { Call } from "./call.js";
import { CallView } from "./call-view.js";
import { Dialer } from "./dialer.js";
import { ForwardingView, forwardingNote } from "./forwarding-view.js";
import { h, personText, setText } from "./dom.js";
import { HistoryView } from "./history-view.js";
import { IncomingBanner } from "./incoming-view.js";
import { notifications } from "./notify.js";
import { SettingsView } from "./settings-view.js";

export function buildUi(voice, portal) {
  const views = new Map();
  const banners = new Map();
  const closeNotification = new Map();

  const dialer = new Dialer({ onCall: (target, privacy, name) => placeCall(target, privacy, name) });
  const callList = h("ol", { class: "call-list", "aria-label": "Your calls" });
  const noCalls = h("p", { class: "muted no-calls", text: "No calls right now." });
  const last = h("p", { class: "voice-last", role: "status" });
  const callsCard = h("section", { class: "card voice-calls is-empty", "aria-labelledby": "voice-calls-title" },
    h("h2", { id: "voice-calls-title", text: "Calls" }), noCalls, callList, last);
  const offer = notificationOffer();
  const forwardNote = h("p", { class: "forward-note", role: "status", hidden: true });
  const dialerCard = h("section", { class: "card voice-dialer", "aria-labelledby": "voice-dialer-title" },
    h("h2", { id: "voice-dialer-title", text: "Phone" }), forwardNote, dialer.form, offer);
  const forwarding = new ForwardingView(voice.client);
  const barring = new BarringView(voice.client);
  barring.addEventListener("callerid", ({ detail }) => dialer.setWithholdDefault(detail.withhold));
  forwarding.addEventListener("change", ({ detail }) => {
    setText(forwardNote, forwardingNote(detail));
    forwardNote.hidden = !forwardNote.textContent;
  });
  const historyView = new HistoryView(voice.history, { onCallBack: (entry) => callBack(entry) });
  const settings = new SettingsView(voice.devices, { onError: (error) => settings.showError(error.message),
    inCall: () => voice.live().length > 0 });
  const incomingStack = h("div", { class: "incoming-stack", "aria-live": "assertive", "aria-label": "Incoming calls" });
  const audioShelf = h("div", { class: "audio-shelf", hidden: true });
  const root = h("section", { class: "voice", "aria-label": "Voice calls", hidden: true },
    h("div", { class: "voice-grid" },
      h("div", { class: "voice-side" }, dialerCard, settings.element, forwarding.element, barring.element),
      h("div", { class: "voice-main" }, callsCard, historyView.element)),
    incomingStack, audioShelf);

  async function placeCall(target, privacy, name = "") {
    const call = voice.add(new Call(voice, { direction: "outgoing", peer: { uri: target, display_name: name },
      identity: portal.selectedIdentity, privacy }));
    show(call);
    dialer.busy(true);
    try {
      await holdOthers(call);
      await call.start(target);
      dialer.fill("");
    } catch (error) {
      if (call.state !== "ended") call.end(error.message, "failed");
      if (!error.code || !["offline"].includes(error.code)) dialer.fail(error.message);
    } finally {
      dialer.busy(false);
    }
  }

  // Her eyes go to the calls: from a contact further down the page, the new call's card may be out of sight.
  function dial(target, name) {
    if (dialer.dial(target, name)) callsCard.scrollIntoView({ block: "nearest" });
  }

  function callBack(entry) {
    const mine = (portal.account?.identities || []).some((identity) => identity.uri === entry.identity);
    if (mine && entry.identity !== portal.selectedIdentity) {
      // She answered on another identity: call back from that one, as a phone with several lines would.
      const previous = portal.selectedIdentity;
      portal.selectedIdentity = entry.identity;
      placeCall(entry.uri, false).finally(() => { portal.selectedIdentity = previous; });
      return;
    }
    dialer.fill(entry.uri);
    placeCall(entry.uri, false);
  }

  // Put every other connected call on hold (answering or resuming one call holds the rest, as phones do).
  async function holdOthers(except) {
    for (const other of voice.live()) {
      if (other !== except && other.state === "active" && !other.held.local) await other.hold(true);
    }
  }

  function show(call) {
    const view = new CallView(call, {
      onHold: async (c, on) => {
        if (!on) await holdOthers(c);
        await c.hold(on);
      },
    });
    views.set(call, view);
    callList.append(view.element);
    voice.runExtensions("controls", call, view.extra);
    refreshEmpty();
  }

  function incoming(detail) {
    const call = voice.add(new Call(voice, {
      id: detail.call, direction: "incoming", peer: detail.peer, identity: detail.identity,
      calledIdentity: detail.called_identity || detail.identity, offer: detail.sdp || null,
    }));
    const banner = new IncomingBanner(call, {
      onAnswer: async (c) => {
        voice.ringer.stop();
        await holdOthers(c);
        show(c);
        try {
          await c.answer();
        } catch (error) {
          if (c.state !== "ended") c.end(`The call could not be answered: ${error.message}`, "failed");
          throw error;
        }
      },
      onReject: (c, reason) => c.reject(reason),
      otherCallLive: () => voice.live().some((other) => other !== call && other.state === "active"),
    });
    banners.set(call, banner);
    incomingStack.append(banner.element);
    call.addEventListener("change", () => { if (!["incoming", "answering"].includes(call.state)) dropBanner(call); });
    updateRinging();
    closeNotification.set(call, notifications.incomingCall(call, () => banner.answer.focus()));
    if (document.activeElement === document.body || document.activeElement === null) banner.answer.focus();
  }

  function dropBanner(call) {
    const banner = banners.get(call);
    if (!banner) return;
    banners.delete(call);
    const hadFocus = banner.element.contains(document.activeElement);
    banner.element.remove();
    if (hadFocus) keepFocus(call);
    closeNotification.get(call)?.();
    closeNotification.delete(call);
    updateRinging();
  }

  function updateRinging() {
    const ringing = [...banners.keys()].some((call) => call.state === "incoming");
    if (!ringing) voice.ringer.stop();
    else voice.ringer.start(voice.live().some((call) => call.state === "active") ? "waiting" : "ring");
  }

  function ended(call) {
    dropBanner(call);
    const view = views.get(call);
    if (view) {
      const hadFocus = view.element.contains(document.activeElement);
      view.element.remove();
      views.delete(call);
      if (hadFocus) keepFocus(null);
    }
    refreshEmpty();
    const who = call.peer.display_name || call.peer.uri;
    if (call.outcome === "elsewhere") lastCall(`Call from ${who}: ${call.endReason}`);
    else if (call.outcome === "missed") lastCall(`Missed call from ${personText(call.peer)}: ${call.endReason}`);
    else if (call.outcome === "forwarded") lastCall(`Call from ${personText(call.peer)}: ${call.endReason}`);
    else lastCall(`Call with ${who} ended: ${call.endReason}`);
    updateRinging();
  }

  // The control she was on went away (a banner answered, a card ended): keyboard focus goes to the call's card,
  // else to the next call, else to the dialer, never back to the top of the page.
  function keepFocus(call) {
    const view = (call && views.get(call)) || [...views.values()].at(-1);
    if (view) view.hangup.focus();
    else dialer.callButton.focus();
  }

  function lastCall(text) {
    setText(last, text);
  }

  function refreshEmpty() {
    const empty = views.size === 0;
    noCalls.hidden = !empty;
    callsCard.classList.toggle("is-empty", empty);
  }

  function notificationOffer() {
    if (!notifications.shouldOffer()) return null;
    const box = h("div", { class: "notify-offer", role: "group", "aria-label": "Desktop notifications" });
    box.append(
      h("p", { text: "Get a desktop notification when someone calls while this tab is in the background?" }),
      h("div", { class: "notify-actions" },
        h("button", { type: "button", onclick: async () => { box.remove(); await notifications.ask(); settings.refresh(); } }, "Turn on"),
        h("button", { type: "button", class: "link-button", onclick: () => { notifications.notNow(); box.remove(); } }, "Not now")));
    return box;
  }

  return { root, audioShelf, dialer, settings, forwarding, barring, views, show, incoming, ended, lastCall, dial };
}
