// The audit viewer: new entries appear at the top of the table without a reload, when no filter or page is applied.
// The server renders the rows (the page's own row template): this script only asks for what is newer than the top
// row and inserts it, one request at a time however many events arrive together.
const table = document.querySelector("#audit-table tbody");
const filtered = new URLSearchParams(location.search).toString() !== "";
let fetching = false;
let again = false;

function newestId() {
  const ids = [...table.querySelectorAll("tr[data-id]")].map((row) => Number(row.dataset.id));
  return ids.length ? Math.max(...ids) : 0;
}

async function catchUp() {
  if (fetching) {
    again = true;
    return;
  }
  fetching = true;
  try {
    do {
      again = false;
      const response = await fetch(`/audit/lignes?apres=${newestId()}`, { headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const holder = document.createElement("template");
      holder.innerHTML = await response.text();
      const rows = [...holder.content.querySelectorAll("tr[data-id]")].filter(
        (row) => !table.querySelector(`tr[data-id="${row.dataset.id}"]`),
      );
      if (rows.length) table.querySelector("td.empty")?.parentElement.remove();
      for (const row of rows.reverse()) {
        row.classList.add("fresh");
        table.prepend(row);
      }
    } while (again);
  } catch {
    // Offline for a moment: the next event or the resync reload catches up.
  } finally {
    fetching = false;
  }
}

if (table && !filtered) {
  document.addEventListener("widip:audit:new_entry", catchUp);
  document.addEventListener("widip:resync", () => location.reload());
}
