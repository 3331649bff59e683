// The page's shared state: the data the server embedded (json_script "chat-data"), the
// elements the page script drives, what this tab is doing, and the parts (sidebar,
// attachments, transcript, socket) that chat.js makes once at start.

export const data = JSON.parse(document.getElementById("chat-data").textContent);

export const $ = (id) => document.getElementById(id);
export const els = {
  app: $("app"),
  sidebar: $("sidebar"),
  main: $("main"),
  sidebarToggle: $("sidebar-toggle"),
  sidebarClose: $("sidebar-close"),
  backdrop: $("backdrop"),
  newChat: $("new-chat"),
  assistantButton: $("assistant-button"),
  search: $("search"),
  title: $("conversation-title"),
  connection: $("connection"),
  emptyState: $("empty-state"),
  emptyAssistant: $("empty-assistant"),
  starters: $("starters"),
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

export const assistants = new Map(data.assistants.map((a) => [a.id, a]));
export const conversationUrl = (id) => data.urls.conversation.replace("{id}", String(id));

export const state = {
  /** The open conversation (payload), or null on the "new chat" screen. */
  current: data.conversation,
  /** {clientMessageId, text, conversationId, attachments} until the server echoes the message. */
  pendingSend: null,
  /** {clientMessageId, adopted} while a new conversation started by this tab is being created. */
  pendingNew: null,
  /** {messageId, clientMessageId} from sending an edit until the server answers. */
  pendingEdit: null,
  /** The assistant of the next new chat (restoreAssistant, chooseAssistant). */
  assistantId: null,
  stopping: false,
  deletingIds: new Set(),
  searchSeq: 0,
  /** Counts socket connections, to tell a send from before a reconnect from a recent one. */
  connection: 0,
};

// Live bindings: every module sees the parts once chat.js has made them (before anything
// runs that uses them).
export let sidebar = null;
export let attachments = null;
export let transcript = null;
export let socket = null;

export function setParts(parts) {
  ({ sidebar, attachments, transcript, socket } = parts);
}

export function selectedAssistant() {
  return assistants.get(state.assistantId) || null;
}
