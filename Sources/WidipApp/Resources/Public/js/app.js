// WIDIP — amélioration progressive : confirmations, jauges, menu utilisateur.
// Sans script, les formulaires sont envoyés directement et les pages restent utilisables.

const approved = new WeakSet();
let dialog, message, confirmButton;

function makeButton(label, value, className) {
  const button = document.createElement("button");
  button.type = "submit";
  button.value = value;
  button.className = className;
  button.textContent = label;
  return button;
}

function getDialog() {
  if (dialog) return dialog;
  dialog = document.createElement("dialog");
  dialog.className = "confirm-dialog";
  message = document.createElement("p");
  message.id = "confirm-dialog-message";
  dialog.setAttribute("aria-labelledby", message.id);
  const actions = document.createElement("form");
  actions.method = "dialog";
  actions.className = "actions";
  const cancel = makeButton("Annuler", "cancel", "button");
  cancel.autofocus = true; // action sensible : le choix par défaut est d'annuler
  confirmButton = makeButton("Confirmer", "confirm", "button primary");
  actions.append(cancel, confirmButton);
  dialog.append(message, actions);
  document.body.append(dialog);
  return dialog;
}

function resubmit(form, submitter) {
  approved.add(form);
  if (typeof form.requestSubmit !== "function") return form.submit();
  if (submitter && submitter.form === form) form.requestSubmit(submitter);
  else form.requestSubmit();
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
  if (approved.has(form)) { approved.delete(form); return; }
  event.preventDefault();
  const text = form.dataset.confirm || "Confirmer cette action ?";
  const submitter = event.submitter;
  if (typeof HTMLDialogElement !== "function") {
    if (window.confirm(text)) resubmit(form, submitter);
    return;
  }
  const box = getDialog();
  message.textContent = text;
  confirmButton.className = form.querySelector(".danger") ? "button danger" : "button primary";
  box.returnValue = "";
  box.addEventListener("close", () => {
    if (box.returnValue === "confirm") resubmit(form, submitter);
    else if (submitter) submitter.focus();
  }, { once: true });
  box.showModal();
});

for (const fill of document.querySelectorAll(".meter-fill[data-percent]")) {
  const value = parseFloat(String(fill.dataset.percent).replace(",", "."));
  if (!Number.isFinite(value)) continue;
  const percent = Math.min(100, Math.max(0, value));
  fill.style.width = `${percent}%`;
  fill.dataset.level = percent >= 95 ? "critical" : percent >= 80 ? "warning" : "ok";
}

const openMenus = () => document.querySelectorAll("details.user-menu[open]");

document.addEventListener("click", (event) => {
  for (const menu of openMenus()) if (!menu.contains(event.target)) menu.open = false;
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const menu of openMenus()) {
    const hadFocus = menu.contains(document.activeElement);
    menu.open = false;
    if (hadFocus) menu.querySelector("summary")?.focus();
  }
});

// Panneaux repliés sur téléphone (les filtres du journal) : ouverts sur un écran large, ou quand un filtre est actif.
const wide = window.matchMedia("(min-width: 721px)");
const unfoldWhenWide = () => {
  for (const panel of document.querySelectorAll("details[data-open-when-wide]")) {
    panel.open = wide.matches || panel.dataset.openWhenWide === "actif";
  }
};
unfoldWhenWide();
wide.addEventListener("change", unfoldWhenWide);
