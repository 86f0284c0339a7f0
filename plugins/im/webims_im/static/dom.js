// Small helpers of the im module's page. The element builder h() is the core's (/static/dom.js): remote
// text only ever goes in as text, never as markup.

export { h } from "/static/dom.js";  // the core's builder: remote text never becomes markup

// "Bob (sip:bob@ims.test)", or the URI alone when there is no display name.
export function personText(uri, name) {
  return name ? `${name} (${uri})` : uri;
}

export function timeText(seconds) {
  const date = new Date(seconds * 1000);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}
