// Moving between conversations: the sidebar's list (pages, search, rename, pin, delete and
// undo), opening one, starting a new chat, the browser's history, and the assistant of new
// chats.

import { apiGet, apiPost } from "../server/api.js";
import {
  focusComposer, forgetDraft, renderCapabilities, restoreDraft, saveDraft, updateComposer,
} from "../composer/composer.js";
import {
  assistants, attachments, conversationUrl, data, els, sidebar, socket, state, transcript,
} from "../page.js";
import { clearAlerts, closeSidebar, renderHeader, showAlert } from "../shell.js";
import { showToast } from "../frame/toast.js";

const conversationPath = new RegExp(
  `^${data.urls.conversation.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace("{id}", "(\\d+)")}$`,
);

// --- The sidebar's list ----------------------------------------------------------------------

export async function loadConversations() {
  const query = els.search.value.trim();
  const seq = ++state.searchSeq;
  sidebar.setLoading(true);
  const result = await apiGet(data.urls.conversations, { q: query });
  if (seq !== state.searchSeq) return; // a newer search superseded this one
  sidebar.setLoading(false);
  if (!result.ok) {
    showAlert(result.data.error);
    return;
  }
  sidebar.setPage(result.data.conversations, result.data.next_cursor, query, result.data.pinned);
  sidebar.setCurrent(state.current?.id ?? null);
}

export async function loadMoreConversations() {
  const seq = state.searchSeq;
  sidebar.setLoading(true);
  const result = await apiGet(data.urls.conversations, { q: sidebar.query, cursor: sidebar.nextCursor });
  if (seq !== state.searchSeq) return;
  sidebar.setLoading(false);
  if (!result.ok) {
    showAlert(result.data.error);
    return;
  }
  sidebar.appendPage(result.data.conversations, result.data.next_cursor);
}

/** Renames or pins: the conversation's new payload, or null once an alert says why not. */
async function changeConversation(urlTemplate, id, body) {
  const result = await apiPost(urlTemplate.replace("{id}", String(id)), body);
  if (!result.ok) {
    if (result.status === 404) sidebar.remove(id);
    showAlert(result.data.error);
    return null;
  }
  return result.data;
}

export async function renameConversation(id, title) {
  const updated = await changeConversation(data.urls.rename, id, { title });
  if (updated && state.current?.id === id) {
    state.current = updated;
    renderHeader();
  }
  return updated;
}

export async function pinConversation(id, pinned) {
  const updated = await changeConversation(data.urls.pin, id, { pinned });
  if (updated && state.current?.id === id) state.current = updated;
  return updated;
}

/**
 * Deletes at once as the user sees it, with an Undo toast for the server's undo window; the
 * server deletes it for good (and its remote thread) when the window closes.
 */
export async function deleteConversation(id, title) {
  state.deletingIds.add(id);
  const wasOpen = state.current?.id === id;
  const result = await apiPost(data.urls.delete.replace("{id}", String(id)), {});
  state.deletingIds.delete(id);
  if (!result.ok && result.status !== 404) {
    showAlert(result.data.error);
    return false;
  }
  sidebar.remove(id);
  if (wasOpen) newChat({ push: true });
  if (!result.ok) return true;
  const seconds = Number(result.data.undo_seconds) || 10;
  showToast(`Deleted “${title}”.`, {
    actionLabel: "Undo",
    seconds,
    onAction: () => restoreConversation(id, { reopen: wasOpen }),
    onExpire: () => {
      forgetDraft(id);
      attachments.forget(id);
    },
  });
  return true;
}

export async function restoreConversation(id, { reopen }) {
  const result = await apiPost(data.urls.restore.replace("{id}", String(id)), {});
  if (!result.ok) {
    showAlert(result.data.error);
    return;
  }
  sidebar.upsert(result.data);
  if (reopen) openConversation(id, { push: true });
  else sidebar.items.get(id)?.querySelector(".conv-link").focus();
}

// --- Opening, new chat, history --------------------------------------------------------------

/**
 * Makes `conversation` (null: the new chat screen) the shown one, empty until its snapshot
 * arrives, with its own draft and files; the one left keeps its draft.
 */
function show(conversation) {
  saveDraft();
  state.current = conversation;
  state.pendingSend = null;
  state.pendingNew = null;
  state.pendingEdit = null;
  restoreDraft();
  state.stopping = false;
  transcript.clear();
  sidebar.setCurrent(conversation?.id ?? null);
  renderHeader();
}

export function openConversation(id, { push }) {
  if (state.current?.id === id) return;
  if (!socket.isOpen) {
    // The server embeds the transcript in the page, so a plain navigation works offline-ish.
    location.assign(conversationUrl(id));
    return;
  }
  clearAlerts();
  show(sidebar.get(id) || { id, title: "", assistant: null, updated_at: new Date().toISOString() });
  if (push && location.pathname !== conversationUrl(id)) history.pushState({ id }, "", conversationUrl(id));
  socket.send({ type: "conversation.open", conversation_id: id });
  updateComposer();
  focusComposer();
}

export function newChat({ push }) {
  if (state.current !== null) socket.send({ type: "conversation.close" });
  show(null);
  if (push && location.pathname !== data.urls.index) history.pushState({ id: null }, "", data.urls.index);
  updateComposer();
  focusComposer();
}

/** Makes a conversation this tab just created the open one, without reloading anything. */
export function adopt(conversation) {
  state.current = conversation;
  attachments.rekey("new", conversation.id);
  sidebar.setCurrent(conversation.id);
  const url = conversationUrl(conversation.id);
  if (location.pathname !== url) {
    // A second adoption corrects a guess (see conversation.created): no extra history entry.
    if (state.pendingNew?.adopted) history.replaceState({ id: conversation.id }, "", url);
    else history.pushState({ id: conversation.id }, "", url);
  }
  if (state.pendingNew) state.pendingNew.adopted = true;
  renderHeader();
}

function conversationIdFromPath(pathname) {
  const match = pathname.match(conversationPath);
  return match ? Number(match[1]) : null;
}

// --- The assistant of new chats --------------------------------------------------------------

/** Chooses the assistant of the next new chat (remembered), and shows the new chat screen. */
export function chooseAssistant(id) {
  if (!assistants.has(id)) return;
  state.assistantId = id;
  try {
    localStorage.setItem("chat.assistant", String(id));
  } catch {
    // Storage can be disabled; the choice then lasts for this page only.
  }
  if (state.current !== null) newChat({ push: true });
  else {
    renderHeader();
    renderCapabilities();
    updateComposer();
  }
}

export function restoreAssistant() {
  let saved = null;
  try {
    saved = Number(localStorage.getItem("chat.assistant"));
  } catch {
    saved = null;
  }
  state.assistantId = assistants.has(saved) ? saved : (data.assistants[0]?.id ?? null);
}

export function bindNavigation() {
  let searchTimer = null;
  els.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(loadConversations, 250);
  });
  els.search.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && els.search.value) {
      event.preventDefault();
      els.search.value = "";
      clearTimeout(searchTimer);
      loadConversations();
    }
  });

  window.addEventListener("popstate", () => {
    const id = conversationIdFromPath(location.pathname);
    if (id === null) newChat({ push: false });
    else if (id !== state.current?.id) openConversation(id, { push: false });
  });

  els.newChat.addEventListener("click", () => {
    closeSidebar();
    newChat({ push: true });
  });
}
