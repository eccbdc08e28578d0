// The audit viewer: new entries appear at the top of the table without a reload. The page loads this script only
// when no filter or page is applied.
// The server renders the rows (the page's own row template): this script asks for what is newer than the top row and
// inserts it. Events that arrive together make one request, and requests are at least a second apart: each one counts
// against the user's request budget.
const table = document.querySelector("#audit-table tbody");
const spacing = 1000;
let busy = false;
let pending = false;

function newestId() {
  const ids = [...table.querySelectorAll("tr[data-id]")].map((row) => Number(row.dataset.id));
  return ids.length ? Math.max(...ids) : 0;
}

async function fetchNewRows() {
  const response = await fetch(`/audit/lignes?apres=${newestId()}`, { headers: { Accept: "text/html" } });
  // 205: more new rows than a page holds; the page itself shows the newest ones with its pager.
  if (response.status === 205) return location.reload();
  if (!response.ok) return;
  const holder = document.createElement("template");
  holder.innerHTML = await response.text();
  const rows = [...holder.content.querySelectorAll("tr[data-id]")].filter(
    (row) => !table.querySelector(`tr[data-id="${row.dataset.id}"]`),
  );
  if (rows.length) table.querySelector("td.empty")?.parentElement.remove();
  // Newest first from the server: insert the oldest first, each on top.
  for (const row of rows.reverse()) {
    row.classList.add("fresh");
    table.prepend(row);
  }
}

async function catchUp() {
  pending = true;
  if (busy) return;
  busy = true;
  while (pending) {
    pending = false;
    try {
      await fetchNewRows();
    } catch {
      // Offline for a moment: the next event, or the resync reload, catches up.
    }
    await new Promise((resolve) => setTimeout(resolve, spacing));
  }
  busy = false;
}

if (table) {
  document.addEventListener("widip:audit:new_entry", catchUp);
  document.addEventListener("widip:resync", () => location.reload());
}
