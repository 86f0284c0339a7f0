// A tiny element builder for the voice module. Text only ever goes in as text nodes or textContent: remote text
// (display names, URIs, reasons) can never become markup, and the CSP forbids inline style, so there is no way
// here to set innerHTML or a style attribute.
//
//   h("button", { type: "button", class: "primary", onclick: dial, "aria-label": "Call Bob" }, "Call")

const FORBIDDEN = new Set(["innerHTML", "outerHTML", "style"]);

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (FORBIDDEN.has(key)) throw new Error(`h(): ${key} is not allowed`);
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key === "hidden" || key === "disabled" || key === "checked") element[key] = Boolean(value);
    else if (key === "htmlFor" || key === "type" || key === "value") element[key] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

// Replace an element's text, avoiding a DOM write (and a screen-reader announcement) when nothing changed.
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

// "Bob (sip:bob@ims.test)" or just the URI when there is no display name.
export function personText(peer) {
  const name = (peer?.display_name || "").trim();
  const uri = peer?.uri || "unknown";
  return name ? `${name} (${uri})` : uri;
}

let nextId = 1;
export function uniqueId(prefix) {
  return `${prefix}-${nextId++}`;
}
