// The message list of the open conversation: snapshot, live deltas, final states, and the
// actions on messages (copy, regenerate or retry the last reply, edit the last message).
// A reply also shows its tool steps (tool_steps.js), its numbered sources (citations.js)
// and the files its code produced; a user message shows the files it carried.

import { icon } from "./icons.js";
import { renderMarkdown } from "./markdown.js";
import {
  closeCitation, decorateCitations, reattachCitation, renderSources, repositionCitation, toggleCitation,
} from "./citations.js";
import {
  downloadChip, fileBadge, formatBytes, imageThumb, isInlineImage, openImageViewer, siteUrl,
} from "./file_chips.js";
import { renderToolSteps, stepIsRunning } from "./tool_steps.js";

const ACTIVE = new Set(["pending", "streaming"]);
// Blocks the streaming caret descends into, so it sits at the end of the text, not below it.
const CARET_CONTAINERS = new Set(["P", "UL", "OL", "LI", "BLOCKQUOTE", "PRE", "CODE", "H1", "H2",
  "H3", "H4", "H5", "H6", "TABLE", "TBODY", "TR", "TD"]);
// Within this many pixels of the bottom counts as "following the stream".
const STICK_THRESHOLD_PX = 48;

/** Length in Unicode code points: the server's offsets count Python characters, not UTF-16 units. */
export function codePointLength(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/** Lists a payload may lack (older messages, user vs assistant), as fresh arrays. */
function copyLists(entry, message) {
  for (const field of ["tool_steps", "citations", "files", "attachments"]) {
    // A payload without the field keeps what live frames brought (never drops sources).
    entry[field] = [...(message[field] ?? entry[field] ?? [])];
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

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

async function copyText(button, text) {
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

export class Transcript {
  /**
   * @param {{scroller: HTMLElement, list: HTMLElement, jump: HTMLElement}} els
   * @param {{onActivityChange: (active: boolean) => void,
   *          onRegenerate: () => boolean,
   *          onEdit: (messageId: number, text: string, attachmentIds: number[]|null) => boolean,
   *          onReplyFinished: (message: object) => void}} handlers
   */
  constructor(els, handlers) {
    this.scroller = els.scroller;
    this.list = els.list;
    this.jump = els.jump;
    this.handlers = handlers;
    this.assistantName = "Assistant";
    /** @type {Array<object>} messages in display order; each has _key, _len, _el */
    this.messages = [];
    this.byKey = new Map();
    this.dirty = new Set();
    this.frameRequested = false;
    this.stick = true;
    this.wasActive = false;

    this.scroller.addEventListener("scroll", () => {
      repositionCitation();
      this.stick = this.distanceFromBottom() < STICK_THRESHOLD_PX;
      this.jump.hidden = this.stick || this.messages.length === 0;
    }, { passive: true });
    this.jump.addEventListener("click", () => {
      this.stick = true;
      this.scrollToBottom("smooth");
    });
    this.list.addEventListener("click", (event) => this.onActionClick(event));
    // A streaming reply is re-rendered every frame, so a citation button pressed during the
    // stream is often a new element by the time the pointer comes up, and the browser then
    // sends the click to no button at all. The release on the same marker's new button
    // counts as the click.
    this.pressed = null;
    this.list.addEventListener("pointerdown", (event) => {
      const button = event.button === 0 ? event.target.closest(".cite") : null;
      this.pressed = button ? { button, number: button.dataset.number, entry: this.entryOf(button) } : null;
    });
    this.list.addEventListener("pointerup", (event) => {
      const pressed = this.pressed;
      this.pressed = null;
      const button = event.target.closest(".cite");
      if (!pressed || !button || pressed.button.isConnected || button === pressed.button) return;
      const entry = this.entryOf(button);
      if (entry !== pressed.entry || button.dataset.number !== pressed.number) return;
      const citation = entry.citations.find((c) => String(c.number) === button.dataset.number);
      if (citation) toggleCitation(button, citation, entry._key);
    });
    /** The id of the user message being edited in place, if any. */
    this.editingId = null;
  }

  // --- State -------------------------------------------------------------------------------

  get isEmpty() {
    return this.messages.length === 0;
  }

  get activeReply() {
    return this.messages.find((m) => m.role === "assistant" && ACTIVE.has(m.status)) || null;
  }

  setAssistantName(name) {
    this.assistantName = name || "Assistant";
    for (const label of this.list.querySelectorAll(".msg-assistant .msg-role-name")) {
      label.textContent = this.assistantName;
    }
  }

  /**
   * Replaces everything (page load, snapshot after open or reconnect): never duplicates.
   * With preserveScroll, a reader who scrolled up stays where they were.
   */
  setMessages(messages, { preserveScroll = false } = {}) {
    const keepAt = preserveScroll && !this.stick ? this.scroller.scrollTop : null;
    this.editingId = null;
    closeCitation({ refocus: false });
    this.dirty.clear();
    this.messages = [];
    this.byKey.clear();
    this.list.replaceChildren();
    for (const message of messages) this.append(message, String(message.id));
    if (keepAt === null) {
      this.stick = true;
    } else {
      this.scroller.scrollTop = keepAt;
    }
    this.afterStructureChange();
  }

  clear() {
    this.setMessages([]);
  }

  append(message, key) {
    const entry = { ...message, _key: key, _openSteps: new Set() };
    copyLists(entry, message);
    entry._len = codePointLength(entry.content || "");
    entry._el = this.createElement(entry);
    this.renderEntry(entry);
    this.messages.push(entry);
    this.byKey.set(key, entry);
    this.list.append(entry._el);
    return entry;
  }

  /** Shows the user's message at once; `confirm` swaps in the saved one when it is echoed. */
  addOptimistic(text, clientMessageId, attachments = []) {
    const entry = this.append(
      { id: null, role: "user", content: text, status: "sending", error: "", tool_steps: [], attachments },
      `client:${clientMessageId}`,
    );
    this.stick = true;
    this.afterStructureChange();
    return entry;
  }

  removeOptimistic(clientMessageId) {
    const entry = this.byKey.get(`client:${clientMessageId}`);
    if (entry) this.removeEntry(entry);
  }

  /** message.deleted: messages replaced by a regenerate or an edit. */
  removeMessages(ids) {
    for (const id of ids) {
      const entry = this.byKey.get(String(id));
      if (entry) this.removeEntry(entry);
    }
  }

  removeEntry(entry) {
    closeCitation({ refocus: false });
    entry._el.remove();
    this.dirty.delete(entry);
    this.messages = this.messages.filter((m) => m !== entry);
    this.byKey.delete(entry._key);
    if (this.editingId !== null && entry.id === this.editingId) this.editingId = null;
    this.afterStructureChange();
  }

  /** message.created: a saved user message (maybe ours) or a reply that starts. */
  upsert(message, clientMessageId) {
    const key = String(message.id);
    let entry = this.byKey.get(key);
    if (entry && clientMessageId) {
      // A snapshot already brought the saved message: the optimistic copy goes.
      this.removeOptimistic(clientMessageId);
    } else if (clientMessageId) {
      entry = this.byKey.get(`client:${clientMessageId}`);
      if (entry) {
        this.byKey.delete(entry._key);
        entry._key = key;
        this.byKey.set(key, entry);
      }
    }
    if (entry) {
      this.replaceFields(entry, message);
      this.renderEntry(entry);
    } else {
      this.append(message, key);
    }
    this.afterStructureChange();
  }

  replaceFields(entry, message) {
    Object.assign(entry, message);
    copyLists(entry, message);
    entry._len = codePointLength(entry.content || "");
  }

  /**
   * message.delta. `offset` is how much of the reply came before `text`; whatever part of
   * `text` we already have (from a snapshot) is dropped.
   * @returns {"ok"|"unknown"|"gap"} "gap": the frame starts past our text and is dropped.
   */
  applyDelta({ message_id: id, offset, text }) {
    const entry = this.byKey.get(String(id));
    if (!entry) return "unknown";
    if (offset > entry._len) return "gap";
    const chars = Array.from(text);
    const overlap = entry._len - offset;
    if (overlap < chars.length) {
      entry.content += overlap > 0 ? chars.slice(overlap).join("") : text;
      entry._len += chars.length - overlap;
    }
    if (entry.status === "pending") entry.status = "streaming";
    this.scheduleRender(entry);
    return "ok";
  }

  applyToolStep({ message_id: id, step }) {
    const entry = this.byKey.get(String(id));
    if (!entry) return "unknown";
    const index = entry.tool_steps.findIndex((s) => s.id === step.id);
    if (index >= 0) entry.tool_steps[index] = { ...entry.tool_steps[index], ...step };
    else entry.tool_steps.push(step);
    if (entry.status === "pending") entry.status = "streaming";
    this.scheduleRender(entry);
    return "ok";
  }

  /** message.citation: a numbered source, sent before the text that refers to it. */
  applyCitation({ message_id: id, citation }) {
    const entry = this.byKey.get(String(id));
    if (!entry || !citation) return "unknown";
    const index = entry.citations.findIndex((c) => c.number === citation.number);
    if (index >= 0) entry.citations[index] = citation;
    else entry.citations.push(citation);
    this.scheduleRender(entry);
    return "ok";
  }

  /** message.file: a file the reply's code produced. */
  applyFile({ message_id: id, file }) {
    const entry = this.byKey.get(String(id));
    if (!entry || !file) return "unknown";
    const index = entry.files.findIndex((f) => f.id === file.id);
    if (index >= 0) entry.files[index] = file;
    else entry.files.push(file);
    this.scheduleRender(entry);
    return "ok";
  }

  /** message.done: the final content and status are authoritative. */
  finish(message) {
    const entry = this.byKey.get(String(message.id));
    const wasLive = entry !== undefined && ACTIVE.has(entry.status);
    if (!entry) {
      this.append(message, String(message.id));
    } else {
      this.dirty.delete(entry);
      this.replaceFields(entry, message);
      this.renderEntry(entry);
    }
    this.afterStructureChange();
    if (wasLive) this.handlers.onReplyFinished(message);
  }

  // --- Rendering ---------------------------------------------------------------------------

  createElement(entry) {
    const item = el("li", `msg msg-${entry.role}`);
    const role = el("div", entry.role === "user" ? "msg-role visually-hidden" : "msg-role");
    if (entry.role === "assistant") {
      const mark = el("span", "brand-mark");
      mark.setAttribute("aria-hidden", "true");
      role.append(mark, el("span", "msg-role-name", this.assistantName));
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

  renderEntry(entry) {
    const item = entry._el;
    const active = ACTIVE.has(entry.status);
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
      this.renderSection(entry, "attachments", ".msg-attachments", () => this.renderAttachments(entry),
        (section) => body.before(section));
      if (this.editingId === null || entry.id !== this.editingId) {
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
      body.replaceChildren(...(stepRunning ? [] : [this.typingIndicator()]));
    } else {
      const files = new Map(entry.files.map((f) => [f.name, siteUrl(f.url)]));
      body.innerHTML = renderMarkdown(entry.content, { sandboxFile: (name) => files.get(name) || null });
      decorateCitations(body, entry.citations);
      reattachCitation(body, entry._key);
      if (active) this.appendCaret(body);
      for (const pre of body.querySelectorAll("pre")) this.decorateCode(pre);
    }
    body.hidden = !body.firstChild;

    this.renderSection(entry, "files", ".msg-files", () => this.renderOutputFiles(entry),
      (section) => body.after(section));
    this.renderSection(entry, "citations", ".sources", () => renderSources(entry.citations),
      (section) => (item.querySelector(".msg-files") || body).after(section));

    item.querySelector(".msg-status")?.remove();
    const status = this.renderStatus(entry);
    if (status) item.querySelector(".msg-foot").before(status);
  }

  /** A header over each code block: its language and a copy button. */
  decorateCode(pre) {
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
  appendCaret(body) {
    let target = body;
    while (target.lastElementChild && CARET_CONTAINERS.has(target.lastElementChild.tagName)) {
      target = target.lastElementChild;
    }
    const caret = el("span", "stream-caret");
    caret.setAttribute("aria-hidden", "true");
    target.append(caret);
  }

  typingIndicator() {
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
  renderSection(entry, field, selector, build, insert) {
    const list = entry[field] || [];
    const signature = JSON.stringify(list);
    const existing = entry._el.querySelector(`:scope > ${selector}`);
    if (existing && entry[`_${field}Sig`] === signature) return;
    entry[`_${field}Sig`] = signature;
    existing?.remove();
    if (list.length) insert(build());
  }

  /** The files a user message carried: images as thumbnails, the rest as download chips. */
  renderAttachments(entry) {
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
  renderOutputFiles(entry) {
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

  renderStatus(entry) {
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
      // Retry is a regenerate: shown on the last reply only (see updateActions).
      box.append(actionButton("retry", "refresh", "Retry", { text: true }));
    }
    return box;
  }

  /** Streaming text is painted at most once per frame, however many deltas arrive. */
  scheduleRender(entry) {
    this.dirty.add(entry);
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      for (const dirty of this.dirty) this.renderEntry(dirty);
      this.dirty.clear();
      this.followStream();
      this.updateActivity();
    });
  }

  afterStructureChange() {
    this.followStream();
    this.updateActivity();
    this.updateActions();
    this.jump.hidden = this.stick || this.messages.length === 0;
  }

  updateActivity() {
    const active = this.activeReply !== null;
    // The list is no live region (the page's announcer reads each finished reply once);
    // aria-busy tells assistive technology the content is still changing.
    this.list.setAttribute("aria-busy", active ? "true" : "false");
    if (active !== this.wasActive) {
      this.wasActive = active;
      this.handlers.onActivityChange(active);
      this.updateActions();
    }
  }

  /** Regenerate, retry and edit apply to the last exchange only, and never mid-reply. */
  updateActions() {
    const saved = this.messages.filter((m) => m.id !== null && m.status !== "sending");
    const last = this.messages[this.messages.length - 1];
    const lastReply = last && last.role === "assistant" && !ACTIVE.has(last.status) ? last : null;
    const lastUser = [...saved].reverse().find((m) => m.role === "user") || null;
    const idle = this.activeReply === null && this.messages.every((m) => m.status !== "sending");
    for (const entry of this.messages) {
      const item = entry._el;
      const regenerate = item.querySelector('[data-action="regenerate"]');
      if (regenerate) regenerate.hidden = !(idle && entry === lastReply);
      const retry = item.querySelector('[data-action="retry"]');
      if (retry) retry.hidden = !(idle && entry === lastReply);
      const edit = item.querySelector('[data-action="edit"]');
      if (edit) edit.hidden = !(idle && entry === lastUser) || this.editingId !== null;
      const copy = item.querySelector('[data-action="copy-reply"]');
      if (copy) copy.hidden = ACTIVE.has(entry.status) || !entry.content;
    }
  }

  // --- Scrolling ---------------------------------------------------------------------------

  distanceFromBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight;
  }

  followStream() {
    if (this.stick) this.scrollToBottom("auto");
  }

  scrollToBottom(behavior) {
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior });
  }

  // --- Actions -----------------------------------------------------------------------------

  entryOf(node) {
    const item = node.closest(".msg");
    return this.messages.find((m) => m._el === item) || null;
  }

  onActionClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button || !this.list.contains(button)) return;
    const entry = this.entryOf(button);
    switch (button.dataset.action) {
      case "copy-code": {
        const code = button.closest(".code-block")?.querySelector("code");
        copyText(button, (code?.textContent ?? "").replace(/\n$/, ""));
        break;
      }
      case "copy-reply":
        if (entry) copyText(button, entry.content);
        break;
      case "regenerate":
      case "retry":
        this.handlers.onRegenerate();
        break;
      case "edit":
        if (entry) this.startEdit(entry);
        break;
      case "cite": {
        const citation = entry?.citations.find((c) => String(c.number) === button.dataset.number);
        if (citation) toggleCitation(button, citation, entry._key);
        break;
      }
      case "view-image":
        openImageViewer(button.dataset.url, button.dataset.name, button);
        break;
      default:
    }
  }

  /** Edits the last user message in place; Enter (or Send) resends it, Escape cancels. */
  startEdit(entry) {
    if (this.editingId !== null || entry.id === null) return;
    this.editingId = entry.id;
    const item = entry._el;
    const body = item.querySelector(".msg-body");
    item.classList.add("is-editing");
    const form = el("form", "msg-edit");
    const label = el("label", "visually-hidden", "Edit your message");
    const input = el("textarea");
    input.id = `edit-${entry.id}`;
    label.htmlFor = input.id;
    input.value = entry.content;
    input.rows = Math.min(10, Math.max(2, entry.content.split("\n").length));
    // The message's files stay with the edit unless removed here (the server keeps the
    // ones whose ids the edit lists again).
    let kept = [...entry.attachments];
    const files = el("ul", "attach-list msg-edit-files");
    files.setAttribute("aria-label", "Attached files");
    const renderFiles = () => {
      files.replaceChildren(...kept.map((file) => {
        const chip = el("li", "attach-chip is-done");
        const text = el("span", "attach-text");
        text.append(el("span", "attach-name", file.name), el("span", "attach-meta", formatBytes(file.size)));
        const remove = el("button", "icon-btn attach-remove");
        remove.type = "button";
        remove.setAttribute("aria-label", `Remove ${file.name}`);
        remove.append(icon("x"));
        remove.addEventListener("click", () => {
          const index = kept.indexOf(file);
          kept = kept.filter((f) => f !== file);
          renderFiles();
          (files.querySelectorAll(".attach-remove")[Math.min(index, kept.length - 1)] || input).focus();
        });
        chip.append(fileBadge(file.name), text, remove);
        return chip;
      }));
      files.hidden = kept.length === 0;
    };
    renderFiles();
    const buttons = el("div", "msg-edit-actions");
    const cancel = el("button", "btn btn-small btn-ghost", "Cancel");
    cancel.type = "button";
    const save = el("button", "btn btn-small btn-primary", "Send");
    save.type = "submit";
    buttons.append(cancel, save);
    form.append(label, files, input, buttons);
    body.replaceChildren(form);
    body.hidden = false; // a message of files alone has its bubble hidden
    this.updateActions();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);

    const close = (refocus) => {
      if (this.editingId !== entry.id) return;
      this.editingId = null;
      item.classList.remove("is-editing");
      this.renderEntry(entry);
      this.updateActions();
      if (refocus) item.querySelector('[data-action="edit"]')?.focus();
    };
    const submit = () => {
      const text = input.value;
      if (!text.trim() && !kept.length) return;
      const filesChanged = kept.length !== entry.attachments.length;
      if (text === entry.content && !filesChanged) {
        close(true);
        return;
      }
      // Only a message that had files lists them (an old server may not know the field).
      const ids = entry.attachments.length ? kept.map((f) => f.id) : null;
      if (!this.handlers.onEdit(entry.id, text, ids)) return;
      // Shown at once; message.deleted then message.created replace it with the saved one.
      entry._previous = entry.content;
      entry._previousAttachments = entry.attachments;
      entry.content = text;
      entry.attachments = kept;
      entry.status = "sending";
      close(false);
      this.stick = true;
      this.afterStructureChange();
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    cancel.addEventListener("click", () => close(true));
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        close(true);
      }
    });
  }

  /** The server refused an edit: the message shows its saved text again. */
  revertEdit(messageId) {
    const entry = this.byKey.get(String(messageId));
    if (!entry || entry._previous === undefined) return;
    entry.content = entry._previous;
    entry.attachments = entry._previousAttachments || entry.attachments;
    delete entry._previous;
    delete entry._previousAttachments;
    entry.status = "complete";
    this.renderEntry(entry);
    this.afterStructureChange();
  }
}
