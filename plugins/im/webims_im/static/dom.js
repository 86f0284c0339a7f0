// A tiny element builder for the im module. Remote text (messages, names, URIs, reasons) only ever goes in as
// text nodes or textContent, and the CSP forbids inline style: innerHTML and style are refused outright.
//
//   h("button", { type: "button", id: "im-send", onclick: send }, "Send")

const FORBIDDEN = new Set(["innerHTML", "outerHTML", "style"]);

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (FORBIDDEN.has(key)) throw new Error(`h(): ${key} is not allowed`);
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key === "hidden" || key === "disabled") element[key] = Boolean(value);
    else if (key === "htmlFor" || key === "type" || key === "value") element[key] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

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
