// One message of the transcript as the page shows it: its element, its text (markdown for a
// reply, plain text for the user's), its tool steps, files, sources and status, and the
// copy buttons. transcript.js keeps the list and decides when a message is painted.

import { decorateCitations, markSourceQuotes, reattachCitation, renderSources } from "./citations.js";
import { el, icon } from "../elements.js";
import { downloadChip, imageThumb, isInlineImage, siteUrl } from "./file_chips.js";
import { renderMarkdown } from "./markdown.js";
import { renderToolSteps, stepIsRunning } from "./tool_steps.js";

/** A reply still arriving. */
export const ACTIVE = new Set(["pending", "streaming"]);
// Blocks the streaming caret descends into, so it sits at the end of the text, not below it.
const CARET_CONTAINERS = new Set(["P", "UL", "OL", "LI", "BLOCKQUOTE", "PRE", "CODE", "H1", "H2",
  "H3", "H4", "H5", "H6", "TABLE", "TBODY", "TR", "TD"]);

function actionButton(action, iconName, label, { text = false } = {}) {
  const button = el("button", text ? "msg-action has-text" : "msg-action icon-btn");
  button.type = "button";
  button.dataset.action = action;
  button.append(icon(iconName));
  if (text) button.append(el("span", "", label));
  else button.setAttribute("aria-label", label);
  button.title = label;
  return button;
}

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dateAndTime = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
});

function shortTime(iso) {
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString()
    ? timeOnly.format(date)
    : dateAndTime.format(date);
}

export async function copyText(button, text) {
  const label = button.querySelector("span");
  const original = label ? label.textContent : button.getAttribute("aria-label");
  let ok = true;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    ok = false;
  }
  const result = ok ? "Copied" : "Copy failed";
  if (label) label.textContent = result;
  button.setAttribute("aria-label", result);
  button.classList.toggle("is-done", ok);
  clearTimeout(button._resetTimer);
  button._resetTimer = setTimeout(() => {
    if (label) label.textContent = original;
    button.setAttribute("aria-label", original);
    button.classList.remove("is-done");
  }, 1500);
}

/** A message's element, empty: renderMessage fills it. */
export function createMessageElement(entry, assistantName) {
  const item = el("li", `msg msg-${entry.role}`);
  const role = el("div", entry.role === "user" ? "msg-role visually-hidden" : "msg-role");
  if (entry.role === "assistant") {
    const mark = el("span", "brand-mark");
    mark.setAttribute("aria-hidden", "true");
    role.append(mark, el("span", "msg-role-name", assistantName));
  } else {
    role.textContent = "You";
  }
  const body = el("div", entry.role === "assistant" ? "msg-body markdown" : "msg-body");
  const foot = el("div", "msg-foot");
  const time = el("time", "msg-time");
  const actions = el("div", "msg-actions");
  if (entry.role === "assistant") {
    actions.append(
      actionButton("copy-reply", "copy", "Copy reply"),
      actionButton("regenerate", "refresh", "Regenerate reply"),
    );
  } else {
    actions.append(actionButton("edit", "pencil", "Edit message"));
  }
  foot.append(time, actions);
  item.append(role, body, foot);
  return item;
}

/**
 * Paints a message's current state into its element. A message being edited keeps its
 * editor (message_edit.js) in place of its text.
 */
export function renderMessage(entry, { editing = false } = {}) {
  const item = entry._el;
  const active = ACTIVE.has(entry.status);
  // For modules that add to a message from outside (feedback/feedback.js).
  item.dataset.messageId = entry.id ?? "";
  item.dataset.status = entry.status;
  item.classList.toggle("is-streaming", active);
  item.classList.toggle("is-sending", entry.status === "sending");
  item.setAttribute("aria-busy", active ? "true" : "false");
  const time = item.querySelector(".msg-time");
  time.classList.toggle("is-live", active);
  if (active) {
    time.removeAttribute("datetime");
    time.textContent = "Writing…";
  } else if (entry.created_at) {
    time.dateTime = entry.created_at;
    time.textContent = shortTime(entry.created_at);
    time.title = new Date(entry.created_at).toLocaleString();
  } else {
    time.textContent = entry.status === "sending" ? "Sending…" : "";
  }
  const body = item.querySelector(".msg-body");

  if (entry.role === "user") {
    renderSection(entry, "attachments", ".msg-attachments", () => renderAttachments(entry),
      (section) => body.before(section));
    if (!editing) {
      body.textContent = entry.content; // user text is never parsed as HTML or markdown
      body.hidden = !entry.content; // files sent without words: no empty bubble
    } else {
      body.hidden = false;
    }
    return;
  }

  item.querySelector(".tool-steps")?.remove();
  if (entry.tool_steps.length) {
    body.before(renderToolSteps(entry.tool_steps, { live: active, open: entry._openSteps }));
  }

  if (active && !entry.content) {
    // The dots say "working"; a running step already says it with its own spinner.
    const stepRunning = entry.tool_steps.some(stepIsRunning);
    body.replaceChildren(...(stepRunning ? [] : [typingIndicator()]));
  } else {
    const files = new Map(entry.files.map((f) => [f.name, siteUrl(f.url)]));
    body.innerHTML = renderMarkdown(entry.content, { sandboxFile: (name) => files.get(name) || null });
    decorateCitations(body, entry.citations);
    reattachCitation(body, entry._key);
    if (active) appendCaret(body);
    for (const pre of body.querySelectorAll("pre")) decorateCode(pre);
  }
  // A failed reply is its error and its Retry: whatever stub arrived before the failure
  // (a quote bar with nothing in it) would only distract from them.
  body.hidden = !body.firstChild || entry.status === "failed";

  renderSection(entry, "files", ".msg-files", () => renderOutputFiles(entry),
    (section) => body.after(section));
  renderSection(entry, "citations", ".sources", () => renderSources(entry.citations),
    (section) => (item.querySelector(".msg-files") || body).after(section));
  if (entry.citations.length) markSourceQuotes(item, entry.citations);

  item.querySelector(".msg-status")?.remove();
  const status = renderStatus(entry);
  if (status) item.querySelector(".msg-foot").before(status);
}

/** A header over each code block: its language and a copy button. */
function decorateCode(pre) {
  const code = pre.querySelector("code");
  const language = [...(code?.classList || [])].find((c) => c.startsWith("language-"));
  const block = el("div", "code-block");
  const head = el("div", "code-head");
  head.append(el("span", "code-lang", language ? language.slice(9) : "text"));
  head.append(actionButton("copy-code", "copy", "Copy code", { text: true }));
  pre.replaceWith(block);
  block.append(head, pre);
}

/** Puts the streaming caret right after the last character, inside the innermost block. */
function appendCaret(body) {
  let target = body;
  while (target.lastElementChild && CARET_CONTAINERS.has(target.lastElementChild.tagName)) {
    target = target.lastElementChild;
  }
  const caret = el("span", "stream-caret");
  caret.setAttribute("aria-hidden", "true");
  target.append(caret);
}

function typingIndicator() {
  const dots = el("span", "typing");
  dots.setAttribute("role", "img");
  dots.setAttribute("aria-label", "Writing a reply");
  dots.append(el("span"), el("span"), el("span"));
  return dots;
}

/**
 * Rebuilds a section (attachments, output files, sources) only when its data changed:
 * images in it would otherwise be re-created, and flicker, on every streamed token.
 */
function renderSection(entry, field, selector, build, insert) {
  const list = entry[field] || [];
  const signature = JSON.stringify(list);
  const existing = entry._el.querySelector(`:scope > ${selector}`);
  if (existing && entry[`_${field}Sig`] === signature) return;
  entry[`_${field}Sig`] = signature;
  existing?.remove();
  if (list.length) insert(build());
}

/** The files a user message carried: images as thumbnails, the rest as download chips. */
function renderAttachments(entry) {
  const wrap = el("ul", "msg-attachments");
  wrap.setAttribute("aria-label", "Attached files");
  for (const file of entry.attachments) {
    const item = el("li");
    item.append(isInlineImage(file) && siteUrl(file.url) ? imageThumb(file, "image-thumb is-small") : downloadChip(file));
    wrap.append(item);
  }
  return wrap;
}

/** The files a reply's code produced: images inline, other files as download chips. */
function renderOutputFiles(entry) {
  const wrap = el("div", "msg-files");
  const images = entry.files.filter((f) => isInlineImage(f) && siteUrl(f.url));
  const others = entry.files.filter((f) => !images.includes(f));
  if (images.length) {
    const gallery = el("div", "msg-images");
    for (const file of images) gallery.append(imageThumb(file));
    wrap.append(gallery);
  }
  if (others.length) {
    const chips = el("ul", "msg-file-chips");
    chips.setAttribute("aria-label", "Files produced");
    for (const file of others) {
      const item = el("li");
      item.append(downloadChip(file));
      chips.append(item);
    }
    wrap.append(chips);
  }
  return wrap;
}

function renderStatus(entry) {
  const texts = {
    cancelled: "Stopped.",
    incomplete: "The reply ended early; what arrived is kept.",
    failed: "The reply failed.",
  };
  if (!texts[entry.status]) return null;
  const box = el("div", `msg-status is-${entry.status}`);
  if (entry.status !== "cancelled") box.append(icon("alert"));
  box.append(el("p", "", entry.error ? `${texts[entry.status]} ${entry.error}` : texts[entry.status]));
  if (entry.status !== "cancelled") {
    // Retry is a regenerate: shown on the last reply only (see Transcript.updateActions).
    box.append(actionButton("retry", "refresh", "Retry", { text: true }));
  }
  return box;
}
