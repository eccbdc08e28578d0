// WIBOT's page: sends a question, shows the answer as it streams (fetch + Server-Sent Events), stops it, and after a
// reload attaches to an answer still being written, from where the page stands. The server owns the answer: leaving
// the page never loses it. Model text is only ever inserted as text; saved answers come back as server-rendered HTML.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const main = document.querySelector(".chat-main");
const thread = document.getElementById("chat-thread");
const form = document.getElementById("chat-composer");
const input = document.getElementById("chat-input");
const mode = document.getElementById("chat-mode");
const send = document.getElementById("chat-send");
const stop = document.getElementById("chat-stop");
const errorBox = document.getElementById("chat-error");
const queueBox = document.getElementById("chat-queue");
const usage = document.getElementById("chat-usage");
const numbers = new Intl.NumberFormat("fr-FR");
let current = null; // { id, body, controller }

function headers(json) {
  const result = { "X-CSRF-Token": csrf, Accept: "application/json" };
  if (json) result["Content-Type"] = "application/json";
  return result;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return body.error?.message ?? `Erreur ${response.status}`;
  } catch {
    return `Erreur ${response.status}`;
  }
}

function bubble(isUser, text) {
  document.getElementById("chat-empty")?.remove();
  const article = document.createElement("article");
  article.className = `chat-message ${isUser ? "from-user" : "from-wibot"}`;
  const meta = document.createElement("header");
  meta.className = "chat-meta";
  const who = document.createElement("strong");
  who.textContent = isUser ? "Vous" : "WIBOT";
  meta.append(who, ` · ${mode.selectedOptions[0]?.textContent.replace(/\s*\(.*\)$/, "") ?? ""}`);
  const body = document.createElement("div");
  body.className = isUser ? "chat-body" : "chat-body streaming";
  body.textContent = text;
  article.append(meta, body);
  thread.append(article);
  article.scrollIntoView({ block: "end" });
  return article;
}

function busy(on) {
  send.hidden = on;
  stop.hidden = !on;
  input.disabled = false;
}

// Reads an SSE body event by event and hands each to `onEvent`.
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += value;
    let end;
    while ((end = pending.indexOf("\n\n")) >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

async function follow(response, article) {
  const body = article.querySelector(".chat-body");
  current = { id: article.dataset.messageId ?? null, article, body };
  busy(true);
  let finished = false;
  try {
    await readEvents(response, (name, data) => {
      switch (name) {
        case "start":
          current.id = data.message_id;
          article.dataset.messageId = data.message_id;
          if (!main.dataset.conversationId) {
            main.dataset.conversationId = data.conversation_id.toLowerCase();
            history.replaceState(null, "", `/wibot?c=${main.dataset.conversationId}`);
          }
          break;
        case "queued":
          queueBox.textContent = `En file d'attente : ${data.message}.`;
          queueBox.hidden = false;
          break;
        case "delta":
          queueBox.hidden = true;
          body.append(data.text);
          if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 80) article.scrollIntoView({ block: "end" });
          break;
        case "error":
          showError(data.message);
          break;
        case "done":
          finished = true;
          if (data.tokens) usage.textContent = `${numbers.format(data.tokens.used)} / ${numbers.format(data.tokens.quota)} jetons ce mois-ci`;
          break;
      }
    });
  } catch (error) {
    if (!finished) showError("La connexion a été coupée : la réponse continue sur le serveur, rechargez la page pour la retrouver.");
  } finally {
    queueBox.hidden = true;
    busy(false);
  }
  if (finished && current.id) await replaceWithSaved(article, current.id);
  current = null;
}

async function replaceWithSaved(article, id) {
  const response = await fetch(`/wibot/messages/${encodeURIComponent(id)}`, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const template = document.createElement("template");
  template.innerHTML = await response.text();
  const saved = template.content.firstElementChild;
  if (saved) article.replaceWith(saved);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const content = input.value.trim();
  if (!content || current) return;
  showError("");
  const payload = { mode: mode.value, content };
  if (main.dataset.conversationId) payload.conversation_id = main.dataset.conversationId;
  bubble(true, content);
  input.value = "";
  const article = bubble(false, "");
  let response;
  try {
    response = await fetch("/api/chat/message", { method: "POST", headers: headers(true), body: JSON.stringify(payload) });
  } catch {
    article.remove();
    showError("Le serveur ne répond pas : vérifiez votre connexion et réessayez.");
    return;
  }
  if (!response.ok) {
    article.remove();
    showError(await errorMessage(response));
    return;
  }
  await follow(response, article);
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

stop.addEventListener("click", async () => {
  if (!current?.id) return;
  stop.disabled = true;
  try {
    const response = await fetch(`/api/chat/messages/${encodeURIComponent(current.id)}/stop`, { method: "POST", headers: headers(false) });
    if (!response.ok) showError(await errorMessage(response));
  } finally {
    stop.disabled = false;
  }
});

thread.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-feedback]");
  if (!button) return;
  const article = button.closest("[data-message-id]");
  const pressed = button.getAttribute("aria-pressed") === "true";
  const response = await fetch(`/api/chat/messages/${encodeURIComponent(article.dataset.messageId)}/feedback`, {
    method: "PUT",
    headers: headers(true),
    body: JSON.stringify({ rating: pressed ? null : button.dataset.feedback }),
  });
  if (!response.ok) return showError(await errorMessage(response));
  for (const other of article.querySelectorAll("[data-feedback]")) other.setAttribute("aria-pressed", "false");
  button.setAttribute("aria-pressed", pressed ? "false" : "true");
});

document.getElementById("chat-rename")?.addEventListener("click", async () => {
  const title = prompt("Nouveau titre de la conversation :", document.getElementById("chat-title").textContent);
  if (!title) return;
  const response = await fetch(`/api/chat/conversations/${main.dataset.conversationId}`, {
    method: "PATCH",
    headers: headers(true),
    body: JSON.stringify({ title }),
  });
  if (!response.ok) return showError(await errorMessage(response));
  location.reload();
});

document.getElementById("chat-delete")?.addEventListener("click", async () => {
  if (!confirm("Supprimer cette conversation et tous ses messages ?")) return;
  const response = await fetch(`/api/chat/conversations/${main.dataset.conversationId}`, { method: "DELETE", headers: headers(false) });
  if (!response.ok) return showError(await errorMessage(response));
  location.href = "/wibot";
});

// An answer still being written when the page was (re)loaded: attach to it from where the page stands.
const streaming = thread.querySelector('[data-streaming="true"]');
if (streaming) {
  const from = streaming.dataset.length ?? "0";
  fetch(`/api/chat/messages/${encodeURIComponent(streaming.dataset.messageId)}/stream?from=${from}`, {
    headers: { Accept: "text/event-stream" },
  }).then((response) => (response.ok ? follow(response, streaming) : null));
}
