// Desktop notifications for incoming calls. Permission is asked politely: never at load, only when she clicks
// "Turn on" in the offer the phone card shows once; "Not now" is remembered too, and neither is asked again.

const ASKED_KEY = "webims.voice.notifications-asked";

export const notifications = {
  get supported() {
    return typeof Notification !== "undefined";
  },

  get permission() {
    return this.supported ? Notification.permission : "unsupported";
  },

  shouldOffer() {
    return this.permission === "default" && !remembered();
  },

  // From a click handler only (browsers require a user gesture for the prompt).
  async ask() {
    remember();
    return this.supported ? Notification.requestPermission() : "unsupported";
  },

  notNow() {
    remember();
  },

  // Show the call when she may not be looking at this tab; returns a closer (a no-op when nothing was shown).
  incomingCall(call, onClick) {
    if (this.permission !== "granted" || (document.visibilityState === "visible" && document.hasFocus())) {
      return () => {};
    }
    const caller = call.peer.display_name || call.peer.uri;
    const notification = new Notification(`Incoming call from ${caller}`, {
      body: `${call.peer.uri}\nto ${call.calledIdentity || call.identity}`,
      tag: `webims-call-${call.id}`,
      requireInteraction: true,
    });
    notification.addEventListener("click", () => {
      window.focus();
      onClick?.();
      notification.close();
    });
    return () => notification.close();
  },
};

function remembered() {
  try {
    return localStorage.getItem(ASKED_KEY) === "1";
  } catch {
    return false;
  }
}

function remember() {
  try {
    localStorage.setItem(ASKED_KEY, "1");
  } catch { /* not kept: the offer shows again next time */ }
}
