// SUPERVISION, live: when an event of the workflows or of SAFEGUARD arrives (realtime.js: WebSocket, or polling every
// 30 s while it is down), the page asks the server for itself again and swaps its live regions ([data-live-region]
// with an id): the KPIs, the feed, the charts. The server renders everything, so the page shows exactly what a reload
// would. Events that arrive together make one request, and requests are at least two seconds apart (each counts
// against the user's request budget).

const SPACING_MS = 2000;
let busy = false;
let pending = false;

function openDetails(region) {
  return [...region.querySelectorAll("details")].map((details) => details.open);
}

function swap(current, fresh) {
  if (current.innerHTML === fresh.innerHTML) return;
  const known = new Set([...current.querySelectorAll("[data-key]")].map((item) => item.dataset.key));
  const open = openDetails(current);
  current.replaceChildren(...[...fresh.childNodes].map((node) => document.importNode(node, true)));
  current.querySelectorAll("details").forEach((details, index) => { if (open[index]) details.open = true; });
  if (known.size === 0) return;
  for (const item of current.querySelectorAll("[data-key]")) {
    if (!known.has(item.dataset.key)) item.classList.add("fresh");
  }
}

async function refresh() {
  const response = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
  if (response.status === 401) { location.reload(); return; }
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const region of document.querySelectorAll("[data-live-region][id]")) {
    const fresh = page.getElementById(region.id);
    if (fresh) swap(region, fresh);
  }
  tick();
}

async function catchUp() {
  pending = true;
  if (busy) return;
  busy = true;
  while (pending) {
    pending = false;
    try {
      await refresh();
    } catch {
      // Offline for a moment: the next event, or the next poll, catches up.
    }
    await new Promise((resolve) => setTimeout(resolve, SPACING_MS));
  }
  busy = false;
}

// A page without live regions (the rows behind a figure) is not fetched again: each fetch counts against the
// user's request budget.
if (document.querySelector("[data-live-region][id]")) {
  document.addEventListener("widip:event", (event) => {
    const channel = event.detail && event.detail.channel;
    if (channel === "supervision" || channel === "safeguard") catchUp();
  });
  document.addEventListener("widip:resync", catchUp);
}

// Countdowns of pending approvals: "Expire dans 12 min 05 s", as the server writes it.
function duration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}`;
}

function tick() {
  for (const countdown of document.querySelectorAll("time.countdown[datetime]")) {
    const left = Math.floor((Date.parse(countdown.getAttribute("datetime")) - Date.now()) / 1000);
    countdown.textContent = left > 0 ? `Expire dans ${duration(left)}` : "Expirée";
  }
}
setInterval(tick, 1000);

// The period selector: a preset applies at once; "Dates choisies…" shows the two dates to fill in.
const form = document.querySelector(".period-form");
if (form) {
  const select = form.querySelector("select[name=period]");
  const dates = form.querySelector(".period-dates");
  const showDates = () => { dates.hidden = select.value !== "custom"; };
  showDates();
  select.addEventListener("change", () => {
    showDates();
    if (select.value !== "custom") form.requestSubmit();
    else form.querySelector("input[name=from]").focus();
  });
}
