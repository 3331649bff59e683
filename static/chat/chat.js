// The chat page: wires the sidebar, the transcript and the composer to the WebSocket
// (docs/websocket-protocol.md) and to the JSON API (chat/views.py).
//
// The page paints from the data embedded by the server (json_script "chat-data"), then the
// socket takes over: the snapshot it sends after conversation.open replaces the transcript,
// so a reconnect never duplicates anything.
//
// Beside this file: page.js holds the shared state and the parts made here; shell.js the
// frame around the conversation; elements.js el() and icon(). One folder per part of the page:
// transcript/ the message list and what paints a message; composer/ the message box, what it
// sends and its attachments; sidebar/ the list and moving between conversations
// (navigation.js); server/ the JSON API, the socket and what it brings (server_frames.js).

import { setLoginUrl } from "./server/api.js";
import { Attachments } from "./composer/attachments.js";
import {
  bindComposer, focusComposer, regenerate, renderCapabilities, restoreDraft, sendEdit, sendPrompt, stopReply,
  updateComposer,
} from "./composer/composer.js";
import {
  bindNavigation, chooseAssistant, deleteConversation, loadMoreConversations, newChat, openConversation,
  pinConversation, renameConversation, restoreAssistant,
} from "./sidebar/navigation.js";
import { bindAssistantPicker } from "./frame/assistant_picker.js";
import { bindShortcuts } from "./frame/shortcuts.js";
import { bindUserMenu } from "./frame/user_menu.js";
import { $, conversationUrl, data, els, setParts, state } from "./page.js";
import { socketHandlers } from "./server/server_frames.js";
import { announceReply, bindDrawer, closeSidebar, renderHeader, showAlert } from "./shell.js";
import { Sidebar } from "./sidebar/sidebar.js";
import { ChatSocket } from "./server/socket.js";
import { HistoryLoader } from "./transcript/history_loader.js";
import { Transcript } from "./transcript/transcript.js";
import { bindComposerRefusals } from "./composer/refusals.js";
import { approvalCards } from "./transcript/approval_card.js";

setLoginUrl(data.urls.login);

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

// --- The parts -------------------------------------------------------------------------------

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
    exportUrls: { markdown: data.urls.export_md, json: data.urls.export_json },
  },
);

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
    onStructureChange: () => olderMessages?.update(),
  },
);

const olderMessages = new HistoryLoader(
  { scroller: $("transcript"), box: $("older-messages"), button: $("older-messages-load") },
  {
    transcript,
    conversationId: () => state.current?.id ?? null,
    url: (id) => data.urls.messages.replace("{id}", encodeURIComponent(String(id))),
    onError: (message) => showAlert(`Earlier messages could not be loaded: ${message}`),
  },
);

const socket = new ChatSocket(data.urls.socket, socketHandlers);

setParts({ sidebar, attachments, transcript, socket });
approvalCards.mount(els.alerts, (frame) => socket.send(frame));
approvalCards.fromMessages(state.current?.id, data.messages);

bindNavigation();
bindComposer();
bindComposerRefusals(updateComposer);
bindDrawer();
bindAssistantPicker({ onChoose: chooseAssistant, onStarter: sendPrompt });
bindUserMenu($("user-button"), $("logout-form"));
bindShortcuts({
  search: () => {
    // On a phone the search is in the drawer.
    if (getComputedStyle(els.sidebarToggle).display !== "none") els.sidebarToggle.click();
    els.search.focus();
    els.search.select();
  },
  newChat: () => {
    closeSidebar();
    newChat({ push: true });
  },
  stop: stopReply,
}, $("shortcuts-button"));

// --- Start -----------------------------------------------------------------------------------

restoreAssistant();
sidebar.setPage(data.conversations, data.next_cursor, "", data.pinned);
sidebar.setCurrent(state.current?.id ?? null);
transcript.setAssistantName(state.current?.assistant?.name);
transcript.setMessages(data.messages, { hasOlder: data.has_older });
renderCapabilities();
renderHeader();
restoreDraft();
updateComposer();
focusComposer();
// After the first frame: the socket's snapshot, and what it may paint, wait until the
// page's own messages are on the screen (requestAnimationFrame runs before that paint).
requestAnimationFrame(() => setTimeout(() => socket.connect()));
