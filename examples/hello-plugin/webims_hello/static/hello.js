// The hello service's browser module: the portal imports it and calls mount() with the core client.
export function mount({ client, panel }) {
  const section = document.createElement("section");
  section.className = "card";
  section.setAttribute("aria-label", "Hello service");
  const title = document.createElement("h2");
  title.textContent = "Hello";
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Say hello";
  const output = document.createElement("p");
  output.setAttribute("role", "status");
  button.addEventListener("click", async () => {
    output.textContent = "Asking the gateway…";
    try {
      const reply = await client.request("hello", "greet", { name: "web" });
      output.textContent = reply.greeting;  // textContent: remote text is never HTML
    } catch (error) {
      output.textContent = error.message;
    }
  });
  section.append(title, button, output);
  panel.append(section);
}
