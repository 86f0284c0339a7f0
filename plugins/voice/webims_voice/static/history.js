// Call history, kept in this browser (localStorage), per private identity, newest first, at most MAX_ENTRIES.
// An entry holds who, when, how long and how it ended: no SDP, no tokens, nothing secret.

const MAX_ENTRIES = 50;
const KEY_PREFIX = "webims.voice.history.";

export class CallHistory extends EventTarget {
  constructor() {
    super();
    this.owner = null;
  }

  // Whose history: the private identity of the logged-in subscriber (null while logged out).
  setOwner(owner) {
    this.owner = owner;
    this.dispatchEvent(new CustomEvent("change"));
  }

  entries() {
    if (!this.owner) return [];
    try {
      const entries = JSON.parse(localStorage.getItem(KEY_PREFIX + this.owner) || "[]");
      return Array.isArray(entries) ? entries.filter(isEntry) : [];
    } catch {
      return [];
    }
  }

  add(entry) {
    if (!this.owner) return;
    const entries = [entry, ...this.entries().filter((e) => e.id !== entry.id)].slice(0, MAX_ENTRIES);
    this._save(entries);
  }

  clear() {
    this._save([]);
  }

  _save(entries) {
    try {
      localStorage.setItem(KEY_PREFIX + this.owner, JSON.stringify(entries));
    } catch { /* storage full or disabled: the history is not kept */ }
    this.dispatchEvent(new CustomEvent("change"));
  }
}

// The history entry of an ended call.
export function entryFor(call) {
  return {
    id: `${call.id || "local"}-${call.createdAt}`,
    direction: call.direction,
    uri: call.peer.uri,
    name: call.peer.display_name || "",
    identity: call.identity || "",
    at: call.createdAt,
    seconds: call.connectedAt ? Math.round(((call.endedAt || Date.now()) - call.connectedAt) / 1000) : 0,
    outcome: call.outcome,
    reason: call.endReason || "",
  };
}

// The history entry of a call the gateway forwarded or refused without ringing here (call.forwarded, call.barred):
// `outcome` is "forwarded" or "blocked".
export function settledEntry(detail, outcome) {
  return {
    id: `${detail.call}-${Date.now()}`,
    direction: "incoming",
    uri: detail.peer?.uri || "",
    name: detail.peer?.display_name || "",
    identity: detail.identity || "",
    at: Date.now(),
    seconds: 0,
    outcome,
    reason: detail.reason || "",
  };
}

function isEntry(entry) {
  return entry && typeof entry === "object" && typeof entry.uri === "string" && typeof entry.at === "number";
}
