// The message list of the open conversation: snapshot, live deltas, final states, and the
// actions on messages (copy, regenerate or retry the last reply, edit the last message).
// Each message is painted by message_view.js (with its tool steps, sources and files) and
// edited in place by message_edit.js.

import { closeCitation, repositionCitation, toggleCitation } from "./citations.js";
import { openImageViewer } from "./file_chips.js";
import { openEditor, undoEdit } from "./message_edit.js";
import { ACTIVE, copyText, createMessageElement, renderMessage } from "./message_view.js";

// Within this many pixels of the bottom counts as "following the stream".
const STICK_THRESHOLD_PX = 48;

// setMessages paints this many of the latest messages (more than a screen holds) at once
// and the rest of the window after the first frame: a long conversation is readable at
// its end without waiting for the markdown and layout of fifty messages.
const FIRST_PAINT_MESSAGES = 12;

/** Length in Unicode code points: the server's offsets count Python characters, not UTF-16 units. */
export function codePointLength(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

// What a snapshot compares to tell whether a message it brings changed since it was painted.
const PAINTED_FIELDS = ["role", "content", "status", "error", "model", "tool_steps", "citations", "files",
  "attachments"];

function unchanged(entry, message) {
  return PAINTED_FIELDS.every((field) => JSON.stringify(entry[field] ?? null) === JSON.stringify(message[field] ?? null));
}

/** Lists a payload may lack (older messages, user vs assistant), as fresh arrays. */
function copyLists(entry, message) {
  for (const field of ["tool_steps", "citations", "files", "attachments"]) {
    // A payload without the field keeps what live frames brought (never drops sources).
    entry[field] = [...(message[field] ?? entry[field] ?? [])];
  }
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
    /** Whether the conversation has messages older than the first one shown (history_loader.js). */
    this.hasOlder = false;
    /** Changes whenever the list is replaced, so a fetch of older messages can tell it is stale. */
    this.generation = 0;
    /** Messages given to setMessages that are not painted yet (before the first shown). */
    this.unpainted = [];

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
   * Replaces everything (page load, another conversation): never duplicates. `hasOlder`:
   * the server has messages before these. With preserveScroll, a reader who scrolled up
   * stays where they were.
   */
  setMessages(messages, { preserveScroll = false, hasOlder = false } = {}) {
    const keepAt = preserveScroll && !this.stick ? this.scroller.scrollTop : null;
    this.editingId = null;
    closeCitation({ refocus: false });
    this.dirty.clear();
    this.messages = [];
    this.byKey.clear();
    this.list.replaceChildren();
    this.hasOlder = hasOlder;
    this.generation += 1;
    // A reader kept at a place of their own sees all of them at once.
    const later = keepAt === null ? Math.max(0, messages.length - FIRST_PAINT_MESSAGES) : 0;
    this.unpainted = messages.slice(0, later);
    for (const message of messages.slice(later)) this.append(message, String(message.id));
    if (keepAt === null) {
      this.stick = true;
    } else {
      this.scroller.scrollTop = keepAt;
    }
    this.afterStructureChange();
    if (this.unpainted.length) {
      const generation = this.generation;
      // After the frame that shows the end: requestAnimationFrame runs before its paint.
      requestAnimationFrame(() => setTimeout(() => {
        if (generation === this.generation) this.paintUnpainted();
      }));
    }
  }

  /** Paints what setMessages left for later, above the messages shown (the reader's place kept). */
  paintUnpainted() {
    const messages = this.unpainted;
    if (!messages.length) return;
    this.unpainted = [];
    this.prependOlder(messages, { hasOlder: this.hasOlder });
  }

  /**
   * The socket's snapshot of the latest messages (after conversation.open or a reconnect),
   * merged into what is shown: unchanged messages are not painted again, messages the
   * server no longer has go, and the older messages the reader loaded stay, unless the
   * snapshot does not reach back to them (a long gap while offline), when it replaces all.
   */
  mergeSnapshot(messages, { hasOlder = false } = {}) {
    this.paintUnpainted();
    const first = messages[0];
    const reachesBack = !hasOlder || (first !== undefined && this.byKey.has(String(first.id)));
    if (!first || !reachesBack) {
      this.setMessages(messages, { preserveScroll: !this.isEmpty, hasOlder });
      return;
    }
    const keepAt = this.stick ? null : { top: this.scroller.scrollTop, height: this.scroller.scrollHeight };
    const incoming = new Set(messages.map((m) => String(m.id)));
    let repainted = false;
    // Optimistic copies go (the caller shows a send still in flight again), and so do
    // messages a regenerate or an edit replaced while this tab was away.
    for (const entry of [...this.messages]) {
      // Without older messages on the server the snapshot is the whole conversation.
      const inWindow = !hasOlder || entry.id >= first.id;
      if (entry.id === null || (inWindow && !incoming.has(entry._key))) {
        this.dropEntry(entry);
        repainted = true;
      }
    }
    const older = this.messages.filter((m) => m.id < first.id);
    const ordered = [...older];
    let previous = older.length ? older[older.length - 1]._el : null;
    for (const message of messages) {
      const key = String(message.id);
      let entry = this.byKey.get(key);
      if (!entry) {
        entry = this.build(message, key);
        repainted = true;
      } else if (!unchanged(entry, message)) {
        this.dirty.delete(entry);
        this.replaceFields(entry, message);
        if (this.editingId === entry.id) {
          this.editingId = null;
          entry._el.classList.remove("is-editing");
        }
        this.renderEntry(entry);
        repainted = true;
      }
      // Moves nothing that is already in its place: the DOM keeps its nodes.
      if (entry._el.previousElementSibling !== previous || !entry._el.isConnected) {
        if (previous) previous.after(entry._el);
        else this.list.prepend(entry._el);
      }
      previous = entry._el;
      ordered.push(entry);
    }
    this.messages = ordered;
    this.byKey = new Map(ordered.map((entry) => [entry._key, entry]));
    if (repainted) closeCitation({ refocus: false });
    if (keepAt !== null) this.scroller.scrollTop = keepAt.top;
    this.afterStructureChange();
  }

  /**
   * Older messages fetched as the reader scrolls up, put before the first one shown; what
   * the reader is looking at stays where it is on the screen.
   */
  prependOlder(messages, { hasOlder }) {
    this.paintUnpainted();
    const fresh = messages.filter((m) => !this.byKey.has(String(m.id)));
    const { scrollTop, scrollHeight } = this.scroller;
    const entries = fresh.map((message) => this.build(message, String(message.id)));
    this.list.prepend(...entries.map((entry) => entry._el));
    this.messages = [...entries, ...this.messages];
    this.hasOlder = hasOlder;
    this.scroller.scrollTop = scrollTop + (this.scroller.scrollHeight - scrollHeight);
    this.afterStructureChange();
  }

  clear() {
    this.setMessages([]);
  }

  /** A painted entry for `message`, known by `key`, not yet in the list. */
  build(message, key) {
    const entry = { ...message, _key: key, _openSteps: new Set() };
    copyLists(entry, message);
    entry._len = codePointLength(entry.content || "");
    entry._el = this.createElement(entry);
    this.renderEntry(entry);
    this.byKey.set(key, entry);
    return entry;
  }

  append(message, key) {
    const entry = this.build(message, key);
    this.messages.push(entry);
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
    this.dropEntry(entry);
    this.afterStructureChange();
  }

  dropEntry(entry) {
    entry._el.remove();
    this.dirty.delete(entry);
    this.messages = this.messages.filter((m) => m !== entry);
    this.byKey.delete(entry._key);
    if (this.editingId !== null && entry.id === this.editingId) this.editingId = null;
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
    return createMessageElement(entry, this.assistantName);
  }

  renderEntry(entry) {
    renderMessage(entry, { editing: this.editingId !== null && entry.id === this.editingId });
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
    this.handlers.onStructureChange?.();
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
      // A failed reply offers Retry in its error, once: no second one beside it.
      if (regenerate) regenerate.hidden = !(idle && entry === lastReply) || entry.status === "failed";
      const retry = item.querySelector('[data-action="retry"]');
      if (retry) retry.hidden = !(idle && entry === lastReply);
      const edit = item.querySelector('[data-action="edit"]');
      if (edit) edit.hidden = !(idle && entry === lastUser) || this.editingId !== null;
      const copy = item.querySelector('[data-action="copy-reply"]');
      if (copy) copy.hidden = ACTIVE.has(entry.status) || !entry.content || entry.status === "failed";
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

  /** Edits the last user message in place (message_edit.js). */
  startEdit(entry) {
    if (this.editingId !== null || entry.id === null) return;
    this.editingId = entry.id;
    const item = entry._el;
    item.classList.add("is-editing");
    this.updateActions();
    const close = (refocus) => {
      if (this.editingId !== entry.id) return;
      this.editingId = null;
      item.classList.remove("is-editing");
      this.renderEntry(entry);
      this.updateActions();
      if (refocus) item.querySelector('[data-action="edit"]')?.focus();
    };
    openEditor(entry, {
      send: (text, attachmentIds) => this.handlers.onEdit(entry.id, text, attachmentIds),
      close,
      sent: () => {
        this.stick = true;
        this.afterStructureChange();
      },
    });
  }

  /** The server refused an edit: the message shows its saved text again. */
  revertEdit(messageId) {
    const entry = this.byKey.get(String(messageId));
    if (!entry || !undoEdit(entry)) return;
    this.renderEntry(entry);
    this.afterStructureChange();
  }
}
