// webims.js — the core browser client for protocol v1 (docs/protocol.md). Plugins' modules build on it.
//
//   const client = new WebimsClient({ url: "/ws" });
//   client.addEventListener("statechange", () => show(client.state));
//   const welcome = await client.connect();
//   const reply = await client.request("voice", "call.start", { target: "tel:+15550101" });
//   const stop = client.on("voice", "call.ringing", (event) => ...);
//
// States: "connecting" → "connected" ⇄ "reconnecting" → "closed". After a drop the client reconnects by
// itself with exponential backoff and says hello again; services listen for "reconnected" to resume.

export const PROTOCOL_VERSION = 1;

export class WebimsError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = "WebimsError";
    this.code = code;
    this.details = details;
  }
}

export class WebimsClient extends EventTarget {
  constructor({ url = defaultUrl(), requestTimeoutMs = 15000, backoff = { firstMs: 500, maxMs: 15000 } } = {}) {
    super();
    this.url = url;
    this.requestTimeoutMs = requestTimeoutMs;
    this.backoff = backoff;
    this.state = "idle";
    this.welcome = null;
    this.closeReason = "";
    this._socket = null;
    this._nextId = 1;
    this._pending = new Map();
    this._attempt = 0;
    this._retryTimer = null;
    this._wanted = false;
  }

  // Connect and say hello; resolves with the welcome body (enabled services, limits).
  connect() {
    this._wanted = true;
    return this._open("connecting");
  }

  // Resolves once the client is connected (at once if it is); rejects after timeoutMs with a readable reason.
  // For what a person starts before the connection is up, e.g. a login submitted while the page still connects.
  whenConnected(timeoutMs = this.requestTimeoutMs) {
    if (this.state === "connected") return Promise.resolve(this.welcome);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.removeEventListener("statechange", onChange);
        reject(new WebimsError("offline", this.closeReason || "The gateway cannot be reached right now; try again in a moment."));
      }, timeoutMs);
      const onChange = ({ detail }) => {
        if (detail.state !== "connected") return;
        clearTimeout(timer);
        this.removeEventListener("statechange", onChange);
        resolve(this.welcome);
      };
      this.addEventListener("statechange", onChange);
    });
  }

  // Skip the rest of the backoff (the page learnt the network is back).
  reconnectNow() {
    if (this.state !== "reconnecting" || !this._wanted) return;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    if (this._socket && this._socket.readyState === WebSocket.CONNECTING) return;
    this._open("reconnecting").catch(() => {});
  }

  close() {
    this._wanted = false;
    clearTimeout(this._retryTimer);
    this._setState("closed", "closed by the page");
    if (this._socket) this._socket.close(1000, "bye");
  }

  // Send a request; resolves with the response body, rejects with a WebimsError carrying a readable message.
  request(service, type, body = {}, { session = undefined, timeoutMs = this.requestTimeoutMs } = {}) {
    if (!this._socket || this._socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new WebimsError("offline", "Not connected to the gateway; reconnecting…"));
    }
    const id = `r${this._nextId++}`;
    const envelope = { v: PROTOCOL_VERSION, kind: "request", service, type, id, body };
    if (session !== undefined) envelope.session = session;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new WebimsError("timeout", `The gateway did not answer ${service}/${type} in time.`));
      }, timeoutMs);
      this._pending.set(id, { resolve, reject, timer });
      this._socket.send(JSON.stringify(envelope));
    });
  }

  // Listen for events of one service (and type, or "*"); returns a function that stops listening.
  on(service, type, handler) {
    const name = `${service}/${type}`;
    const listener = (event) => handler(event.detail);
    this.addEventListener(name, listener);
    return () => this.removeEventListener(name, listener);
  }

  _open(state) {
    this._setState(state);
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(absoluteWsUrl(this.url));
      this._socket = socket;
      let greeted = false;
      socket.addEventListener("open", async () => {
        try {
          this.welcome = await this.request("core", "hello", { client: "webims.js" });
          greeted = true;
          const again = this._attempt > 0;
          this._attempt = 0;
          this._setState("connected");
          if (again) this.dispatchEvent(new CustomEvent("reconnected", { detail: this.welcome }));
          resolve(this.welcome);
        } catch (error) {
          reject(error);
          socket.close();
        }
      });
      socket.addEventListener("message", (message) => this._receive(message.data));
      socket.addEventListener("close", (event) => {
        this._failPending(event);
        if (!greeted) reject(new WebimsError("offline", closeText(event)));
        if (this._socket === socket) this._scheduleReconnect(event);
      });
    });
  }

  _receive(text) {
    let envelope;
    try {
      envelope = JSON.parse(text);
    } catch {
      return; // the gateway only sends JSON; ignore anything else rather than break the page
    }
    const pending = envelope.id && this._pending.get(envelope.id);
    if (pending && (envelope.kind === "response" || envelope.kind === "error")) {
      this._pending.delete(envelope.id);
      clearTimeout(pending.timer);
      if (envelope.kind === "response") pending.resolve(envelope.body);
      else pending.reject(new WebimsError(envelope.body.code, envelope.body.message, envelope.body.details));
      return;
    }
    const detail = { ...envelope.body, session: envelope.session, type: envelope.type, kind: envelope.kind };
    this.dispatchEvent(new CustomEvent(`${envelope.service}/${envelope.type}`, { detail }));
    this.dispatchEvent(new CustomEvent(`${envelope.service}/*`, { detail }));
  }

  _failPending(event) {
    for (const { reject, timer } of this._pending.values()) {
      clearTimeout(timer);
      reject(new WebimsError("offline", closeText(event)));
    }
    this._pending.clear();
  }

  _scheduleReconnect(event) {
    if (!this._wanted) return;
    this.closeReason = closeText(event);
    const { firstMs, maxMs } = this.backoff;
    const delay = Math.min(maxMs, firstMs * 2 ** this._attempt) * (0.75 + Math.random() / 2);
    this._attempt += 1;
    this._setState("reconnecting", `${this.closeReason} Retrying in ${Math.ceil(delay / 1000)} s…`);
    this._retryTimer = setTimeout(() => this._open("reconnecting").catch(() => {}), delay);
  }

  _setState(state, reason = "") {
    this.state = state;
    this.dispatchEvent(new CustomEvent("statechange", { detail: { state, reason } }));
  }
}

function defaultUrl() {
  return "/ws";
}

function absoluteWsUrl(url) {
  if (/^wss?:/.test(url)) return url;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${url}`;
}

function closeText(event) {
  switch (event.code) {
    case 1000: return "The connection to the gateway was closed.";
    case 1001: return "The gateway is restarting.";
    case 1008: return event.reason || "The gateway refused this connection.";
    case 1009: return "A message was too large for the gateway.";
    case 1006: return "The connection to the gateway was lost.";
    default: return event.reason || `The connection to the gateway closed (code ${event.code}).`;
  }
}
