// A tiny element builder for the presence module. Remote text (names, notes, URIs, reasons) only ever goes in as
// text nodes or textContent, and the CSP forbids inline style: innerHTML and style are refused outright.
//
//   h("button", { type: "button", class: "presence-call", onclick: call, "aria-label": "Call Bob" }, "Call")

const FORBIDDEN = new Set(["innerHTML", "outerHTML", "style"]);

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (FORBIDDEN.has(key)) throw new Error(`h(): ${key} is not allowed`);
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key === "hidden" || key === "disabled" || key === "selected") element[key] = Boolean(value);
    else if (key === "htmlFor" || key === "type" || key === "value") element[key] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

// Words for a presence as the page shows it (never colour alone): "Busy", "Away", "Offline", "Not shared"...
const ACTIVITY_TEXT = { available: "Available", away: "Away", busy: "Busy", "in-a-meeting": "In a meeting",
  "on-the-phone": "On the phone" };

export function presenceText(presence) {
  if (!presence || presence.basic === "unknown") {
    if (presence?.subscription === "pending") return "Waiting for permission";
    return presence?.reason || "Unknown";
  }
  if (presence.basic === "closed") return "Offline";
  return ACTIVITY_TEXT[presence.activity] || presence.activity || "Available";
}

// The dot's colour class: a small closed set, so remote text never becomes a class name.
export function presenceTone(presence) {
  if (!presence || presence.basic === "unknown") return "unknown";
  if (presence.basic === "closed") return "offline";
  if (["busy", "on-the-phone", "in-a-meeting"].includes(presence.activity)) return "busy";
  if (presence.activity === "away") return "away";
  return "available";
}
