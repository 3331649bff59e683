// The frame around the conversation: alerts, the screen reader's announcements, the header
// and the empty state, the connection notice, and the sidebar as a drawer on small screens.

import { renderMarkdown } from "./transcript/markdown.js";
import { els, selectedAssistant, state, transcript } from "./page.js";
import { conversationTitle } from "./sidebar/sidebar.js";
import { renderAssistantButton, renderEmptyAssistant } from "./frame/assistant_picker.js";

const SITE_NAME = document.title.split(" · ").pop() || "Assistants";

// --- Alerts ----------------------------------------------------------------------------------

export function showAlert(message, { kind = "error" } = {}) {
  for (const existing of els.alerts.children) {
    if (existing.dataset.message === message) existing.remove();
  }
  const alert = document.createElement("div");
  alert.className = kind === "info" ? "alert is-info" : "alert";
  alert.setAttribute("role", kind === "info" ? "status" : "alert");
  alert.dataset.message = message;
  const text = document.createElement("p");
  text.textContent = message;
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.className = "icon-btn";
  dismiss.setAttribute("aria-label", "Dismiss");
  dismiss.innerHTML = '<svg class="icon" aria-hidden="true"><use href="#i-x"/></svg>';
  dismiss.addEventListener("click", () => {
    alert.remove();
    els.input.focus();
  });
  alert.append(text, dismiss);
  els.alerts.append(alert);
  while (els.alerts.children.length > 3) els.alerts.firstElementChild.remove();
}

export function clearAlerts() {
  els.alerts.replaceChildren();
}

// --- Screen readers: one announcement per finished reply -------------------------------------

function announce(text) {
  // Cleared first, so the same words twice are still read twice.
  els.announcer.textContent = "";
  setTimeout(() => { els.announcer.textContent = text; }, 50);
}

export function announceReply(message) {
  const name = state.current?.assistant?.name || "The assistant";
  if (message.status === "cancelled") {
    announce("Reply stopped.");
    return;
  }
  if (message.status === "failed") {
    announce(`The reply failed. ${message.error || ""}`);
    return;
  }
  const scratch = document.createElement("div");
  scratch.innerHTML = renderMarkdown(message.content);
  let text = scratch.textContent.replace(/\s+/g, " ").trim();
  if (text.length > 1500) text = `${text.slice(0, 1500)}… (continued on the page)`;
  const ending = message.status === "incomplete" ? " The reply ended early." : "";
  announce(`${name} replied: ${text}${ending}`);
}

// --- Header and empty state ------------------------------------------------------------------

export function renderHeader() {
  const current = state.current;
  // The open conversation, for modules of their own (share/share_dialog.js, feedback/).
  els.app.dataset.conversationId = current ? String(current.id) : "";
  if (current) {
    const title = conversationTitle(current);
    els.title.textContent = title;
    document.title = `${title} · ${SITE_NAME}`;
    transcript.setAssistantName(current.assistant?.name);
  } else {
    els.title.textContent = "New chat";
    document.title = SITE_NAME;
    transcript.setAssistantName(selectedAssistant()?.name);
  }
  renderAssistantButton();
  renderEmptyState();
}

export function renderEmptyState() {
  els.emptyState.hidden = !(state.current === null && transcript.isEmpty);
  renderEmptyAssistant();
}

// --- Connection notice -----------------------------------------------------------------------

let connectionNoticeTimer = null;

export function showConnection(connectionState, retryInMs) {
  clearTimeout(connectionNoticeTimer);
  els.app.dataset.connection = connectionState;
  if (connectionState === "open") {
    els.connection.hidden = true;
  } else if (connectionState === "closed") {
    els.connection.hidden = false;
    els.connection.textContent = "Offline, reconnecting…";
    els.connection.title = `Next attempt in ${Math.max(1, Math.round(retryInMs / 1000))} s`;
  } else if (els.connection.hidden) {
    // Do not flash a notice for the usual sub-second connect.
    connectionNoticeTimer = setTimeout(() => {
      els.connection.hidden = false;
      els.connection.textContent = "Connecting…";
    }, 1000);
  } else {
    els.connection.textContent = "Connecting…";
  }
}

// --- Small screens: the sidebar as a drawer --------------------------------------------------

function openSidebar() {
  els.app.classList.add("sidebar-open");
  els.backdrop.hidden = false;
  els.sidebarToggle.setAttribute("aria-expanded", "true");
  // The drawer is modal: Tab and screen readers stay in it until it closes.
  els.main.inert = true;
  els.newChat.focus();
}

export function closeSidebar() {
  if (!els.app.classList.contains("sidebar-open")) return;
  els.app.classList.remove("sidebar-open");
  els.backdrop.hidden = true;
  els.sidebarToggle.setAttribute("aria-expanded", "false");
  els.main.inert = false;
}

export function bindDrawer() {
  els.sidebarToggle.addEventListener("click", openSidebar);
  // Grown past the drawer's breakpoint (a rotated tablet): the sidebar is no longer modal.
  window.matchMedia("(max-width: 800px)").addEventListener("change", (event) => {
    if (!event.matches) closeSidebar();
  });
  els.sidebarClose.addEventListener("click", () => {
    closeSidebar();
    els.sidebarToggle.focus();
  });
  els.backdrop.addEventListener("click", closeSidebar);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && els.app.classList.contains("sidebar-open")) {
      event.preventDefault(); // this Escape closed the drawer: it stops no reply (shortcuts.js)
      closeSidebar();
      els.sidebarToggle.focus();
    }
  });
}
