// The portal shell: branding, the connection status bar, and each enabled service's browser module.
// A service module exports mount({ client, panel, portal }); the shell never knows what services exist.
import { WebimsClient } from "/static/webims.js";

const STATUS_TEXT = {
  connecting: "Connecting to the gateway…",
  connected: "Connected",
  reconnecting: "Reconnecting to the gateway…",
  closed: "Disconnected from the gateway",
};
const OFFLINE_TEXT = "Offline: this device has no network connection. Calls and messages resume when it is back.";

// The portal object every service module gets. It is an EventTarget: the auth module dispatches "login"
// (detail: the login result) and "logout" (detail: { reason }); others show or hide their panels on them.
class Portal extends EventTarget {
  constructor() {
    super();
    this.client = new WebimsClient();
    this.manifest = null;
    this.account = null;           // the login result while logged in: identities, default, ...
    this.selectedIdentity = null;  // the public identity chosen in the identity picker
    this._status = null;
    this._offline = false;
  }

  // Services call this to show their own state (e.g. "Registered as sip:mary@ims.test") in the status bar.
  // While the device is offline that is what the bar says; the latest state shows again when it is back.
  setStatus(state, text) {
    this._status = { state, text };
    if (this._offline && state !== "offline") return;
    show(state, text);
  }

  setOffline(offline) {
    this._offline = offline;
    if (offline) show("offline", OFFLINE_TEXT);
    else if (this._status) show(this._status.state, this._status.text);
  }

  // The element a service puts its header controls into (identity picker, logout, presence status).
  get headerSlot() {
    return document.getElementById("header-slot");
  }
}

function show(state, text) {
  const status = document.getElementById("status");
  status.dataset.state = state;
  status.textContent = text;  // textContent everywhere: remote text never becomes HTML
}

export const portal = new Portal();

async function start() {
  const response = await fetch("/portal.json");
  portal.manifest = await response.json();
  const operator = portal.manifest.operator;
  document.getElementById("operator-name").textContent = operator.name;
  document.title = operator.name;
  if (operator.logo) {
    const logo = document.getElementById("operator-logo");
    logo.src = operator.logo;
    logo.hidden = false;
  }
  portal.client.addEventListener("statechange", ({ detail }) => {
    // Once logged in, the auth module owns the status bar, except while the gateway itself is unreachable.
    if (portal.account && detail.state === "connected") return;
    portal.setStatus(detail.state, detail.reason || STATUS_TEXT[detail.state] || detail.state);
  });
  // The device lost its network: say so at once rather than after the WebSocket times out; when it is back,
  // reconnect now instead of waiting out the backoff.
  portal.setOffline(!navigator.onLine);
  window.addEventListener("offline", () => portal.setOffline(true));
  window.addEventListener("online", () => {
    portal.setOffline(false);
    portal.client.reconnectNow();
  });
  await loadServices(portal.manifest.services);
  try {
    await portal.client.connect();
  } catch (error) {
    portal.setStatus("reconnecting", error.message);
  }
}

async function loadServices(services) {
  const panels = document.getElementById("panels");
  for (const [name, service] of Object.entries(services)) {
    for (const href of service.styles) {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      document.head.append(link);
    }
    for (const url of service.modules) {
      try {
        const module = await import(url);
        module.mount?.({ client: portal.client, panel: panels, portal });
      } catch (error) {
        console.warn(`The ${name} service's page module failed to load: ${error.message}`);
      }
    }
  }
}

start().catch((error) => portal.setStatus("closed", `The portal could not start: ${error.message}`));
