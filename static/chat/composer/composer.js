// The composer: the message box with its draft per conversation, the Send and Stop buttons,
// and what it sends (a message, an edit, a regenerate).

import { assistants, attachments, data, els, selectedAssistant, socket, state, transcript } from "../page.js";
import { renderEmptyState, showAlert } from "../shell.js";
import { codePointLength } from "../transcript/transcript.js";
import { applyComposerRefusals } from "./refusals.js";

// --- Drafts: what is typed stays per conversation, across reloads -----------------------------

const draftKey = (conversationId) => `chat.draft.${conversationId ?? "new"}`;

export function saveDraft() {
  try {
    const key = draftKey(state.current?.id);
    if (els.input.value.trim()) localStorage.setItem(key, els.input.value);
    else localStorage.removeItem(key);
  } catch {
    // Storage can be full or disabled: drafts then last as long as the page.
  }
}

export function restoreDraft() {
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

export function forgetDraft(conversationId) {
  try {
    localStorage.removeItem(draftKey(conversationId));
  } catch {
    // See saveDraft.
  }
}

/** What the assistant of this chat can do with files (null when the page does not say). */
export function renderCapabilities() {
  const assistant = state.current
    ? assistants.get(state.current.assistant?.id) || null
    : selectedAssistant();
  const known = assistant && (typeof assistant.file_search === "boolean" || typeof assistant.code_interpreter === "boolean");
  attachments.setCapabilities(known ? {
    name: assistant.name, fileSearch: Boolean(assistant.file_search), codeInterpreter: Boolean(assistant.code_interpreter),
  } : null);
}

export function updateComposer() {
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
  applyComposerRefusals();
}

export function autoGrow() {
  els.input.style.height = "auto";
  els.input.style.height = `${els.input.scrollHeight}px`;
}

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

export function rollBackSend() {
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
export function regenerate() {
  if (!state.current) return false;
  if (!socket.send({ type: "message.regenerate", conversation_id: state.current.id })) {
    showAlert("Not connected. Try again once the connection is back.");
    return false;
  }
  return true;
}

/** Replace the last user message (and its reply) with `text`. */
export function sendEdit(messageId, text, attachmentIds = null) {
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

/** A starter prompt: sent as if typed (what was in the box is kept as the draft of nothing). */
export function sendPrompt(text) {
  els.input.value = text;
  autoGrow();
  updateComposer();
  send();
}

/** Stops the reply being written, as the Stop button does; false when there is none. */
export function stopReply() {
  if (els.stop.hidden || els.stop.disabled) return false;
  els.stop.click();
  return true;
}

export function focusComposer() {
  // On touch screens focusing would pop the keyboard over the transcript.
  if (window.matchMedia("(pointer: fine)").matches) els.input.focus();
}

export function bindComposer() {
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
}
