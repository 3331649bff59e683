// A toast: a short notice at the bottom with one action (Undo), gone after `seconds`. It
// is a status region, so a screen reader hears it without the focus moving.

import { el } from "../elements.js";

let region = null;

function toastRegion() {
  if (!region) {
    region = el("div", "toasts");
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    document.body.append(region);
  }
  return region;
}

/**
 * @returns {{dismiss: () => void}}
 * `onExpire` runs when the time is up without the action.
 */
export function showToast(message, { actionLabel, onAction, seconds = 10, onExpire } = {}) {
  const toast = el("div", "toast");
  toast.append(el("p", "toast-text", message));
  let done = false;
  const finish = (acted) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    toast.remove();
    if (acted) onAction?.();
    else onExpire?.();
  };
  if (actionLabel) {
    const action = el("button", "btn btn-small toast-action", actionLabel);
    action.type = "button";
    action.addEventListener("click", () => finish(true));
    toast.append(action);
  }
  const close = el("button", "icon-btn toast-close");
  close.type = "button";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => finish(false));
  toast.append(close);
  toastRegion().append(toast);
  const timer = setTimeout(() => finish(false), seconds * 1000);
  return { dismiss: () => finish(false), element: toast };
}
