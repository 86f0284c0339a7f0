// dom.js — the element builder every page module uses. Text only ever goes in as text nodes or textContent, so
// remote text (display names, URIs, messages, notes, reasons) can never become markup; the CSP forbids inline
// style, so innerHTML, outerHTML and style are refused outright.
//
//   import { h } from "/static/dom.js";
//   h("button", { type: "button", class: "primary", onclick: dial, "aria-label": "Call Bob" }, "Call")

const FORBIDDEN = new Set(["innerHTML", "outerHTML", "style"]);
const BOOLEAN_PROPERTIES = new Set(["hidden", "disabled", "checked", "selected"]);
const PROPERTIES = new Set(["htmlFor", "type", "value"]);

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (FORBIDDEN.has(key)) throw new Error(`h(): ${key} is not allowed`);
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (BOOLEAN_PROPERTIES.has(key)) element[key] = Boolean(value);
    else if (PROPERTIES.has(key)) element[key] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}
