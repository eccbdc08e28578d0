// SAFEGUARD's queue, live: new requests appear as cards, decided and expired ones leave, countdowns run on the
// server's clock (the page says what time the server had when it was rendered, so a wrong browser clock changes
// nothing), and a new or escalated request raises a browser notification once the user has allowed them.
// Cards are rendered by the server (the page's own card template): this script fetches them by id.
const queue = document.getElementById("approval-queue");
const heading = document.getElementById("pending-heading");
const empty = document.getElementById("queue-empty");
const liveNotice = document.getElementById("live-notice");
const notifyButton = document.getElementById("enable-notifications");
const clockSkew = queue ? Number(queue.dataset.serverNow) - Date.now() : 0;
const level = queue ? queue.dataset.level : "";

function serverNow() {
  return Date.now() + clockSkew;
}

function say(text) {
  if (liveNotice) liveNotice.textContent = text;
}

function cards() {
  return queue ? [...queue.querySelectorAll("article.approval")] : [];
}

function refreshHeading() {
  const count = cards().length;
  if (heading) heading.textContent = count === 0 ? "Aucune demande en attente" : count === 1 ? "1 demande en attente" : `${count} demandes en attente`;
  if (empty) empty.hidden = count > 0;
}

function expiresIn(ms) {
  if (ms <= 0) return "Expirée";
  const minutes = Math.floor(ms / 60000);
  if (minutes < 1) return "Expire dans moins d'une minute";
  if (minutes < 60) return `Expire dans ${minutes} min`;
  return `Expire dans ${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")}`;
}

function urgencyOf(ms) {
  if (ms < 15 * 60000) return ["red", "URGENT"];
  if (ms < 60 * 60000) return ["yellow", "Bientôt"];
  return ["green", "Dans les temps"];
}

function tick() {
  for (const card of cards()) {
    const left = Date.parse(card.dataset.expiresAt) - serverNow();
    const [urgency, word] = urgencyOf(left);
    card.classList.remove("urgency-red", "urgency-yellow", "urgency-green");
    card.classList.add(`urgency-${urgency}`);
    const countdown = card.querySelector(".countdown");
    const wordSpan = card.querySelector(".urgency-word");
    if (countdown) countdown.textContent = expiresIn(left);
    if (wordSpan) wordSpan.textContent = left <= 0 ? "EXPIRÉE" : word;
    if (left <= 0) card.querySelectorAll(".decisions button, .decisions summary").forEach((control) => control.setAttribute("aria-disabled", "true"));
  }
}

async function fetchCard(id) {
  const response = await fetch(`/safeguard/cartes/${encodeURIComponent(id)}`, { headers: { Accept: "text/html" } });
  if (response.status === 204) return null;
  if (!response.ok) throw new Error(String(response.status));
  const holder = document.createElement("template");
  holder.innerHTML = await response.text();
  return holder.content.querySelector("article.approval");
}

// Keeps the queue ordered by expiry, the soonest first.
function place(card) {
  const existing = document.getElementById(card.id);
  if (existing) {
    // Keep what the user was typing in an open reject form.
    const open = existing.querySelector("details.reject[open]");
    if (open) return;
    existing.replaceWith(card);
  } else {
    const expires = Date.parse(card.dataset.expiresAt);
    const after = cards().find((other) => Date.parse(other.dataset.expiresAt) > expires);
    queue.insertBefore(card, after || null);
    card.classList.add("fresh");
  }
  refreshHeading();
  tick();
}

function remove(id, words) {
  const card = document.getElementById(`carte-${id}`);
  if (!card) return;
  card.remove();
  refreshHeading();
  say(words);
}

async function update(id) {
  try {
    const card = await fetchCard(id);
    if (card) place(card);
    else remove(id, `La demande ${id} n'est plus en attente.`);
  } catch {
    // Offline for a moment: the next event, or the resync reload, catches up.
  }
}

function notify(title, body, id) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const notification = new Notification(title, { body, tag: `safeguard-${id}`, lang: "fr" });
  notification.addEventListener("click", () => {
    window.focus();
    location.assign(`/safeguard/${encodeURIComponent(id)}`);
  });
}

function describe(data) {
  return [data.tool_name, data.client_name, data.ticket_title].filter(Boolean).join(" — ");
}

const leaving = {
  approved: (data) => `Demande ${data.approval_id} approuvée par ${data.actor}.`,
  rejected: (data) => `Demande ${data.approval_id} rejetée par ${data.actor}.`,
  expired: (data) => `Demande ${data.approval_id} expirée sans décision.`,
};

document.addEventListener("widip:event", (event) => {
  const envelope = event.detail;
  if (envelope.channel !== "safeguard" || !queue) return;
  const data = envelope.data || {};
  const step = data.step;
  if (step === "created") {
    update(data.approval_id);
    notify("SAFEGUARD : nouvelle demande", describe(data), data.approval_id);
  } else if (leaving[step]) {
    remove(data.approval_id, leaving[step](data));
  } else if (["postponed", "escalated", "approval_added"].includes(step)) {
    update(data.approval_id);
    if (step === "escalated" && ["N3", "N4"].includes(level)) notify("SAFEGUARD : demande escaladée", describe(data), data.approval_id);
  }
});

document.addEventListener("widip:resync", () => location.reload());

if (notifyButton && "Notification" in window && Notification.permission === "default") {
  notifyButton.hidden = false;
  notifyButton.addEventListener("click", async () => {
    await Notification.requestPermission();
    notifyButton.hidden = true;
  });
}

// A reject form must not be sent without its reason, and a decision on an expired card is pointless.
queue?.addEventListener("submit", (event) => {
  const card = event.target.closest("article.approval");
  if (card && Date.parse(card.dataset.expiresAt) <= serverNow()) {
    event.preventDefault();
    say("Cette demande a expiré : elle ne peut plus être décidée.");
  }
});

if (queue) {
  refreshHeading();
  tick();
  setInterval(tick, 1000);
}
