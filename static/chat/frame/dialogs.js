// In-page dialogs instead of the browser's confirm(): a <dialog> opened with showModal(), so
// the page behind is inert (the focus stays in it), Escape cancels, and the focus goes back
// to where it was.

import { el } from "../elements.js";

function dialogShell(className, title) {
  const dialog = el("dialog", className);
  const id = `dialog-${Math.random().toString(36).slice(2, 9)}`;
  dialog.setAttribute("aria-labelledby", `${id}-title`);
  const heading = el("h2", "dialog-title", title);
  heading.id = `${id}-title`;
  return { dialog, heading, id };
}

/** Tab and Shift+Tab go round the dialog's controls: a modal dialog alone would let the
 * focus out to the browser's own controls after the last one. */
function trapFocus(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const controls = [...dialog.querySelectorAll("button, a[href], input, textarea, select, [tabindex='0']")]
      .filter((node) => !node.disabled && node.offsetParent !== null);
    if (!controls.length) return;
    const first = controls[0];
    const last = controls[controls.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
}

function run(dialog, { returnTo, focus, answer }) {
  document.body.append(dialog);
  trapFocus(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (returnTo && returnTo.isConnected) returnTo.focus();
      resolve(answer());
    });
    dialog.showModal();
    focus.focus();
  });
}

/** @returns {Promise<boolean>} true when the user confirmed. */
export function confirmDialog({ title, body, confirmLabel = "OK", danger = false }) {
  const returnTo = document.activeElement;
  const { dialog, heading, id } = dialogShell("confirm-dialog", title);
  dialog.setAttribute("aria-describedby", `${id}-body`);
  const text = el("p", "dialog-body", body);
  text.id = `${id}-body`;
  const actions = el("div", "dialog-actions");
  const cancel = el("button", "btn btn-ghost", "Cancel");
  cancel.type = "button";
  const confirm = el("button", danger ? "btn btn-danger" : "btn btn-primary", confirmLabel);
  confirm.type = "button";
  actions.append(cancel, confirm);
  dialog.append(heading, text, actions);
  let confirmed = false;
  cancel.addEventListener("click", () => dialog.close());
  confirm.addEventListener("click", () => {
    confirmed = true;
    dialog.close();
  });
  // The safe choice has the focus: Enter on a dialog opened by mistake deletes nothing.
  return run(dialog, { returnTo, focus: cancel, answer: () => confirmed });
}

/** A modal sheet of content (the keyboard shortcuts); resolves when it closes. */
export function sheetDialog({ title, content, className = "" }) {
  const returnTo = document.activeElement;
  const { dialog, heading } = dialogShell(`sheet-dialog ${className}`.trim(), title);
  const head = el("div", "dialog-head");
  const close = el("button", "btn btn-ghost btn-small", "Close");
  close.type = "button";
  close.addEventListener("click", () => dialog.close());
  head.append(heading, close);
  dialog.append(head, content);
  return run(dialog, { returnTo, focus: close, answer: () => undefined });
}
