// The audit viewer: new entries appear at the top of the table without a reload, when no filter or page is applied.
const table = document.querySelector("#audit-table tbody");
const filtered = new URLSearchParams(location.search).toString() !== "";
const dateFormat = new Intl.DateTimeFormat("fr-FR", {
  timeZone: document.body.dataset.timeZone || "Europe/Paris",
  day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function row(entry) {
  const tr = document.createElement("tr");
  tr.dataset.id = String(entry.id);
  tr.className = "fresh";
  const when = document.createElement("time");
  when.dateTime = entry.created_at;
  when.textContent = dateFormat.format(new Date(entry.created_at)).replace(",", "");
  const date = cell("", "num");
  date.append(when);
  const action = cell("");
  const code = document.createElement("code");
  code.textContent = entry.action;
  action.append(code);
  const details = cell("", "details");
  const json = document.createElement("code");
  json.textContent = entry.details ? JSON.stringify(entry.details) : "";
  details.append(json);
  const target = [entry.target_type, entry.target_id].filter((part) => part !== null && part !== undefined).join(" #");
  tr.append(date, cell(entry.username || "—"), action, cell(target), details, cell(entry.ip_address || ""));
  return tr;
}

if (table && !filtered) {
  document.addEventListener("widip:audit:new_entry", (event) => {
    const entry = event.detail.data;
    if (table.querySelector(`tr[data-id="${entry.id}"]`)) return;
    table.querySelector("td.empty")?.parentElement.remove();
    table.prepend(row(entry));
  });
  document.addEventListener("widip:resync", () => location.reload());
}
