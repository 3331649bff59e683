// The conversation list: newest activity first, live updates, search, rename, delete.

const UNTITLED = "New conversation";

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

export function conversationTitle(conversation) {
  return (conversation && conversation.title) || UNTITLED;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const yearFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });

function relativeTime(iso) {
  const date = new Date(iso);
  const now = new Date();
  const minutes = (now - date) / 60_000;
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${Math.floor(minutes)} min ago`;
  if (date.toDateString() === now.toDateString()) return timeFormat.format(date);
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  return date.getFullYear() === now.getFullYear() ? dayFormat.format(date) : yearFormat.format(date);
}

function newestFirst(a, b) {
  const diff = Date.parse(b.updated_at) - Date.parse(a.updated_at);
  return diff !== 0 ? diff : b.id - a.id;
}

export class Sidebar {
  /**
   * @param {{list: HTMLElement, status: HTMLElement, sentinel: HTMLElement, scroller: HTMLElement}} els
   * @param {{urlFor: (id: number) => string,
   *          onSelect: (id: number) => void,
   *          onRename: (id: number, title: string) => Promise<object|null>,
   *          onDelete: (id: number) => Promise<boolean>,
   *          onLoadMore: () => void}} handlers
   */
  constructor(els, handlers) {
    this.els = els;
    this.handlers = handlers;
    this.conversations = new Map();
    this.items = new Map();
    this.currentId = null;
    this.query = "";
    this.nextCursor = null;
    this.loading = false;
    this.editingId = null;

    els.list.addEventListener("click", (event) => this.onClick(event));
    setInterval(() => this.refreshTimes(), 60_000);

    // Load the next page when the end of the list scrolls into view.
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && this.nextCursor && !this.loading) {
        this.handlers.onLoadMore();
      }
    }, { root: els.scroller, rootMargin: "200px" });
    this.observer.observe(els.sentinel);
  }

  get(id) {
    return this.conversations.get(id) || null;
  }

  /** A fresh listing (first page, or search results). */
  setPage(conversations, nextCursor, query) {
    this.query = query;
    this.conversations.clear();
    for (const [id, item] of this.items) {
      if (id === this.editingId) continue; // keep the title being typed
      item.remove();
      this.items.delete(id);
    }
    this.appendPage(conversations, nextCursor);
  }

  appendPage(conversations, nextCursor) {
    for (const conversation of conversations) this.conversations.set(conversation.id, conversation);
    this.nextCursor = nextCursor;
    this.render();
  }

  matchesQuery(conversation) {
    if (!this.query) return true;
    return conversationTitle(conversation).toLowerCase().includes(this.query.toLowerCase());
  }

  /** conversation.created / conversation.updated: upsert and move into place. */
  upsert(conversation) {
    const known = this.conversations.has(conversation.id);
    if (!known && !this.matchesQuery(conversation)) return;
    this.conversations.set(conversation.id, conversation);
    this.render();
  }

  remove(id) {
    this.conversations.delete(id);
    this.items.get(id)?.remove();
    this.items.delete(id);
    if (this.editingId === id) this.editingId = null;
    this.render();
  }

  setCurrent(id) {
    this.currentId = id;
    for (const [itemId, item] of this.items) this.markCurrent(item, itemId === id);
  }

  setLoading(loading) {
    this.loading = loading;
    this.renderStatus();
  }

  // --- Rendering ---------------------------------------------------------------------------

  render() {
    const ordered = [...this.conversations.values()].sort(newestFirst);
    let previous = null;
    for (const conversation of ordered) {
      let item = this.items.get(conversation.id);
      if (!item) {
        item = this.createItem(conversation.id);
        this.items.set(conversation.id, item);
      }
      if (conversation.id !== this.editingId) this.fillItem(item, conversation);
      // Move only what is out of place, so focus and hover survive live updates.
      const expectedNext = previous ? previous.nextElementSibling : this.els.list.firstElementChild;
      if (expectedNext !== item) {
        if (previous) previous.after(item);
        else this.els.list.prepend(item);
      }
      previous = item;
    }
    this.renderStatus();
  }

  renderStatus() {
    let text = "";
    if (this.loading) text = this.query ? "Searching…" : "Loading…";
    else if (this.conversations.size === 0) {
      text = this.query ? `No conversations match “${this.query}”.` : "No conversations yet.";
    }
    this.els.status.textContent = text;
  }

  createItem(id) {
    const item = document.createElement("li");
    item.className = "conv";
    item.dataset.id = String(id);
    const link = document.createElement("a");
    link.className = "conv-link";
    link.href = this.handlers.urlFor(id);
    const title = document.createElement("span");
    title.className = "conv-title";
    const meta = document.createElement("span");
    meta.className = "conv-meta";
    link.append(title, meta);

    const actions = document.createElement("div");
    actions.className = "conv-actions";
    for (const [action, iconName] of [["rename", "pencil"], ["delete", "trash"]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "icon-btn";
      button.dataset.action = action;
      button.append(icon(iconName));
      actions.append(button);
    }
    item.append(link, actions);
    this.markCurrent(item, id === this.currentId);
    return item;
  }

  fillItem(item, conversation) {
    const title = conversationTitle(conversation);
    const titleEl = item.querySelector(".conv-title");
    titleEl.textContent = title;
    titleEl.classList.toggle("is-untitled", !conversation.title);
    const assistant = conversation.assistant ? conversation.assistant.name : "Assistant removed";
    const meta = item.querySelector(".conv-meta");
    meta.textContent = `${assistant} · ${relativeTime(conversation.updated_at)}`;
    meta.title = new Date(conversation.updated_at).toLocaleString();
    item.querySelector('[data-action="rename"]').setAttribute("aria-label", `Rename “${title}”`);
    item.querySelector('[data-action="delete"]').setAttribute("aria-label", `Delete “${title}”`);
  }

  markCurrent(item, isCurrent) {
    item.classList.toggle("is-current", isCurrent);
    const link = item.querySelector(".conv-link");
    if (isCurrent) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }

  refreshTimes() {
    for (const [id, item] of this.items) {
      const conversation = this.conversations.get(id);
      if (conversation && id !== this.editingId) this.fillItem(item, conversation);
    }
  }

  // --- Interaction -------------------------------------------------------------------------

  onClick(event) {
    const item = event.target.closest(".conv");
    if (!item) return;
    const id = Number(item.dataset.id);
    const button = event.target.closest("button[data-action]");
    if (button) {
      event.preventDefault();
      if (button.dataset.action === "rename") this.startRename(id);
      else this.confirmDelete(id);
      return;
    }
    const link = event.target.closest(".conv-link");
    // Let the browser handle new-tab clicks; a plain click switches in place.
    if (link && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey && event.button === 0) {
      event.preventDefault();
      this.handlers.onSelect(id);
    }
  }

  startRename(id) {
    const item = this.items.get(id);
    const conversation = this.conversations.get(id);
    if (!item || !conversation || this.editingId !== null) return;
    this.editingId = id;
    const link = item.querySelector(".conv-link");
    const input = document.createElement("input");
    input.type = "text";
    input.className = "conv-rename";
    input.maxLength = 200;
    input.value = conversation.title;
    input.placeholder = UNTITLED;
    input.setAttribute("aria-label", "Conversation title");
    link.hidden = true;
    item.querySelector(".conv-actions").hidden = true;
    link.after(input);
    input.focus();
    input.select();

    let settled = false;
    // Enter and blur save, Escape cancels; focus returns to the item unless the user moved on.
    const finish = async (save, refocus) => {
      if (settled) return;
      settled = true;
      const title = input.value.trim();
      if (save && title && title !== conversation.title) {
        item.classList.add("is-busy");
        const updated = await this.handlers.onRename(id, title);
        item.classList.remove("is-busy");
        if (updated) this.conversations.set(id, { ...this.conversations.get(id), ...updated });
      }
      input.remove();
      link.hidden = false;
      item.querySelector(".conv-actions").hidden = false;
      this.editingId = null;
      const current = this.conversations.get(id);
      if (current) {
        this.fillItem(item, current);
      } else {
        item.remove(); // left the listing (search, reload) while it was being edited
        this.items.delete(id);
      }
      this.render();
      if (refocus && item.isConnected) item.querySelector(".conv-link").focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        finish(true, true);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        finish(false, true);
      }
    });
    input.addEventListener("blur", () => finish(true, false));
  }

  async confirmDelete(id) {
    const conversation = this.conversations.get(id);
    if (!conversation) return;
    const title = conversationTitle(conversation);
    if (!window.confirm(`Delete “${title}”?\n\nIts messages will be deleted too. This cannot be undone.`)) return;
    const item = this.items.get(id);
    item?.classList.add("is-busy");
    const deleted = await this.handlers.onDelete(id);
    if (!deleted) item?.classList.remove("is-busy");
  }
}
