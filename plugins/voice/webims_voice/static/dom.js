// Small helpers of the voice module's page. The element builder h() is the core's (/static/dom.js): remote
// text only ever goes in as text, never as markup.

export { h } from "/static/dom.js";  // the core's builder: remote text never becomes markup

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
