// The share dialog of the chat page: make a read-only link to a snapshot of the open
// conversation (sharing/views.py), copy it, choose whether its files can be downloaded,
// replace or revoke it.
//
// Opened by the Share button in the conversation's header, and by anything that dispatches
// `conversation-action` with {action: "share", conversationId} on the document (the
// sidebar row's menu does). Self-contained: it talks to the sharing API directly and
// needs nothing of the chat page's modules but the JSON helpers and el()/icon().

import { apiGet, apiPost } from "../server/api.js";
import { el, icon } from "../elements.js";

const button = document.getElementById("share-conversation");
const app = document.getElementById("app");
const shareUrlTemplate = button?.dataset.shareUrl || "/api/conversations/0/share";

const urlFor = (id) => shareUrlTemplate.replace("/0/", `/${encodeURIComponent(String(id))}/`);

const when = new Intl.DateTimeFormat(undefined, {
  day: "numeric", month: "short", year: "numeric", hour: "numeric", minute: "2-digit",
});

let dialog = null;
let parts = null;
let conversationId = null;
let opener = null;

function build() {
  dialog = el("dialog", "share-dialog");
  dialog.setAttribute("aria-labelledby", "share-title");
  dialog.setAttribute("aria-describedby", "share-intro");

  const head = el("div", "share-dialog-head");
  const title = el("h2", "share-dialog-title", "Share conversation");
  title.id = "share-title";
  const close = el("button", "icon-btn share-close");
  close.type = "button";
  close.setAttribute("aria-label", "Close");
  close.append(icon("x"));
  close.addEventListener("click", () => dialog.close());
  head.append(title, close);

  const intro = el("p", "share-intro",
    "Anyone signed in to this site who has the link can read a snapshot of this conversation "
    + "as it is now. Messages sent later are not shared.");
  intro.id = "share-intro";

  const linkRow = el("div", "share-link-row");
  const linkLabel = el("label", "field-label", "Link");
  linkLabel.htmlFor = "share-link";
  const linkField = el("div", "share-link-field");
  const link = el("input", "share-link");
  link.id = "share-link";
  link.type = "text";
  link.readOnly = true;
  link.addEventListener("focus", () => link.select());
  const copy = el("button", "btn");
  copy.type = "button";
  copy.append(icon("copy"), el("span", "", "Copy link"));
  copy.addEventListener("click", () => copyLink(copy, link.value));
  linkField.append(link, copy);
  const meta = el("p", "share-meta");
  linkRow.append(linkLabel, linkField, meta);

  const option = el("label", "share-option");
  const downloads = el("input");
  downloads.type = "checkbox";
  downloads.id = "share-downloads";
  const optionText = el("span", "share-option-text");
  optionText.append(
    el("span", "share-option-name", "Allow downloading files"),
    el("span", "share-option-hint", "Attachments and the files the assistant made. Otherwise they are shown by name only."),
  );
  option.append(downloads, optionText);

  const error = el("p", "share-error");
  error.setAttribute("role", "alert");

  const actions = el("div", "share-actions");
  const revoke = el("button", "btn share-revoke", "Revoke link");
  revoke.type = "button";
  revoke.addEventListener("click", revokeLink);
  const create = el("button", "btn btn-primary share-create");
  create.type = "button";
  create.addEventListener("click", createLink);
  actions.append(revoke, create);

  const status = el("p", "visually-hidden");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");

  dialog.append(head, intro, linkRow, option, error, actions, status);
  dialog.addEventListener("close", () => {
    if (opener?.isConnected) opener.focus();
    opener = null;
  });
  document.body.append(dialog);
  parts = { link, copy, meta, linkRow, downloads, error, revoke, create, status };
}

function show(share) {
  const has = Boolean(share);
  parts.linkRow.hidden = !has;
  parts.revoke.hidden = !has;
  parts.create.textContent = has ? "Replace link" : "Create link";
  parts.create.title = has ? "A new snapshot as the conversation is now; the current link stops working." : "";
  parts.error.textContent = "";
  if (has) {
    parts.link.value = share.url;
    parts.downloads.checked = share.allow_downloads;
    const files = share.allow_downloads ? "files can be downloaded" : "files shown by name only";
    const count = `${share.messages} message${share.messages === 1 ? "" : "s"}`;
    parts.meta.textContent = `Snapshot of ${when.format(new Date(share.created_at))}, ${count}; ${files}.`;
  }
}

function busy(on) {
  for (const control of [parts.create, parts.revoke, parts.downloads]) control.disabled = on;
}

async function copyLink(copyButton, text) {
  const label = copyButton.querySelector("span");
  let ok = true;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    ok = false;
    parts.link.focus(); // selected: Ctrl+C copies it
  }
  label.textContent = ok ? "Copied" : "Press Ctrl+C";
  parts.status.textContent = ok ? "Link copied." : "";
  setTimeout(() => { label.textContent = "Copy link"; }, 1500);
}

async function load() {
  busy(true);
  show(null);
  const { ok, data } = await apiGet(urlFor(conversationId));
  busy(false);
  if (!ok) {
    parts.error.textContent = data.error;
    return;
  }
  show(data.share);
}

async function createLink() {
  busy(true);
  const replacing = !parts.linkRow.hidden;
  const { ok, data } = await apiPost(urlFor(conversationId), { allow_downloads: parts.downloads.checked });
  busy(false);
  if (!ok) {
    parts.error.textContent = data.error;
    return;
  }
  show(data.share);
  parts.status.textContent = replacing ? "A new link replaces the old one." : "Link created.";
  // What one does next with a new link: copy it.
  parts.copy.focus();
}

async function revokeLink() {
  busy(true);
  const { ok, data } = await apiPost(`${urlFor(conversationId)}/revoke`);
  busy(false);
  if (!ok) {
    parts.error.textContent = data.error;
    return;
  }
  show(null);
  parts.status.textContent = "Link revoked: it no longer opens.";
  parts.create.focus();
}

export function openShareDialog(id, from = document.activeElement) {
  if (!id) return;
  if (!dialog) build();
  conversationId = id;
  opener = from instanceof HTMLElement ? from : null;
  parts.downloads.checked = false;
  if (!dialog.open) dialog.showModal();
  load();
}

document.addEventListener("conversation-action", (event) => {
  const { action, conversationId: id } = event.detail || {};
  if (action === "share") openShareDialog(id);
});

button?.addEventListener("click", () => {
  // The open conversation, as the header shows it (shell.js keeps the attribute).
  const id = Number(app?.dataset.conversationId);
  if (id) openShareDialog(id, button);
});
