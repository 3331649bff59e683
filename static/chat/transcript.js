// The message list of the open conversation: snapshot, live deltas, final states.

import { renderMarkdown } from "./markdown.js";

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

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class Transcript {
  /**
   * @param {{scroller: HTMLElement, list: HTMLElement, jump: HTMLElement}} els
   * @param {{onActivityChange: (active: boolean) => void}} handlers
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
      this.stick = this.distanceFromBottom() < STICK_THRESHOLD_PX;
      this.jump.hidden = this.stick || this.messages.length === 0;
    }, { passive: true });
    this.jump.addEventListener("click", () => {
      this.stick = true;
      this.scrollToBottom("smooth");
    });
    this.list.addEventListener("click", (event) => this.onCopyClick(event));
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
    const entry = { ...message, tool_steps: [...(message.tool_steps || [])], _key: key };
    entry._len = codePointLength(entry.content || "");
    entry._el = this.createElement(entry);
    this.renderEntry(entry);
    this.messages.push(entry);
    this.byKey.set(key, entry);
    this.list.append(entry._el);
    return entry;
  }

  /** Shows the user's message at once; `confirm` swaps in the saved one when it is echoed. */
  addOptimistic(text, clientMessageId) {
    const entry = this.append(
      { id: null, role: "user", content: text, status: "sending", error: "", tool_steps: [] },
      `client:${clientMessageId}`,
    );
    this.stick = true;
    this.afterStructureChange();
    return entry;
  }

  removeOptimistic(clientMessageId) {
    const entry = this.byKey.get(`client:${clientMessageId}`);
    if (!entry) return;
    entry._el.remove();
    this.messages = this.messages.filter((m) => m !== entry);
    this.byKey.delete(entry._key);
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
    Object.assign(entry, message, { tool_steps: [...(message.tool_steps || [])] });
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

  /** message.done: the final content and status are authoritative. */
  finish(message) {
    const entry = this.byKey.get(String(message.id));
    if (!entry) {
      this.append(message, String(message.id));
    } else {
      this.dirty.delete(entry);
      this.replaceFields(entry, message);
      this.renderEntry(entry);
    }
    this.afterStructureChange();
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
    item.append(role, body);
    return item;
  }

  renderEntry(entry) {
    const item = entry._el;
    const active = ACTIVE.has(entry.status);
    item.classList.toggle("is-streaming", active);
    item.classList.toggle("is-sending", entry.status === "sending");
    if (entry.created_at) item.title = new Date(entry.created_at).toLocaleString();
    const body = item.querySelector(".msg-body");

    if (entry.role === "user") {
      body.textContent = entry.content; // user text is never parsed as HTML or markdown
      return;
    }

    item.querySelector(".tool-steps")?.remove();
    if (entry.tool_steps.length) body.before(this.renderToolSteps(entry));

    if (active && !entry.content) {
      body.replaceChildren(this.typingIndicator());
    } else {
      body.innerHTML = renderMarkdown(entry.content);
      if (active) this.appendCaret(body);
      for (const pre of body.querySelectorAll("pre")) {
        const copy = el("button", "copy-code", "Copy");
        copy.type = "button";
        copy.setAttribute("aria-label", "Copy code");
        pre.append(copy);
      }
    }
    body.hidden = !active && !entry.content;

    item.querySelector(".msg-status")?.remove();
    const status = this.renderStatus(entry);
    if (status) item.append(status);
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

  renderToolSteps(entry) {
    const wrap = el("div", "tool-steps");
    for (const step of entry.tool_steps) {
      const details = el("details", "tool-step");
      const summary = el("summary");
      const running = ACTIVE.has(entry.status) && !step.output;
      summary.append(icon("tool"), document.createTextNode(running ? "Calling " : "Used "),
        el("code", "", step.name || "a tool"), document.createTextNode(running ? "…" : ""));
      const body = el("div", "tool-body");
      if (step.arguments) body.append(el("span", "tool-label", "Arguments"), el("pre", "", step.arguments));
      if (step.output) body.append(el("span", "tool-label", "Result"), el("pre", "", step.output));
      details.append(summary, body);
      wrap.append(details);
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
    this.jump.hidden = this.stick || this.messages.length === 0;
  }

  updateActivity() {
    const active = this.activeReply !== null;
    // aria-busy keeps screen readers from reading every token; they announce the finished
    // reply once it clears.
    this.list.setAttribute("aria-busy", active ? "true" : "false");
    if (active !== this.wasActive) {
      this.wasActive = active;
      this.handlers.onActivityChange(active);
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

  // --- Copy buttons on code blocks ---------------------------------------------------------

  async onCopyClick(event) {
    const button = event.target.closest(".copy-code");
    if (!button) return;
    const text = button.parentElement.querySelector("code")?.textContent ?? "";
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  }
}
