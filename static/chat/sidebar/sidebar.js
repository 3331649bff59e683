// The conversation list: pinned first, then grouped by date of last activity (today,
// yesterday, previous 7 days, older); live updates, search, pin, rename, delete.

import { icon } from "../elements.js";
import { confirmDialog } from "../frame/dialogs.js";
import { Menu } from "../frame/menu.js";

const UNTITLED = "New conversation";

export function conversationTitle(conversation) {
  return (conversation && conversation.title) || UNTITLED;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
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

function recentlyPinnedFirst(a, b) {
  const diff = Date.parse(b.pinned_at) - Date.parse(a.pinned_at);
  return diff !== 0 ? diff : b.id - a.id;
}

const GROUPS = [
  { key: "pinned", label: "Pinned" },
  { key: "today", label: "Today" },
  { key: "yesterday", label: "Yesterday" },
  { key: "week", label: "Previous 7 days" },
  { key: "older", label: "Older" },
];

function startOfDay(date, daysBefore = 0) {
  const day = new Date(date);
  day.setHours(0, 0, 0, 0);
  day.setDate(day.getDate() - daysBefore);
  return day.getTime();
}

/** The sidebar group of a conversation, in the browser's time zone. */
export function groupOf(conversation, now = new Date()) {
  if (conversation.pinned_at) return "pinned";
  const at = Date.parse(conversation.updated_at);
  if (at >= startOfDay(now)) return "today";
  if (at >= startOfDay(now, 1)) return "yesterday";
  if (at >= startOfDay(now, 7)) return "week";
  return "older";
}

export class Sidebar {
  /**
   * @param {{list: HTMLElement, status: HTMLElement, sentinel: HTMLElement, scroller: HTMLElement}} els
   * @param {{urlFor: (id: number) => string,
   *          onSelect: (id: number) => void,
   *          onRename: (id: number, title: string) => Promise<object|null>,
   *          onPin: (id: number, pinned: boolean) => Promise<object|null>,
   *          onDelete: (id: number, title: string) => Promise<boolean>,
   *          exportUrls: {markdown: string, json: string},
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

    // One section per group, in display order, hidden while empty.
    this.groups = new Map();
    for (const { key, label } of GROUPS) {
      const section = document.createElement("section");
      section.className = "conv-group";
      section.dataset.group = key;
      section.hidden = true;
      const heading = document.createElement("h2");
      heading.className = "conv-group-title";
      heading.id = `conv-group-${key}`;
      heading.textContent = label;
      const list = document.createElement("ul");
      list.className = "conv-list";
      list.setAttribute("aria-labelledby", heading.id);
      section.append(heading, list);
      els.list.append(section);
      this.groups.set(key, { section, list });
    }

    els.list.addEventListener("click", (event) => this.onClick(event));
    els.list.addEventListener("keydown", (event) => this.onKeydown(event));
    // Times move on, and past midnight conversations change groups.
    setInterval(() => this.render(), 60_000);

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

  /** A fresh listing (first page, or search results), with the pinned conversations. */
  setPage(conversations, nextCursor, query, pinned = []) {
    this.query = query;
    this.conversations.clear();
    for (const [id, item] of this.items) {
      if (id === this.editingId) continue; // keep the title being typed
      item.remove();
      this.items.delete(id);
    }
    for (const conversation of pinned) this.conversations.set(conversation.id, conversation);
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
    this.items.get(id)?.querySelector(".conv-more").menu?.menu.remove();
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
    const now = new Date();
    const grouped = new Map(GROUPS.map(({ key }) => [key, []]));
    for (const conversation of this.conversations.values()) {
      grouped.get(groupOf(conversation, now)).push(conversation);
    }
    for (const [key, members] of grouped) {
      members.sort(key === "pinned" ? recentlyPinnedFirst : newestFirst);
      const { section, list } = this.groups.get(key);
      section.hidden = members.length === 0;
      let previous = null;
      for (const conversation of members) {
        let item = this.items.get(conversation.id);
        if (!item) {
          item = this.createItem(conversation.id);
          this.items.set(conversation.id, item);
        }
        if (conversation.id !== this.editingId) this.fillItem(item, conversation);
        // Move only what is out of place, so focus and hover survive live updates.
        const expectedNext = previous ? previous.nextElementSibling : list.firstElementChild;
        if (expectedNext !== item) {
          if (previous) previous.after(item);
          else list.prepend(item);
        }
        previous = item;
      }
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
    // One tab stop per row: the actions are in the "..." menu, which the keyboard opens
    // from the link (Shift+F10, the context-menu key, or the right arrow).
    link.setAttribute("aria-keyshortcuts", "Shift+F10");
    const title = document.createElement("span");
    title.className = "conv-title";
    const meta = document.createElement("span");
    meta.className = "conv-meta";
    link.append(title, meta);

    const more = document.createElement("button");
    more.type = "button";
    more.className = "icon-btn conv-more";
    more.tabIndex = -1;
    more.setAttribute("aria-haspopup", "menu");
    more.setAttribute("aria-expanded", "false");
    more.append(icon("more"));
    item.append(link, more);
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
    item.classList.toggle("is-pinned", Boolean(conversation.pinned_at));
    const more = item.querySelector(".conv-more");
    more.setAttribute("aria-label", `Actions for “${title}”`);
    more.title = "Rename, pin, export, share, delete";
  }

  /** The row's "..." menu, made the first time it opens. */
  rowMenu(id) {
    const item = this.items.get(id);
    const button = item.querySelector(".conv-more");
    if (!button.menu) {
      button.menu = new Menu(button, () => this.menuItems(id), {
        label: "Conversation actions",
        className: "conv-menu",
        returnFocus: () => (button.isConnected ? item.querySelector(".conv-link") : null),
      });
    }
    return button.menu;
  }

  menuItems(id) {
    const conversation = this.conversations.get(id);
    if (!conversation) return [];
    const pinned = Boolean(conversation.pinned_at);
    const exportUrl = (template) => template.replace("{id}", String(id));
    return [
      { label: "Rename", icon: "pencil", onSelect: () => this.startRename(id) },
      { label: pinned ? "Unpin" : "Pin to the top", icon: "pin", onSelect: () => this.togglePin(id) },
      { separator: true },
      { label: "Export as Markdown", icon: "download", href: exportUrl(this.handlers.exportUrls.markdown), download: true },
      { label: "Export as JSON", icon: "download", href: exportUrl(this.handlers.exportUrls.json), download: true },
      {
        label: "Share…",
        icon: "share",
        onSelect: () => document.dispatchEvent(new CustomEvent("conversation-action", {
          detail: { action: "share", conversationId: id },
        })),
      },
      { separator: true },
      { label: "Delete…", icon: "trash", danger: true, onSelect: () => this.confirmDelete(id) },
    ];
  }

  markCurrent(item, isCurrent) {
    item.classList.toggle("is-current", isCurrent);
    const link = item.querySelector(".conv-link");
    if (isCurrent) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }

  // --- Interaction -------------------------------------------------------------------------

  onClick(event) {
    const item = event.target.closest(".conv");
    if (!item) return;
    const id = Number(item.dataset.id);
    const more = event.target.closest(".conv-more");
    if (more) {
      if (!more.menu) this.rowMenu(id).open({ focus: event.detail === 0 ? "first" : "menu" });
      return; // a menu made before handles its own clicks
    }
    const link = event.target.closest(".conv-link");
    // Let the browser handle new-tab clicks; a plain click switches in place.
    if (link && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey && event.button === 0) {
      event.preventDefault();
      this.handlers.onSelect(id);
    }
  }

  onKeydown(event) {
    const link = event.target.closest(".conv-link");
    if (!link) return;
    const item = link.closest(".conv");
    const opens = (event.key === "F10" && event.shiftKey) || event.key === "ContextMenu"
      || event.key === "ArrowRight";
    if (opens) {
      event.preventDefault();
      this.rowMenu(Number(item.dataset.id)).open({ focus: "first" });
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      // The arrows move along the list; Tab leaves it.
      event.preventDefault();
      const links = [...this.els.list.querySelectorAll(".conv-link:not([hidden])")];
      const next = links[links.indexOf(link) + (event.key === "ArrowDown" ? 1 : -1)];
      next?.focus();
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
    item.querySelector(".conv-more").hidden = true;
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
      item.querySelector(".conv-more").hidden = false;
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

  async togglePin(id) {
    const conversation = this.conversations.get(id);
    if (!conversation) return;
    const updated = await this.handlers.onPin(id, !conversation.pinned_at);
    if (updated) this.upsert(updated);
    // The item moved to another group: keep the keyboard on it.
    const item = this.items.get(id);
    if (item?.isConnected && (document.activeElement === document.body || item.contains(document.activeElement))) {
      item.querySelector(".conv-link").focus();
    }
  }

  async confirmDelete(id) {
    const conversation = this.conversations.get(id);
    if (!conversation) return;
    const title = conversationTitle(conversation);
    const confirmed = await confirmDialog({
      title: `Delete “${title}”?`,
      body: "Its messages and files will be deleted. You can undo this for a few seconds.",
      confirmLabel: "Delete",
      danger: true,
    });
    if (!confirmed) return;
    const item = this.items.get(id);
    item?.classList.add("is-busy");
    const deleted = await this.handlers.onDelete(id, title);
    if (!deleted) item?.classList.remove("is-busy");
  }
}
