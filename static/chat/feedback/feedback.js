// Feedback on replies: a thumb up and a thumb down in each finished reply's action bar,
// then an optional comment (feedback/views.py). Pressing the chosen thumb again clears it.
//
// It hooks into the transcript from outside: message_view.js marks each message element
// with its id and status (data-message-id, data-status), and shell.js the page with the
// open conversation (#app[data-conversation-id]); this module watches those and adds its
// buttons, so the transcript's own modules know nothing of feedback.

import { apiGet, apiPost } from "../server/api.js";
import { el, icon } from "../elements.js";

// The paths of feedback/urls.py.
const setUrl = (id) => `/api/messages/${encodeURIComponent(String(id))}/feedback`;
const LIST_URL = "/api/feedback/";
const RATEABLE = new Set(["complete", "incomplete", "cancelled"]);
const LABELS = { up: "Good reply", down: "Bad reply" };

const app = document.getElementById("app");
const list = document.getElementById("messages");
/** messageId (string) -> {rating, comment}: what the user said, as the server keeps it. */
const known = new Map();
let loadedFor = null;

function rateable(item) {
  return item.classList.contains("msg-assistant") && item.dataset.messageId
    && RATEABLE.has(item.dataset.status);
}

function thumb(rating) {
  const button = el("button", "msg-action icon-btn feedback-btn");
  button.type = "button";
  button.dataset.feedback = rating;
  button.setAttribute("aria-label", LABELS[rating]);
  button.title = LABELS[rating];
  button.setAttribute("aria-pressed", "false");
  button.append(icon(rating === "up" ? "thumb-up" : "thumb-down"));
  return button;
}

/** Adds the thumbs to a reply that can take them, and shows what the user chose. */
function decorate(item) {
  const actions = item.querySelector(":scope > .msg-foot .msg-actions");
  if (!actions) return;
  let group = actions.querySelector(".feedback");
  if (!rateable(item)) {
    group?.remove();
    return;
  }
  if (!group) {
    group = el("span", "feedback");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Feedback");
    group.append(thumb("up"), thumb("down"));
    actions.append(group);
  }
  const rating = known.get(item.dataset.messageId)?.rating ?? null;
  for (const button of group.querySelectorAll(".feedback-btn")) {
    button.setAttribute("aria-pressed", String(button.dataset.feedback === rating));
  }
}

function decorateAll() {
  for (const item of list.querySelectorAll(":scope > .msg-assistant")) decorate(item);
}

async function loadFor(conversationId) {
  if (conversationId === loadedFor) return;
  loadedFor = conversationId;
  known.clear();
  decorateAll();
  if (!conversationId) return;
  const { ok, data } = await apiGet(LIST_URL, { conversation: conversationId });
  if (!ok || loadedFor !== conversationId) return;
  for (const entry of data.feedback) known.set(String(entry.message_id), entry);
  decorateAll();
}

async function send(item, rating, comment = "") {
  const id = item.dataset.messageId;
  const { ok, data } = await apiPost(setUrl(id), { rating, comment });
  if (!ok) {
    showNote(item, data.error, { error: true });
    return false;
  }
  if (data.rating) known.set(id, data);
  else known.delete(id);
  decorate(item);
  return true;
}

function removeForm(item) {
  item.querySelector(":scope > .feedback-form")?.remove();
}

function showNote(item, text, { error = false } = {}) {
  removeForm(item);
  const note = el("p", error ? "feedback-note is-error" : "feedback-note", text);
  note.setAttribute("role", error ? "alert" : "status");
  item.querySelector(":scope > .feedback-note")?.remove();
  item.append(note);
  setTimeout(() => note.remove(), 4000);
}

/** The optional comment, under the reply, once a thumb is pressed. */
function openForm(item, rating) {
  removeForm(item);
  item.querySelector(":scope > .feedback-note")?.remove();
  const form = el("form", "feedback-form");
  const id = `feedback-comment-${item.dataset.messageId}`;
  const label = el("label", "feedback-label",
    rating === "up" ? "What was good about this reply? (optional)" : "What went wrong? (optional)");
  label.htmlFor = id;
  const text = el("textarea", "feedback-text");
  text.id = id;
  text.rows = 2;
  text.maxLength = 2000;
  text.value = known.get(item.dataset.messageId)?.comment || "";
  const buttons = el("div", "feedback-form-actions");
  const skip = el("button", "btn btn-ghost btn-small", "Skip");
  skip.type = "button";
  const submit = el("button", "btn btn-primary btn-small", "Send feedback");
  submit.type = "submit";
  buttons.append(skip, submit);
  form.append(label, text, buttons);
  const done = () => {
    removeForm(item);
    item.querySelector(`.feedback-btn[data-feedback="${rating}"]`)?.focus();
  };
  skip.addEventListener("click", done);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      done();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    if (await send(item, rating, text.value)) {
      showNote(item, "Thanks for the feedback.");
      item.querySelector(`.feedback-btn[data-feedback="${rating}"]`)?.focus();
    } else {
      submit.disabled = false;
    }
  });
  item.append(form);
  text.focus();
}

list.addEventListener("click", async (event) => {
  const button = event.target.closest(".feedback-btn");
  if (!button || !list.contains(button)) return;
  const item = button.closest(".msg");
  const rating = button.dataset.feedback;
  const current = known.get(item.dataset.messageId)?.rating ?? null;
  if (current === rating) {
    // Pressed again: the user takes it back.
    removeForm(item);
    if (await send(item, null)) showNote(item, "Feedback removed.");
    return;
  }
  if (await send(item, rating, known.get(item.dataset.messageId)?.comment || "")) openForm(item, rating);
});

// Messages come and go (a snapshot repaints them all) and change status as they stream.
new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node instanceof HTMLElement && node.classList.contains("msg-assistant")) decorate(node);
    }
  }
}).observe(list, { childList: true });
// Attributes of the messages (the list's children): subtree, or only the list's own count.
new MutationObserver((records) => {
  for (const record of records) {
    if (record.target.parentElement === list) decorate(record.target);
  }
}).observe(list, { subtree: true, attributes: true, attributeFilter: ["data-status", "data-message-id"] });

new MutationObserver(() => loadFor(app.dataset.conversationId || null))
  .observe(app, { attributes: true, attributeFilter: ["data-conversation-id"] });
loadFor(app.dataset.conversationId || null);
