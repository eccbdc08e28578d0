// One WebSocket per tab: subscribes to the channels the page asks for (<body data-channels="audit safeguard">),
// keeps the last event id for this tab, reconnects with jittered backoff and resumes, and falls back to polling
// every 30 s when the socket cannot open. Pages listen to DOM events: "widip:event" (every envelope),
// "widip:<type>" (e.g. "widip:audit:new_entry"), and "widip:resync" (reload your data).

const POLL_INTERVAL_MS = 30_000;
const FAILURES_BEFORE_POLLING = 3;
const storageKey = "widip:last-event-id";

const channels = (document.body.dataset.channels || "").split(/\s+/).filter(Boolean);
const indicator = document.getElementById("live-indicator");
let lastId = Number(sessionStorage.getItem(storageKey)) || null;
let failures = 0;
let pollTimer = null;
let socket = null;
let leaving = false;
window.addEventListener("beforeunload", () => { leaving = true; });

function setState(state, label) {
  if (!indicator) return;
  indicator.dataset.state = state;
  indicator.textContent = label;
  indicator.title = state === "live" ? "Mises à jour en direct" : "Les mises à jour arrivent toutes les 30 s ou au rechargement";
}

function remember(id) {
  if (typeof id === "number" && (lastId === null || id > lastId)) {
    lastId = id;
    sessionStorage.setItem(storageKey, String(id));
  }
}

// The header's SAFEGUARD badge: every safeguard event carries the number of requests still pending.
const badge = document.getElementById("safeguard-badge");
function updateBadge(envelope) {
  const count = envelope.data && envelope.data.pending_count;
  if (!badge || envelope.channel !== "safeguard" || typeof count !== "number") return;
  badge.dataset.count = String(count);
  badge.querySelector(".pending-count").textContent = String(count);
  const label = count === 0 ? "Aucune demande SAFEGUARD en attente" : count === 1 ? "1 demande SAFEGUARD en attente" : `${count} demandes SAFEGUARD en attente`;
  badge.title = label;
  badge.setAttribute("aria-label", label);
}

function dispatch(envelope) {
  remember(envelope.id);
  updateBadge(envelope);
  document.dispatchEvent(new CustomEvent("widip:event", { detail: envelope }));
  document.dispatchEvent(new CustomEvent(`widip:${envelope.type}`, { detail: envelope }));
}

function resync() {
  document.dispatchEvent(new CustomEvent("widip:resync"));
}

function handle(message) {
  if (message.type === "subscribed") {
    if (lastId === null) remember(message.last_id);
    failures = 0;
    stopPolling();
    setState("live", "En direct");
  } else if (message.type === "resync") {
    lastId = null;
    sessionStorage.removeItem(storageKey);
    resync();
  } else if (typeof message.id === "number") {
    dispatch(message);
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let opened = false;
  socket = new WebSocket(`${scheme}//${location.host}/api/ws`);
  socket.addEventListener("open", () => {
    opened = true;
    socket.send(JSON.stringify({ subscribe: channels, resume_from: lastId }));
  });
  socket.addEventListener("message", (event) => {
    try { handle(JSON.parse(event.data)); } catch { /* ignore a malformed message */ }
  });
  socket.addEventListener("close", (event) => {
    socket = null;
    setState("offline", "Hors ligne");
    if (leaving) return;
    if (event.code === 4001) { // session ended (logout elsewhere, deactivation, expiry): sign in again
      location.assign("/connexion");
      return;
    }
    failures = opened ? 1 : failures + 1;
    if (failures >= FAILURES_BEFORE_POLLING) startPolling();
    const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6)) * (0.5 + Math.random());
    setTimeout(connect, delay);
  });
}

async function poll() {
  const query = new URLSearchParams({ channels: channels.join(",") });
  if (lastId !== null) query.set("after", String(lastId));
  try {
    const response = await fetch(`/api/events?${query}`, { credentials: "same-origin" });
    if (response.status === 401) { location.reload(); return; }
    if (!response.ok) return;
    const page = await response.json();
    if (page.resync) { lastId = null; resync(); }
    page.events.forEach(dispatch);
    remember(page.last_id);
  } catch { /* still offline */ }
}

function startPolling() {
  if (pollTimer !== null) return;
  poll();
  pollTimer = setInterval(poll, POLL_INTERVAL_MS);
}

function stopPolling() {
  if (pollTimer === null) return;
  clearInterval(pollTimer);
  pollTimer = null;
}

if (channels.length > 0) {
  setState("offline", "Connexion…");
  connect();
}
