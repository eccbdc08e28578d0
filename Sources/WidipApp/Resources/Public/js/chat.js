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
  current = { id: article.dataset.messageId ?? null, article, body, question: article.dataset.question };
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
            showNewConversation(current.question ?? "");
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
        case "step":
          showStep(article, data.index, data.step);
          break;
        case "sources":
          showSources(article, data);
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
  listenForOutcomes();
}

// The assistant's tool calls while the answer is written; the saved answer replaces them with the server's rendering.
const stepLabels = {
  running: "en cours",
  success: "réussi",
  tool_error: "erreur de l'outil",
  refused: "refusé",
  failed: "échec",
  awaiting_approval: "en attente d'approbation",
};
function showStep(article, index, step) {
  let steps = article.querySelector(".chat-steps");
  if (!steps) {
    steps = document.createElement("div");
    steps.className = "chat-steps";
    steps.setAttribute("aria-label", "Outils appelés");
    article.querySelector(".chat-body").before(steps);
  }
  let item = steps.querySelector(`[data-index="${index}"]`);
  if (!item) {
    item = document.createElement("details");
    item.className = "tool-step";
    item.dataset.index = String(index);
    steps.append(item);
  }
  const summary = document.createElement("summary");
  const level = document.createElement("span");
  level.className = `badge level-${step.level}`;
  level.textContent = step.level;
  const tool = document.createElement("code");
  tool.textContent = step.tool;
  const status = document.createElement("span");
  status.className = "status";
  status.textContent = stepLabels[step.status] ?? step.status;
  summary.append(level, ` ${step.label} `, tool, " — ", status);
  if (step.duration_ms != null) summary.append(` (${numbers.format(step.duration_ms)} ms)`);
  const details = document.createElement("pre");
  details.textContent = JSON.stringify(step.arguments, null, 2) + (step.result ? `\n\n${step.result}` : "");
  item.replaceChildren(summary, details);
  if (step.status === "awaiting_approval" && step.approval_id) {
    item.dataset.awaitingApproval = step.approval_id;
    const link = document.createElement("a");
    link.href = `/safeguard/${encodeURIComponent(step.approval_id)}`;
    link.textContent = `Demande ${step.approval_id}`;
    item.append(link);
  }
}

function showSources(article, data) {
  article.querySelector(".chat-sources")?.remove();
  if (!data.items?.length) return;
  const section = document.createElement("section");
  section.className = "chat-sources";
  const title = document.createElement("h3");
  title.textContent = "Sources";
  const list = document.createElement("ol");
  for (const source of data.items) {
    const item = document.createElement("li");
    item.textContent = source.title;
    list.append(item);
  }
  section.append(title, list);
  article.querySelector(".chat-body").after(section);
}

// Actions handed to SAFEGUARD come back as messages of the conversation when a colleague decides: while one waits,
// the page listens for them (Server-Sent Events, resumed from the last message it has).
let listening = null;
function listenForOutcomes() {
  if (listening || !main.dataset.conversationId || !thread.querySelector("[data-awaiting-approval]")) return;
  const seqs = [...thread.querySelectorAll("[data-seq]")].map((item) => Number(item.dataset.seq) || 0);
  listening = new EventSource(`/api/chat/conversations/${main.dataset.conversationId}/updates?after=${Math.max(0, ...seqs)}`);
  listening.addEventListener("message", async (event) => {
    const data = JSON.parse(event.data);
    if (thread.querySelector(`[data-message-id="${data.message_id}"]`)) return;
    const response = await fetch(`/wibot/messages/${encodeURIComponent(data.message_id)}`, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    const added = template.content.firstElementChild;
    if (!added) return;
    thread.append(added);
    added.scrollIntoView({ block: "end" });
    // The step that asked now says how it ended, in the outcome's words and colour.
    const approval = added.querySelector('a[href^="/safeguard/"]')?.textContent.replace("Demande ", "");
    const outcome = added.querySelector(".chat-action .status");
    for (const step of thread.querySelectorAll(`[data-awaiting-approval="${approval}"]`)) {
      delete step.dataset.awaitingApproval;
      const status = step.querySelector(".status");
      if (status && outcome) {
        status.textContent = outcome.textContent.toLowerCase();
        status.className = outcome.className;
      }
    }
    if (document.hidden && "Notification" in window && Notification.permission === "granted") {
      new Notification("WIBOT — SAFEGUARD", { body: added.querySelector(".chat-body")?.textContent.trim() ?? "" });
    }
    if (!thread.querySelector("[data-awaiting-approval]")) {
      listening.close();
      listening = null;
    }
  });
}

// A conversation the first question just created: its title (the server's rule: the first line, cut at a word
// after 60 characters) and its place at the top of the list, without reloading the page.
function showNewConversation(question) {
  const firstLine = question.split(/\r?\n/)[0];
  let title = firstLine;
  if ([...firstLine].length > 60) {
    const cut = [...firstLine].slice(0, 60).join("");
    title = `${cut.includes(" ") ? cut.slice(0, cut.lastIndexOf(" ")) : cut}…`;
  }
  document.getElementById("chat-title").textContent = title;
  const list = document.querySelector(".chat-conversations");
  for (const item of list.querySelectorAll("li.current")) {
    item.classList.remove("current");
    item.querySelector("a")?.removeAttribute("aria-current");
  }
  const item = document.createElement("li");
  item.className = "current";
  const link = document.createElement("a");
  link.href = `/wibot?c=${main.dataset.conversationId}`;
  link.setAttribute("aria-current", "page");
  link.textContent = title;
  const when = document.createElement("span");
  when.className = "muted";
  when.textContent = "à l'instant";
  item.append(link, " ", when);
  list.prepend(item);
}

async function replaceWithSaved(article, id) {
  const response = await fetch(`/wibot/messages/${encodeURIComponent(id)}`, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const template = document.createElement("template");
  template.innerHTML = await response.text();
  const saved = template.content.firstElementChild;
  if (!saved) return;
  article.replaceWith(saved);
  decorateCode(saved);
}

// highlight.js (Debian's libjs-highlight.js, served by the app when installed) is a classic script of 800 kB: loaded
// once, only when an answer has a code block whose language it knows. Only named languages are coloured: guessing
// runs every grammar over the text.
let highlighter = null;
function loadHighlighter() {
  highlighter ??= new Promise((resolve) => {
    const script = document.createElement("script");
    script.src = main.dataset.highlight;
    script.onload = () => resolve(window.hljs ?? null);
    script.onerror = () => resolve(null);
    document.head.append(script);
  });
  return highlighter;
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain HTTP on a LAN has no clipboard API: the older way still works there.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("copy refused");
}

function decorateCode(root) {
  const blocks = [...root.querySelectorAll(".code-block:not([data-ready])")];
  for (const block of blocks) {
    block.dataset.ready = "true";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "code-copy";
    button.textContent = "Copier";
    button.addEventListener("click", async () => {
      try {
        await copyText(block.querySelector("code").textContent);
        button.textContent = "Copié";
      } catch {
        button.textContent = "Copie impossible";
      }
      setTimeout(() => (button.textContent = "Copier"), 2000);
    });
    block.prepend(button);
  }
  const named = blocks.map((block) => block.querySelector('code[class^="language-"]')).filter(Boolean);
  if (!named.length || !main.dataset.highlight) return;
  loadHighlighter().then((hljs) => {
    if (!hljs) return;
    for (const code of named) {
      if (!hljs.getLanguage(code.className.slice("language-".length))) continue;
      (hljs.highlightElement ?? hljs.highlightBlock).call(hljs, code);
    }
  });
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
  article.dataset.question = content;
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
  const obsolete = event.target.closest("[data-obsolete]");
  if (obsolete) {
    const article = obsolete.closest("[data-message-id]");
    const response = await fetch(`/api/knowledge/sources/${encodeURIComponent(obsolete.dataset.obsolete)}/obsolete`, {
      method: "POST",
      headers: headers(true),
      body: JSON.stringify({ message_id: article?.dataset.messageId ?? null }),
    });
    if (!response.ok) return showError(await errorMessage(response));
    obsolete.replaceWith("Signalée comme obsolète");
    return;
  }
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

decorateCode(thread);
listenForOutcomes();

// Whether the selected mode's provider answers, from the health view: said before a question is lost on it.
let health = null;
async function checkProvider() {
  const box = document.getElementById("chat-provider");
  const provider = mode.selectedOptions[0]?.dataset.provider;
  if (!provider) return;
  health ??= fetch("/api/workflows/health", { headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : null))
    .catch(() => null);
  const component = (await health)?.components?.find((item) => item.name === `llm:${provider}`);
  box.hidden = !component || component.status === "ok";
  if (!box.hidden) box.textContent = `${component.detail} en ce moment : la réponse à votre question risque d'échouer.`;
}
mode.addEventListener("change", checkProvider);
checkProvider();

// An answer still being written when the page was (re)loaded: attach to it from where the page stands.
const streaming = thread.querySelector('[data-streaming="true"]');
if (streaming) {
  const from = streaming.dataset.length ?? "0";
  fetch(`/api/chat/messages/${encodeURIComponent(streaming.dataset.messageId)}/stream?from=${from}`, {
    headers: { Accept: "text/event-stream" },
  }).then((response) => (response.ok ? follow(response, streaming) : null));
}
