// The auth service's page module: the login form, the identity picker, logout, and the registration status.
// Passwords go to the gateway once and are never stored in the browser; only a resume token is kept, in
// sessionStorage, so a reload of this tab gets the registration back without asking again.

const TOKEN_KEY = "webims.resume";

export function mount({ client, panel, portal }) {
  const form = loginForm();
  panel.prepend(form.element);
  const header = headerControls();
  portal.headerSlot.append(header.element);

  function showLoggedIn(result) {
    sessionStorage.setItem(TOKEN_KEY, result.resume_token);
    portal.account = result;
    form.element.hidden = true;
    header.element.hidden = false;
    header.setIdentities(result.identities, portal.selectedIdentity || result.default);
    portal.selectedIdentity = header.picker.value;
    showRegistration(result);
    portal.dispatchEvent(new CustomEvent("login", { detail: result }));
  }

  function showLoggedOut(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    const wasLoggedIn = portal.account !== null;
    portal.account = null;
    form.element.hidden = false;
    header.element.hidden = true;
    form.reset(reason);
    // Logging out is not a problem; the network ending her registration is, and says why.
    const chosen = !reason || reason === "You logged out.";
    portal.setStatus(chosen ? "idle" : "closed", reason || "Not logged in");
    if (wasLoggedIn) portal.dispatchEvent(new CustomEvent("logout", { detail: { reason } }));
  }

  function showRegistration(state) {
    const who = portal.selectedIdentity || state.default;
    if (state.state === "registered") portal.setStatus("registered", `Registered as ${who}`);
    else if (state.state === "reconnecting") portal.setStatus("reconnecting", state.reason || "Reconnecting to the IMS network…");
    else portal.setStatus("closed", state.reason || state.state);
  }

  async function resume() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return false;
    portal.setStatus("connecting", "Restoring your session…");
    try {
      showLoggedIn(await client.request("auth", "resume", { token }));
      return true;
    } catch (error) {
      showLoggedOut(error.message);
      return false;
    }
  }

  form.onSubmit(async (username, password) => {
    form.busy(true);
    try {
      await client.whenConnected();  // she may be quicker than the WebSocket
      showLoggedIn(await client.request("auth", "login", { username, password }, { timeoutMs: 40000 }));
    } catch (error) {
      form.reset(error.message);
      form.fail(error.message);
    } finally {
      form.busy(false);
    }
  });

  header.picker.addEventListener("change", () => {
    portal.selectedIdentity = header.picker.value;
    portal.dispatchEvent(new CustomEvent("identitychange", { detail: { identity: header.picker.value } }));
    if (portal.account) showRegistration({ ...portal.account, state: "registered" });
  });
  header.logout.addEventListener("click", async () => {
    header.logout.disabled = true;
    try {
      await client.request("auth", "logout");
    } catch { /* logged out locally anyway */ }
    header.logout.disabled = false;
    showLoggedOut("You logged out.");
  });

  client.on("auth", "registration", (state) => {
    if (!portal.account) return;
    portal.account = { ...portal.account, identities: state.identities, default: state.default };
    header.setIdentities(state.identities, portal.selectedIdentity);
    showRegistration(state);
  });
  client.on("auth", "logged_out", ({ reason }) => showLoggedOut(reason));
  // After the WebSocket came back (network blip, gateway restart), re-attach with the token.
  client.addEventListener("reconnected", () => { if (portal.account) resume(); });
  client.addEventListener("statechange", ({ detail }) => {
    if (detail.state === "connected" && !portal.account && !sessionStorage.getItem(TOKEN_KEY)) {
      portal.setStatus("idle", "Not logged in");
      if (document.activeElement === document.body) form.focus();
    }
  });

  if (client.state === "connected") resume();
  else client.addEventListener("statechange", function once({ detail }) {
    if (detail.state !== "connected") return;
    client.removeEventListener("statechange", once);
    resume();
  });
}

function loginForm() {
  const element = document.createElement("section");
  element.className = "card login";
  element.setAttribute("aria-labelledby", "login-title");
  const title = document.createElement("h2");
  title.id = "login-title";
  title.textContent = "Log in to your IMS services";
  const form = document.createElement("form");
  form.noValidate = true;
  const user = field("login-username", "Username", "text", "username");
  const pass = field("login-password", "Password", "password", "current-password");
  const button = document.createElement("button");
  button.type = "submit";
  button.className = "primary";
  button.textContent = "Log in";
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  form.append(user.label, user.input, pass.label, pass.input, button, error);
  element.append(title, form);
  let handler = null;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!user.input.value || !pass.input.value) {
      error.textContent = "Enter your username and password.";
      return;
    }
    handler?.(user.input.value.trim(), pass.input.value);
  });
  return {
    element,
    onSubmit(callback) { handler = callback; },
    busy(on) {
      button.disabled = on;
      button.replaceChildren();
      if (on) {
        const spin = document.createElement("span");
        spin.className = "spinner";
        spin.setAttribute("aria-hidden", "true");
        button.append(spin, "Registering with the IMS network…");
        error.textContent = "";
      } else {
        button.textContent = "Log in";
      }
    },
    fail(text) { error.textContent = text; pass.input.focus(); },
    focus() { (user.input.value ? pass.input : user.input).focus(); },
    reset(text = "") { pass.input.value = ""; error.textContent = text && text !== "You logged out." ? text : ""; },
  };
}

function field(id, text, type, autocomplete) {
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = text;
  const input = document.createElement("input");
  input.id = id;
  input.name = id;
  input.type = type;
  input.autocomplete = autocomplete;
  input.required = true;
  return { label, input };
}

function headerControls() {
  const element = document.createElement("div");
  element.className = "identity-picker";
  element.hidden = true;
  const label = document.createElement("label");
  label.htmlFor = "identity-picker";
  label.textContent = "Act as";
  const picker = document.createElement("select");
  picker.id = "identity-picker";
  const logout = document.createElement("button");
  logout.type = "button";
  logout.textContent = "Log out";
  element.append(label, picker, logout);
  return {
    element, picker, logout,
    setIdentities(identities, selected) {
      picker.replaceChildren(...identities.map((identity) => {
        const option = document.createElement("option");
        option.value = identity.uri;
        const name = identity.display_name ? `${identity.display_name} <${identity.uri}>` : identity.uri;
        option.textContent = identity.default ? `${name} (default)` : name;
        return option;
      }));
      const wanted = identities.some((identity) => identity.uri === selected) ? selected
        : identities.find((identity) => identity.default)?.uri;
      if (wanted) picker.value = wanted;
    },
  };
}
