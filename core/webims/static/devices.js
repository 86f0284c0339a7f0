// devices.js — the browser's media devices as page modules list them in their settings (the voice module's
// microphones and speakers, the video module's cameras): one enumeration, { id, label } per device, the words
// for why one could not be opened, and her choices kept in localStorage.
//
//   import { listDevices } from "/static/devices.js";
//   const { audioinput, audiooutput } = await listDevices({ audioinput: "Microphone", audiooutput: "Speaker" });

// Chromium adds pseudo-devices for audio: "default" follows the system's choice, as the id "" (no device
// chosen) does; "communications" (Windows) would list a device twice.
const FOLLOWS_SYSTEM = "default";
const DUPLICATE = "communications";

// `labels` maps each wanted kind to the word for its devices, numbered when the browser hides their names (before
// she has allowed the microphone or camera). Without enumerateDevices (an http page), every list is empty.
export async function listDevices(labels) {
  const lists = Object.fromEntries(Object.keys(labels).map((kind) => [kind, []]));
  if (!navigator.mediaDevices?.enumerateDevices) return lists;
  for (const device of await navigator.mediaDevices.enumerateDevices()) {
    const list = lists[device.kind];
    if (!list || device.deviceId === DUPLICATE) continue;
    list.push({ id: device.deviceId === FOLLOWS_SYSTEM ? "" : device.deviceId,
      label: device.label || `${labels[device.kind]} ${list.length + 1}` });
  }
  return lists;
}

// Why getUserMedia failed, in words she can act on; `device` is "microphone" or "camera".
export function deviceProblem(error, device) {
  switch (error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return `The browser did not allow the ${device}. Allow ${device} access for this site (the icon in the address `
        + "bar), then try again.";
    case "NotFoundError":
      return `No ${device} was found. Connect one and try again.`;
    case "NotReadableError":
      return `The ${device} could not be opened; another application may be using it.`;
    default:
      return `The ${device} could not be opened (${error.message || error.name}).`;
  }
}

// Her device choices, kept in localStorage under `key` (device ids and flags: no secrets). `types` names each
// field and its typeof; a field of another type, or storage that cannot be read, is left out.
export function loadChoices(key, types) {
  try {
    const saved = JSON.parse(localStorage.getItem(key) || "{}");
    if (!saved || typeof saved !== "object") return {};
    return Object.fromEntries(Object.keys(types).filter((name) => typeof saved[name] === types[name])
      .map((name) => [name, saved[name]]));
  } catch {
    return {};
  }
}

export function saveChoices(key, choices) {
  try {
    localStorage.setItem(key, JSON.stringify(choices));
  } catch { /* storage full or disabled: the choice lasts for this page only */ }
}
