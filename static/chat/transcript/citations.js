// Numbered citations of a reply (file search): the `[n]` markers in its text become small
// buttons, each opening a popover with the cited file and the quoted passage, and a
// "Sources" list follows the reply.
//
// The markers are replaced in the DOM *after* the markdown was rendered and sanitised, with
// elements made here (DOMPurify forbids buttons in model output, rightly): the model's text
// can never produce one, only a citation the server sent can.

import { el, icon } from "../elements.js";
import { downloadChip, siteUrl } from "./file_chips.js";
import { fillQuote, markerContext } from "./quotes.js";

const MARKER = /\[(\d{1,3})\]/g;
// Text inside these stays as written: code is code, and a link's text is already a link.
const SKIP = new Set(["A", "CODE", "PRE", "BUTTON"]);

export function citationMap(citations) {
  return new Map((citations || []).map((c) => [Number(c.number), c]));
}

function pill(citation) {
  const button = el("button", "cite", String(citation.number));
  button.type = "button";
  button.dataset.action = "cite";
  button.dataset.number = String(citation.number);
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-label", `Source ${citation.number}: ${citation.filename || "a file"}`);
  button.title = citation.filename || "";
  return button;
}

/**
 * Replaces each `[n]` whose n is a known citation with its button. Unknown numbers stay
 * text: while a reply streams, the marker may arrive a moment before (never after, by the
 * protocol) its citation... and a model may write "[3]" for other reasons.
 */
export function decorateCitations(body, citations) {
  const byNumber = citationMap(citations);
  if (!byNumber.size) return;
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let p = node.parentElement; p && p !== body; p = p.parentElement) {
        if (SKIP.has(p.tagName)) return NodeFilter.FILTER_REJECT;
      }
      MARKER.lastIndex = 0;
      return MARKER.test(node.data) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
    },
  });
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const parts = [];
    let last = 0;
    MARKER.lastIndex = 0;
    for (const match of node.data.matchAll(MARKER)) {
      const citation = byNumber.get(Number(match[1]));
      if (!citation) continue;
      if (match.index > last) parts.push(document.createTextNode(node.data.slice(last, match.index)));
      parts.push(pill(citation));
      last = match.index + match[0].length;
    }
    if (!parts.length) continue;
    if (last < node.data.length) parts.push(document.createTextNode(node.data.slice(last)));
    node.replaceWith(...parts);
  }
}

/** The list under a reply: every source once, in number order. */
export function renderSources(citations) {
  const section = el("section", "sources");
  const heading = el("h3", "sources-title", "Sources");
  const id = `sources-${Math.random().toString(36).slice(2, 9)}`;
  heading.id = id;
  section.setAttribute("aria-labelledby", id);
  const list = el("ol", "sources-list");
  const sorted = [...citations].sort((a, b) => a.number - b.number);
  for (const citation of sorted) {
    const item = el("li", "source");
    item.append(pill(citation));
    const text = el("div", "source-text");
    const url = siteUrl(citation.url);
    const name = el(url ? "a" : "span", "source-name", citation.filename || "Unnamed file");
    if (url) {
      name.href = url;
      name.setAttribute("download", citation.filename || "");
    }
    text.append(name);
    if (citation.quote) {
      const quote = el("span", "source-quote");
      quote.dataset.number = String(citation.number);
      fillQuote(quote, citation.quote, "");
      text.append(quote);
    }
    item.append(text);
    list.append(item);
  }
  section.append(heading, list);
  return section;
}

// --- The popover: one for the page, anchored to the button that opened it ----------------

let popover = null;
let opener = null;
/** Which message's citation is open (its key) and which number: a streaming reply is
 * re-rendered many times a second, and the popover must follow its marker's new button. */
let openFor = null;

function buildPopover() {
  const box = el("div", "cite-popover");
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-modal", "false");
  box.setAttribute("aria-labelledby", "cite-popover-title");
  box.tabIndex = -1;
  box.hidden = true;
  const head = el("div", "cite-popover-head");
  const number = el("span", "cite cite-static");
  number.setAttribute("aria-hidden", "true");
  const title = el("h3", "cite-popover-title");
  title.id = "cite-popover-title";
  const close = el("button", "icon-btn cite-popover-close");
  close.type = "button";
  close.setAttribute("aria-label", "Close source");
  close.append(icon("x"));
  head.append(number, title, close);
  const quote = el("blockquote", "cite-popover-quote");
  // A long passage scrolls: focusable, so the keyboard scrolls it and not the page behind.
  quote.tabIndex = 0;
  quote.setAttribute("aria-label", "Quoted passage");
  const foot = el("div", "cite-popover-foot");
  box.append(head, quote, foot);
  close.addEventListener("click", () => closeCitation({ refocus: true }));
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closeCitation({ refocus: true });
    }
  });
  // Clicking or tabbing anywhere else closes it, like any popover.
  document.addEventListener("pointerdown", (event) => {
    if (box.hidden || box.contains(event.target) || event.target.closest?.(".cite") === opener) return;
    closeCitation({ refocus: false });
  });
  box.addEventListener("focusout", (event) => {
    if (box.hidden || !event.relatedTarget || box.contains(event.relatedTarget)) return;
    if (event.relatedTarget === opener) return;
    closeCitation({ refocus: false });
  });
  window.addEventListener("resize", () => closeCitation({ refocus: false }));
  document.body.append(box);
  return { box, number, title, quote, foot };
}

/** Opens the popover for `citation` next to `button`; a second click on it closes it. */
export function toggleCitation(button, citation, messageKey = null) {
  popover ??= buildPopover();
  if (!popover.box.hidden && opener === button) {
    closeCitation({ refocus: true });
    return;
  }
  if (opener) opener.setAttribute("aria-expanded", "false");
  opener = button;
  openFor = { key: messageKey, number: String(citation.number) };
  button.setAttribute("aria-expanded", "true");
  popover.number.textContent = String(citation.number);
  popover.title.textContent = citation.filename || "Unnamed file";
  fillQuote(popover.quote, citation.quote || "", markerContext(button));
  popover.quote.hidden = !citation.quote;
  popover.foot.replaceChildren();
  if (siteUrl(citation.url)) {
    popover.foot.append(downloadChip({ name: citation.filename, url: citation.url }));
  } else {
    popover.foot.append(el("span", "cite-popover-note", "This file is in the assistant's knowledge."));
  }
  popover.box.hidden = false;
  place(popover.box, button);
  popover.box.focus();
}

/** After message `messageKey` was re-rendered into `body`: the open popover moves to the
 * new button of its marker. */
export function reattachCitation(body, messageKey) {
  if (!popover || popover.box.hidden || !openFor || openFor.key !== messageKey) return;
  if (opener && opener.isConnected) return;
  const button = body.querySelector(`.cite[data-number="${CSS.escape(openFor.number)}"]`);
  if (!button) return;
  const hadFocus = document.activeElement === document.body;
  opener = button;
  button.setAttribute("aria-expanded", "true");
  place(popover.box, button);
  if (hadFocus) popover.box.focus();
}

/** Keeps the popover on its button when the transcript scrolls; closes it if the button went. */
export function repositionCitation() {
  if (!popover || popover.box.hidden) return;
  if (opener && opener.isConnected) place(popover.box, opener);
  else closeCitation({ refocus: false });
}

export function closeCitation({ refocus }) {
  if (!popover || popover.box.hidden) return;
  popover.box.hidden = true;
  const button = opener;
  opener = null;
  openFor = null;
  if (button) {
    button.setAttribute("aria-expanded", "false");
    if (refocus && button.isConnected) button.focus();
  }
}

/** The Sources list's quotes mark the sentence that the reply's first marker of each
 * source matches (called once the reply's body and its list are painted). */
export function markSourceQuotes(item, citations) {
  const byNumber = citationMap(citations);
  for (const quote of item.querySelectorAll(".source-quote")) {
    const marker = item.querySelector(`.msg-body .cite[data-number="${CSS.escape(quote.dataset.number)}"]`);
    const citation = byNumber.get(Number(quote.dataset.number));
    if (marker && citation) fillQuote(quote, citation.quote, markerContext(marker));
  }
}

/**
 * Below the button when there is room, else above it, but never over the messages before
 * the reply (the user's question): then below, the transcript scrolled to make room.
 * Inside the viewport, and inside the transcript when it can be (not over the message box).
 */
function place(box, button) {
  const margin = 8;
  const scroller = button.closest(".transcript");
  let anchor = button.getBoundingClientRect();
  const area = scroller?.getBoundingClientRect();
  const floor = Math.min(window.innerHeight, area ? area.bottom : Infinity);
  box.style.left = "0px";
  box.style.top = "0px";
  const { width, height } = box.getBoundingClientRect();
  const left = Math.min(Math.max(margin, anchor.left + anchor.width / 2 - width / 2),
    window.innerWidth - width - margin);
  const reply = button.closest(".msg")?.getBoundingClientRect();
  const ceiling = Math.max(margin, area ? area.top : 0, reply ? reply.top : 0);
  let top = anchor.bottom + 6;
  if (top + height + margin > floor) {
    const above = anchor.top - height - 6;
    if (above >= ceiling) top = above;
    else if (scroller) {
      // Neither fits: scroll the marker up so the popover fits below it.
      const needed = top + height + margin - floor;
      const before = scroller.scrollTop;
      scroller.scrollTop += needed;
      anchor = button.getBoundingClientRect();
      top = anchor.bottom + 6;
      if (scroller.scrollTop === before) top = Math.min(top, floor - height - margin);
    }
  }
  box.style.left = `${Math.max(margin, left)}px`;
  box.style.top = `${Math.max(margin, top)}px`;
}
