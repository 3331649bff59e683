// The chat page: wires the sidebar, the transcript and the composer to the WebSocket
// (docs/websocket-protocol.md) and to the JSON API (chat/views.py).
//
// The page paints from the data embedded by the server (json_script "chat-data"), then the
// socket takes over: the snapshot it sends after conversation.open replaces the transcript,
// so a reconnect never duplicates anything.

import { apiGet, apiPost, goToLogin, setLoginUrl } from "./api.js";
import { Attachments } from "./attachments.js";
import { Sidebar, conversationTitle } from "./sidebar.js";
import { ChatSocket } from "./socket.js";
import { renderMarkdown } from "./markdown.js";
import { Transcript, codePointLength } from "./transcript.js";

const data = JSON.parse(document.getElementById("chat-data").textContent);
setLoginUrl(data.urls.login);

const $ = (id) => document.getElementById(id);
const els = {
  app: $("app"),
  sidebar: $("sidebar"),
  main: $("main"),
  sidebarToggle: $("sidebar-toggle"),
  sidebarClose: $("sidebar-close"),
  backdrop: $("backdrop"),
  newChat: $("new-chat"),
  picker: $("assistant-select"),
  pickerDescription: $("assistant-description"),
  search: $("search"),
  title: $("conversation-title"),
  assistantLine: $("conversation-assistant"),
  connection: $("connection"),
  emptyState: $("empty-state"),
  emptyAssistant: $("empty-assistant"),
  alerts: $("alerts"),
  composer: $("composer"),
  input: $("composer-input"),
  send: $("send"),
  stop: $("stop"),
  charCount: $("char-count"),
  announcer: $("announcer"),
  attach: $("attach"),
  dropOverlay: $("drop-overlay"),
};

const assistants = new Map(data.assistants.map((a) => [a.id, a]));
const conversationUrl = (id) => data.urls.conversation.replace("{id}", String(id));
const conversationPath = new RegExp(
  `^${data.urls.conversation.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace("{id}", "(\\d+)")}$`,
);
const SITE_NAME = document.title.split(" · ").pop() || "Assistants";
// Refusals that mean "your message was not saved": it goes back into the box.
const SEND_REFUSALS = new Set(["busy", "empty", "too_long", "rate_limited", "not_found", "invalid", "bad_frame",
  "bad_attachment"]);
// Refusals of an edit: the message shows its saved text again.
const EDIT_REFUSALS = new Set([...SEND_REFUSALS, "not_last"]);

/**
 * Upload limits: from the page's JSON when the view sends them (chat_data.uploads), else
 * from the composer's data attributes (the settings' defaults).
 */
function uploadConfig() {
  const form = document.getElementById("composer").dataset;
  const given = data.uploads || {};
  const extensions = given.extensions ?? form.uploadExtensions.split(/[\s,]+/).filter(Boolean);
  return {
    url: data.urls.uploads || form.uploadUrl,
    deleteUrl: data.urls.upload || `${(data.urls.uploads || form.uploadUrl).replace(/\/?$/, "/")}{id}/`,
    limits: {
      maxBytes: Number(given.max_bytes ?? form.uploadMaxBytes),
      extensions: Array.isArray(extensions) ? extensions : [],
      maxCount: Number(given.max_attachments ?? form.maxAttachments),
    },
  };
}
const uploads = uploadConfig();

const state = {
  /** The open conversation (payload), or null on the "new chat" screen. */
  current: data.conversation,
  /** {clientMessageId, text, conversationId, attachments} until the server echoes the message. */
  pendingSend: null,
  /** {clientMessageId, adopted} while a new conversation started by this tab is being created. */
  pendingNew: null,
  /** {messageId, clientMessageId} from sending an edit until the server answers. */
  pendingEdit: null,
  stopping: false,
  deletingIds: new Set(),
  searchSeq: 0,
  /** Counts socket connections, to tell a send from before a reconnect from a recent one. */
  connection: 0,
};

// --- Alerts ----------------------------------------------------------------------------------

function showAlert(message, { kind = "error" } = {}) {
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

function clearAlerts() {
  els.alerts.replaceChildren();
}

// --- Drafts: what is typed stays per conversation, across reloads -----------------------------

const draftKey = (conversationId) => `chat.draft.${conversationId ?? "new"}`;

function saveDraft() {
  try {
    const key = draftKey(state.current?.id);
    if (els.input.value.trim()) localStorage.setItem(key, els.input.value);
    else localStorage.removeItem(key);
  } catch {
    // Storage can be full or disabled: drafts then last as long as the page.
  }
}

function restoreDraft() {
  attachments.setKey(state.current?.id ?? "new");
  renderCapabilities();
  let draft = "";
  try {
    draft = localStorage.getItem(draftKey(state.current?.id)) || "";
  } catch {
    draft = "";
  }
  els.input.value = draft;
  autoGrow();
}

function forgetDraft(conversationId) {
  try {
    localStorage.removeItem(draftKey(conversationId));
  } catch {
    // See saveDraft.
  }
}

// --- Screen readers: one announcement per finished reply -------------------------------------

function announce(text) {
  // Cleared first, so the same words twice are still read twice.
  els.announcer.textContent = "";
  setTimeout(() => { els.announcer.textContent = text; }, 50);
}

function announceReply(message) {
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

// --- Header, empty state, composer -----------------------------------------------------------

function selectedAssistant() {
  return assistants.get(Number(els.picker.value)) || null;
}

function renderHeader() {
  const current = state.current;
  if (current) {
    const title = conversationTitle(current);
    els.title.textContent = title;
    els.assistantLine.textContent = current.assistant ? current.assistant.name : "Assistant removed";
    document.title = `${title} · ${SITE_NAME}`;
    transcript.setAssistantName(current.assistant?.name);
  } else {
    const assistant = selectedAssistant();
    els.title.textContent = "New chat";
    els.assistantLine.textContent = assistant ? assistant.name : "";
    document.title = SITE_NAME;
    transcript.setAssistantName(assistant?.name);
  }
  renderEmptyState();
}

function renderEmptyState() {
  els.emptyState.hidden = !(state.current === null && transcript.isEmpty);
  const assistant = selectedAssistant();
  els.emptyAssistant.replaceChildren();
  if (!assistant) {
    els.emptyAssistant.textContent = "No assistants are available yet. Ask an administrator to add one.";
    return;
  }
  const name = document.createElement("strong");
  name.textContent = assistant.name;
  els.emptyAssistant.append("You are starting a chat with ", name, ".");
  if (assistant.description) {
    els.emptyAssistant.append(document.createElement("br"), assistant.description);
  }
}

/** What the assistant of this chat can do with files (null when the page does not say). */
function renderCapabilities() {
  const assistant = state.current
    ? assistants.get(state.current.assistant?.id) || null
    : selectedAssistant();
  const known = assistant && (typeof assistant.file_search === "boolean" || typeof assistant.code_interpreter === "boolean");
  attachments.setCapabilities(known ? {
    name: assistant.name, fileSearch: Boolean(assistant.file_search), codeInterpreter: Boolean(assistant.code_interpreter),
  } : null);
}

function renderPicker() {
  const assistant = selectedAssistant();
  els.pickerDescription.textContent = assistant ? assistant.description : "";
  if (!state.current) renderHeader();
  renderCapabilities();
}

function updateComposer() {
  const text = els.input.value;
  const length = codePointLength(text);
  const max = data.max_message_chars;
  const active = transcript.activeReply !== null;
  const canTarget = state.current !== null || selectedAssistant() !== null;
  // Not while a file is still uploading: the message would go without it.
  // Files alone make a message too (the server accepts empty text with attachments).
  const hasContent = Boolean(text.trim()) || attachments.ready.length > 0;
  els.send.disabled = !hasContent || length > max || !socket.isOpen || active || !canTarget
    || state.pendingNew !== null || attachments.busy;
  els.send.title = attachments.busy ? "Wait for the files to finish uploading" : "";
  els.stop.hidden = !active;
  els.stop.disabled = state.stopping;
  if (length > max * 0.8) {
    els.charCount.hidden = false;
    els.charCount.textContent = `${length.toLocaleString()} / ${max.toLocaleString()}`;
    els.charCount.classList.toggle("is-over", length > max);
  } else {
    els.charCount.hidden = true;
  }
}

function autoGrow() {
  els.input.style.height = "auto";
  els.input.style.height = `${els.input.scrollHeight}px`;
}

// --- Sidebar ---------------------------------------------------------------------------------

const sidebar = new Sidebar(
  {
    list: $("conversation-list"),
    status: $("list-status"),
    sentinel: $("list-sentinel"),
    scroller: $("history"),
  },
  {
    urlFor: conversationUrl,
    onSelect: (id) => {
      closeSidebar();
      openConversation(id, { push: true });
    },
    onRename: renameConversation,
    onPin: pinConversation,
    onDelete: deleteConversation,
    onLoadMore: loadMoreConversations,
  },
);

async function loadConversations() {
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

async function loadMoreConversations() {
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

async function renameConversation(id, title) {
  const result = await apiPost(data.urls.rename.replace("{id}", String(id)), { title });
  if (!result.ok) {
    if (result.status === 404) sidebar.remove(id);
    showAlert(result.data.error);
    return null;
  }
  if (state.current?.id === id) {
    state.current = result.data;
    renderHeader();
  }
  return result.data;
}

async function pinConversation(id, pinned) {
  const result = await apiPost(data.urls.pin.replace("{id}", String(id)), { pinned });
  if (!result.ok) {
    if (result.status === 404) sidebar.remove(id);
    showAlert(result.data.error);
    return null;
  }
  if (state.current?.id === id) state.current = result.data;
  return result.data;
}

async function deleteConversation(id) {
  state.deletingIds.add(id);
  const result = await apiPost(data.urls.delete.replace("{id}", String(id)), {});
  state.deletingIds.delete(id);
  if (!result.ok && result.status !== 404) {
    showAlert(result.data.error);
    return false;
  }
  sidebar.remove(id);
  if (state.current?.id === id) newChat({ push: true });
  forgetDraft(id);
  attachments.forget(id);
  return true;
}

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

// --- Attachments -----------------------------------------------------------------------------

const attachments = new Attachments(
  {
    tray: $("attach-tray"),
    list: $("attach-list"),
    note: $("attach-note"),
    input: $("attach-input"),
    button: els.attach,
    dropTarget: els.main,
    overlay: els.dropOverlay,
    paste: els.input,
    live: $("attach-status"),
  },
  {
    limits: uploads.limits,
    uploadUrl: uploads.url,
    uploadDeleteUrl: (id) => uploads.deleteUrl.replace("{id}", encodeURIComponent(String(id))),
    onChange: () => updateComposer(),
    onNotice: (message) => showAlert(message, { kind: "info" }),
  },
);
{
  const { maxBytes, extensions, maxCount } = uploads.limits;
  $("drop-hint").textContent = `Up to ${maxCount} files, ${Math.round(maxBytes / 1048576)} MB each`
    + (extensions.length ? `: ${extensions.slice(0, 8).join(", ")}${extensions.length > 8 ? "…" : ""}` : "");
}

// --- Transcript ------------------------------------------------------------------------------

const transcript = new Transcript(
  { scroller: $("transcript"), list: $("messages"), jump: $("jump") },
  {
    onActivityChange: (active) => {
      if (!active) state.stopping = false;
      updateComposer();
    },
    onRegenerate: regenerate,
    onEdit: sendEdit,
    onReplyFinished: announceReply,
  },
);

// --- Navigation ------------------------------------------------------------------------------

function openConversation(id, { push }) {
  if (state.current?.id === id) return;
  if (!socket.isOpen) {
    // The server embeds the transcript in the page, so a plain navigation works offline-ish.
    location.assign(conversationUrl(id));
    return;
  }
  clearAlerts();
  saveDraft();
  state.current = sidebar.get(id) || { id, title: "", assistant: null, updated_at: new Date().toISOString() };
  state.pendingSend = null;
  state.pendingNew = null;
  state.pendingEdit = null;
  restoreDraft();
  state.stopping = false;
  transcript.clear();
  sidebar.setCurrent(id);
  renderHeader();
  if (push && location.pathname !== conversationUrl(id)) history.pushState({ id }, "", conversationUrl(id));
  socket.send({ type: "conversation.open", conversation_id: id });
  updateComposer();
  focusComposer();
}

function newChat({ push }) {
  if (state.current !== null) socket.send({ type: "conversation.close" });
  saveDraft();
  state.current = null;
  state.pendingSend = null;
  state.pendingNew = null;
  state.pendingEdit = null;
  restoreDraft();
  state.stopping = false;
  transcript.clear();
  sidebar.setCurrent(null);
  renderHeader();
  if (push && location.pathname !== data.urls.index) history.pushState({ id: null }, "", data.urls.index);
  updateComposer();
  focusComposer();
}

/** Makes a conversation this tab just created the open one, without reloading anything. */
function adopt(conversation) {
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

window.addEventListener("popstate", () => {
  const id = conversationIdFromPath(location.pathname);
  if (id === null) newChat({ push: false });
  else if (id !== state.current?.id) openConversation(id, { push: false });
});

els.newChat.addEventListener("click", () => {
  closeSidebar();
  newChat({ push: true });
});

els.picker.addEventListener("change", () => {
  try {
    localStorage.setItem("chat.assistant", els.picker.value);
  } catch {
    // Storage can be disabled; the choice then lasts for this page only.
  }
  renderPicker();
  updateComposer();
});

// --- Sending ---------------------------------------------------------------------------------

function newClientMessageId() {
  const random = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  return `c-${random}`;
}

function send() {
  const text = els.input.value;
  if ((!text.trim() && !attachments.ready.length) || els.send.disabled) return;
  const clientMessageId = newClientMessageId();
  let frame;
  if (state.current) {
    frame = { type: "message.send", conversation_id: state.current.id, text, client_message_id: clientMessageId };
  } else {
    const assistant = selectedAssistant();
    if (!assistant) return;
    frame = { type: "message.send", conversation_id: null, assistant_id: assistant.id, text, client_message_id: clientMessageId };
  }
  const files = attachments.ready.map((item) => item.upload);
  if (files.length) frame.attachments = files.map((upload) => upload.id);
  if (!socket.send(frame)) {
    showAlert("Not connected. Your message was not sent; it is still in the box.");
    return;
  }
  attachments.takeForSend();
  state.pendingSend = {
    clientMessageId, text, conversationId: state.current?.id ?? null, connection: state.connection,
    attachments: files,
  };
  if (!state.current) state.pendingNew = { clientMessageId, adopted: false };
  transcript.addOptimistic(text, clientMessageId, files);
  els.input.value = "";
  forgetDraft(state.current?.id);
  autoGrow();
  renderEmptyState();
  updateComposer();
}

function rollBackSend() {
  const pending = state.pendingSend;
  if (!pending) return;
  transcript.removeOptimistic(pending.clientMessageId);
  if (!els.input.value.trim()) {
    els.input.value = pending.text;
    autoGrow();
    saveDraft();
  }
  if (pending.attachments?.length) attachments.restore(pending.attachments, pending.conversationId ?? "new");
  state.pendingSend = null;
  state.pendingNew = null;
  renderEmptyState();
  updateComposer();
}

/** Regenerate the last reply (also "Retry" on a failed one). */
function regenerate() {
  if (!state.current) return false;
  if (!socket.send({ type: "message.regenerate", conversation_id: state.current.id })) {
    showAlert("Not connected. Try again once the connection is back.");
    return false;
  }
  return true;
}

/** Replace the last user message (and its reply) with `text`. */
function sendEdit(messageId, text, attachmentIds = null) {
  if (!state.current || (!text.trim() && !attachmentIds?.length)) return false;
  if (codePointLength(text) > data.max_message_chars) {
    showAlert(`The message is longer than ${data.max_message_chars.toLocaleString()} characters.`);
    return false;
  }
  const clientMessageId = newClientMessageId();
  const frame = {
    type: "message.edit", conversation_id: state.current.id, message_id: messageId, text,
    client_message_id: clientMessageId,
  };
  if (attachmentIds) frame.attachments = attachmentIds;
  if (!socket.send(frame)) {
    showAlert("Not connected. Your edit was not sent.");
    return false;
  }
  state.pendingEdit = { messageId, clientMessageId };
  return true;
}

els.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});
els.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
els.input.addEventListener("input", () => {
  autoGrow();
  updateComposer();
  saveDraft();
});
els.stop.addEventListener("click", () => {
  if (!state.current) return;
  if (socket.send({ type: "turn.stop", conversation_id: state.current.id })) {
    state.stopping = true;
    updateComposer();
  }
});

function focusComposer() {
  // On touch screens focusing would pop the keyboard over the transcript.
  if (window.matchMedia("(pointer: fine)").matches) els.input.focus();
}

// --- Socket frames ---------------------------------------------------------------------------

const isCurrent = (conversationId) => state.current !== null && state.current.id === conversationId;

const frameHandlers = {
  "conversation.snapshot"(frame) {
    if (!isCurrent(frame.conversation.id)) return; // the user moved on before it arrived
    state.current = frame.conversation;
    const pending = state.pendingSend;
    // Re-opened after a reconnect (not a fresh open): the reader keeps their place.
    transcript.setMessages(frame.messages, { preserveScroll: !transcript.isEmpty });
    if (pending && pending.conversationId === frame.conversation.id) {
      if (pending.connection === state.connection) {
        // Sent on this connection, its echo is still on the way: keep showing it.
        transcript.addOptimistic(pending.text, pending.clientMessageId, pending.attachments);
      } else {
        // Sent just before the connection dropped: if the server never saved it, give it back.
        const saved = frame.messages.some((m) => m.role === "user" && m.content === pending.text);
        state.pendingSend = null;
        if (!saved && !els.input.value.trim()) {
          els.input.value = pending.text;
          if (pending.attachments?.length) attachments.restore(pending.attachments, frame.conversation.id);
          autoGrow();
          showAlert("Your last message was not sent. It is back in the box.", { kind: "info" });
        }
      }
    }
    if (sidebar.get(frame.conversation.id)) sidebar.upsert(frame.conversation);
    renderHeader();
    updateComposer();
  },

  "conversation.created"(frame) {
    sidebar.upsert(frame.conversation);
    // The event carries no client id; a tab waiting for its new conversation takes the first
    // one announced, and message.created (which echoes our client_message_id) corrects the
    // rare wrong guess when two tabs create conversations at the same moment.
    if (state.pendingNew && !state.pendingNew.adopted && state.current === null) adopt(frame.conversation);
  },

  "conversation.updated"(frame) {
    sidebar.upsert(frame.conversation);
    if (isCurrent(frame.conversation.id)) {
      state.current = frame.conversation;
      renderHeader();
    }
  },

  "conversation.deleted"(frame) {
    const id = frame.conversation_id;
    sidebar.remove(id);
    if (isCurrent(id)) {
      const mine = state.deletingIds.has(id);
      newChat({ push: true });
      if (!mine) showAlert("This conversation was deleted in another window.", { kind: "info" });
    }
    forgetDraft(id);
    attachments.forget(id);
  },

  "message.deleted"(frame) {
    if (isCurrent(frame.conversation_id)) transcript.removeMessages(frame.message_ids);
  },

  "message.created"(frame) {
    const message = frame.message;
    const clientId = frame.client_message_id;
    if (state.pendingEdit && clientId === state.pendingEdit.clientMessageId) state.pendingEdit = null;
    if (state.pendingNew && clientId === state.pendingNew.clientMessageId) {
      if (!isCurrent(message.conversation_id)) {
        adopt(sidebar.get(message.conversation_id) || {
          id: message.conversation_id,
          title: "",
          assistant: selectedAssistant() && { id: selectedAssistant().id, name: selectedAssistant().name },
          created_at: message.created_at,
          updated_at: message.created_at,
        });
      }
      state.pendingNew = null;
    }
    if (!isCurrent(message.conversation_id)) return;
    if (state.pendingSend && clientId === state.pendingSend.clientMessageId) state.pendingSend = null;
    transcript.upsert(message, clientId);
    updateComposer();
  },

  // A delta past our text ("gap") or for a reply we do not know yet ("unknown": it arrived
  // between conversation.open and its snapshot) is dropped: right after the snapshot the
  // server sends one delta at offset 0 with everything streamed so far, and message.done
  // carries the final content and tool steps in any case.
  "message.delta"(frame) {
    if (isCurrent(frame.conversation_id)) transcript.applyDelta(frame);
  },

  "message.tool_step"(frame) {
    if (isCurrent(frame.conversation_id)) transcript.applyToolStep(frame);
  },

  // Sent before the text that carries its [n] marker, so the marker is a button at once.
  "message.citation"(frame) {
    if (isCurrent(frame.conversation_id)) transcript.applyCitation(frame);
  },

  "message.file"(frame) {
    if (isCurrent(frame.conversation_id)) transcript.applyFile(frame);
  },

  "message.done"(frame) {
    if (!isCurrent(frame.message.conversation_id)) return;
    transcript.finish(frame.message);
    state.stopping = false;
    updateComposer();
  },

  error(frame) {
    const forCurrent = frame.conversation_id === undefined || frame.conversation_id === null
      || isCurrent(frame.conversation_id);
    let message = frame.message || "Something went wrong.";
    if (frame.code === "rate_limited" && frame.retry_after) {
      message = `${message} (Try again in ${Math.ceil(frame.retry_after)} s.)`;
    }
    if (state.pendingEdit && forCurrent && EDIT_REFUSALS.has(frame.code)) {
      transcript.revertEdit(state.pendingEdit.messageId);
      state.pendingEdit = null;
    } else if (state.pendingSend && forCurrent && SEND_REFUSALS.has(frame.code)) {
      rollBackSend();
    } else if (frame.code === "not_found" && state.current && isCurrent(frame.conversation_id)) {
      newChat({ push: true });
      message = "That conversation does not exist (or is not yours).";
    } else if (frame.code === "not_running") {
      state.stopping = false;
      updateComposer();
      return; // the reply had already ended: nothing the user needs to read
    }
    if (frame.code === "provider_error" && forCurrent) {
      // message.done already shows the reason under the reply; do not say it twice.
      const shown = transcript.messages.some((m) => m.error && m.error === frame.message);
      if (shown) return;
    }
    if (!forCurrent) return;
    showAlert(message);
  },
};

// --- Connection ------------------------------------------------------------------------------

let connectionNoticeTimer = null;

const socket = new ChatSocket(data.urls.socket, {
  onOpen(reconnected) {
    state.connection += 1;
    // An edit in flight when the connection dropped: the snapshot shows whether it was saved.
    state.pendingEdit = null;
    if (state.current) {
      socket.send({ type: "conversation.open", conversation_id: state.current.id });
    }
    if (state.pendingNew && !state.pendingNew.adopted) {
      // The socket closed before the server answered: we cannot know if it was created.
      rollBackSend();
    }
    // Sidebar events may have been missed while offline.
    if (reconnected) loadConversations();
    updateComposer();
  },
  onFrame(frame) {
    const handler = frameHandlers[frame.type];
    if (handler) handler(frame);
  },
  onState(connectionState, retryInMs) {
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
    updateComposer();
  },
  onGiveUp() {
    // An expired session makes the API answer 401, which sends the user to the login page.
    apiGet(data.urls.conversations).then((result) => {
      if (result.status === 401) goToLogin();
    });
  },
});

// --- Small screens: the sidebar as a drawer --------------------------------------------------

function openSidebar() {
  els.app.classList.add("sidebar-open");
  els.backdrop.hidden = false;
  els.sidebarToggle.setAttribute("aria-expanded", "true");
  // The drawer is modal: Tab and screen readers stay in it until it closes.
  els.main.inert = true;
  els.newChat.focus();
}

function closeSidebar() {
  if (!els.app.classList.contains("sidebar-open")) return;
  els.app.classList.remove("sidebar-open");
  els.backdrop.hidden = true;
  els.sidebarToggle.setAttribute("aria-expanded", "false");
  els.main.inert = false;
}

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
    closeSidebar();
    els.sidebarToggle.focus();
  }
});

// --- Start -----------------------------------------------------------------------------------

function restorePicker() {
  let saved = null;
  try {
    saved = localStorage.getItem("chat.assistant");
  } catch {
    saved = null;
  }
  if (saved && assistants.has(Number(saved))) els.picker.value = saved;
}

restorePicker();
sidebar.setPage(data.conversations, data.next_cursor, "", data.pinned);
sidebar.setCurrent(state.current?.id ?? null);
transcript.setAssistantName(state.current?.assistant?.name);
transcript.setMessages(data.messages);
renderPicker();
renderHeader();
restoreDraft();
updateComposer();
socket.connect();
focusComposer();
