// Small helpers of the presence module's page. The element builder h() is the core's (/static/dom.js): remote
// text only ever goes in as text, never as markup.

export { h } from "/static/dom.js";  // the core's builder: remote text never becomes markup

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
