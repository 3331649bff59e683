// What the server sends over the socket (docs/websocket-protocol.md), applied to the page;
// and what the page does when the socket opens, drops or gives up.

import { apiGet, goToLogin } from "./api.js";
import { autoGrow, rollBackSend, updateComposer } from "../composer/composer.js";
import { adopt, loadConversations, newChat } from "../sidebar/navigation.js";
import { attachments, data, els, selectedAssistant, sidebar, socket, state, transcript } from "../page.js";
import { renderHeader, showAlert, showConnection } from "../shell.js";
import { COMPOSER_REFUSALS, noteRefusal } from "../composer/refusals.js";
import { approvalCards } from "../transcript/approval_card.js";

// Refusals that mean "your message was not saved": it goes back into the box.
const SEND_REFUSALS = new Set(["busy", "empty", "too_long", "rate_limited", "not_found", "invalid", "bad_frame",
  "bad_attachment", ...COMPOSER_REFUSALS]);
// Refusals of an edit: the message shows its saved text again.
const EDIT_REFUSALS = new Set([...SEND_REFUSALS, "not_last"]);

const isCurrent = (conversationId) => state.current !== null && state.current.id === conversationId;

const frameHandlers = {
  "conversation.snapshot"(frame) {
    if (!isCurrent(frame.conversation.id)) return; // the user moved on before it arrived
    state.current = frame.conversation;
    const pending = state.pendingSend;
    // Merged into what is shown (the page's messages, or those before a reconnect): nothing
    // unchanged is painted again, the reader keeps their place and the older messages
    // they loaded.
    transcript.mergeSnapshot(frame.messages, { hasOlder: frame.has_older });
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
    approvalCards.fromMessages(frame.conversation.id, frame.messages);
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
    // Its draft and files stay until the undo window closes (navigation.js forgets them).
  },

  "conversation.restored"(frame) {
    // Undo, in this tab or another: back in the sidebar where its activity puts it.
    sidebar.upsert(frame.conversation);
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

  // MCP calls waiting for the owner: shown in every tab, whatever conversation it has open.
  "tool.approval_requested"(frame) {
    approvalCards.request(frame);
  },

  "tool.approval_decided"(frame) {
    approvalCards.decided(frame);
  },

  error(frame) {
    if (approvalCards.takeError(frame)) return; // the card says it
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
    if (noteRefusal(frame)) return; // the composer's notice says it
    showAlert(message);
  },
};

/** The socket's handlers (socket.js). */
export const socketHandlers = {
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
    showConnection(connectionState, retryInMs);
    updateComposer();
  },
  onGiveUp() {
    // An expired session makes the API answer 401, which sends the user to the login page.
    apiGet(data.urls.conversations).then((result) => {
      if (result.status === 401) goToLogin();
    });
  },
};
