// The share page (sharing/views.py shared_page): a conversation's frozen snapshot, painted
// by the chat page's own transcript (markdown, code, citations, tool steps, files), with
// nothing to send: no socket, no composer, and the actions that would change the
// conversation (regenerate, retry, edit) hidden by share.css.

import { Transcript } from "../transcript/transcript.js";

const data = JSON.parse(document.getElementById("share-data").textContent);
const $ = (id) => document.getElementById(id);

const transcript = new Transcript(
  { scroller: $("transcript"), list: $("messages"), jump: $("jump") },
  {
    onActivityChange: () => {},
    onRegenerate: () => false,
    onEdit: () => false,
    onReplyFinished: () => {},
  },
);
transcript.setAssistantName(data.assistant_name);
transcript.setMessages(data.messages);
// A reader starts at the beginning of what was shared, not at its end.
$("transcript").scrollTop = 0;
transcript.stick = false;
