// Why the composer cannot send (docs/websocket-protocol.md, codes `not_allowed` and
// `over_quota`): a conversation whose assistant the user may no longer use is read-only (a
// notice stands where the composer was), and a spent budget keeps Send off until the time it
// resets. The page's JSON says how things stood when it loaded (composer_refusal); the
// socket's refusals keep it up to date.

import { assistants, data, els, state } from "../page.js";

const READ_ONLY = "not_allowed";
const OVER_QUOTA = "over_quota";
export const COMPOSER_REFUSALS = new Set([READ_ONLY, OVER_QUOTA]);

// {message, until: Date} while the budget is spent; conversation ids refused `not_allowed`.
let spent = null;
const lost = new Map(); // conversation id -> message
let resetTimer = null;
let update = () => {};

function noticeElement() {
  let notice = document.getElementById("composer-notice");
  if (!notice) {
    notice = document.createElement("p");
    notice.id = "composer-notice";
    notice.className = "composer-notice";
    notice.setAttribute("role", "status");
    els.composer.before(notice);
  }
  return notice;
}

function resetsText(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? iso : when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function noteSpent(refusal) {
  const until = new Date(refusal.resets_at);
  const period = refusal.period === "month" ? "monthly" : "daily";
  spent = {
    message: `You have used your ${period} token budget. You can send again after ${resetsText(refusal.resets_at)}.`,
    until,
  };
  clearTimeout(resetTimer);
  const wait = until.getTime() - Date.now();
  if (wait > 0 && wait < 2 ** 31 - 1) {
    resetTimer = setTimeout(() => {
      spent = null;
      update();
    }, wait + 1000);
  }
}

/** Takes a refusal of the socket (an `error` frame); true when it is one of ours. */
export function noteRefusal(frame) {
  if (frame.code === OVER_QUOTA) noteSpent(frame);
  else if (frame.code === READ_ONLY && state.current) lost.set(state.current.id, frame.message);
  else if (frame.code === READ_ONLY && state.current === null) {
    // A new chat with an assistant the user lost since the page loaded: not offered any more.
    assistants.delete(state.assistantId);
    state.assistantId = assistants.keys().next().value ?? null;
  } else return false;
  update();
  return true;
}

/** The read-only reason of the open conversation, or null. */
function readOnlyReason() {
  const current = state.current;
  if (!current) return null;
  if (lost.has(current.id)) return lost.get(current.id);
  // The picker lists only the assistants the user may use (chat.selectors).
  if (current.assistant && !assistants.has(current.assistant.id)) {
    return "You can no longer use this conversation's assistant. The conversation stays readable; "
      + "ask an administrator for access to continue it.";
  }
  return null;
}

/** Called at the end of updateComposer(): shows the notice, hides or disables what cannot be used. */
export function applyComposerRefusals() {
  const readOnly = readOnlyReason();
  const notice = noticeElement();
  const message = readOnly || spent?.message || "";
  notice.textContent = message;
  notice.hidden = !message;
  notice.classList.toggle("is-read-only", Boolean(readOnly));
  els.composer.hidden = Boolean(readOnly);
  if (readOnly || spent) els.send.disabled = true;
}

export function bindComposerRefusals(updateComposer) {
  update = updateComposer;
  const given = data.composer_refusal;
  if (given?.code === OVER_QUOTA) noteSpent(given);
  else if (given?.code === READ_ONLY && state.current) lost.set(state.current.id, given.message);
}
