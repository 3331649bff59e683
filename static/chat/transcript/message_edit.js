// Editing the last user message in place: its bubble becomes a form with its text and the
// files it carried; Enter (or Send) resends it, Escape cancels. transcript.js decides which
// message may be edited and paints the message again when the editing ends.

import { el, icon } from "../elements.js";
import { fileBadge, formatBytes } from "./file_chips.js";

/**
 * Puts the editor in the message's bubble and focuses it.
 * @param {object} entry the transcript's entry of a saved user message
 * @param {{send: (text: string, attachmentIds: number[]|null) => boolean,
 *          close: (refocus: boolean) => void,
 *          sent: () => void}} handlers send says whether the edit went out; close ends the
 *   editing; sent follows close once the entry shows the edit as sending.
 */
export function openEditor(entry, { send, close, sent }) {
  const item = entry._el;
  const body = item.querySelector(".msg-body");
  const form = el("form", "msg-edit");
  const label = el("label", "visually-hidden", "Edit your message");
  const input = el("textarea");
  input.id = `edit-${entry.id}`;
  label.htmlFor = input.id;
  input.value = entry.content;
  input.rows = Math.min(10, Math.max(2, entry.content.split("\n").length));
  // The message's files stay with the edit unless removed here (the server keeps the
  // ones whose ids the edit lists again).
  let kept = [...entry.attachments];
  const files = el("ul", "attach-list msg-edit-files");
  files.setAttribute("aria-label", "Attached files");
  const renderFiles = () => {
    files.replaceChildren(...kept.map((file) => {
      const chip = el("li", "attach-chip is-done");
      const text = el("span", "attach-text");
      text.append(el("span", "attach-name", file.name), el("span", "attach-meta", formatBytes(file.size)));
      const remove = el("button", "icon-btn attach-remove");
      remove.type = "button";
      remove.setAttribute("aria-label", `Remove ${file.name}`);
      remove.append(icon("x"));
      remove.addEventListener("click", () => {
        const index = kept.indexOf(file);
        kept = kept.filter((f) => f !== file);
        renderFiles();
        (files.querySelectorAll(".attach-remove")[Math.min(index, kept.length - 1)] || input).focus();
      });
      chip.append(fileBadge(file.name), text, remove);
      return chip;
    }));
    files.hidden = kept.length === 0;
  };
  renderFiles();
  const buttons = el("div", "msg-edit-actions");
  const cancel = el("button", "btn btn-small btn-ghost", "Cancel");
  cancel.type = "button";
  const save = el("button", "btn btn-small btn-primary", "Send");
  save.type = "submit";
  buttons.append(cancel, save);
  form.append(label, files, input, buttons);
  body.replaceChildren(form);
  body.hidden = false; // a message of files alone has its bubble hidden
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);

  const submit = () => {
    const text = input.value;
    if (!text.trim() && !kept.length) return;
    const filesChanged = kept.length !== entry.attachments.length;
    if (text === entry.content && !filesChanged) {
      close(true);
      return;
    }
    // Only a message that had files lists them (an old server may not know the field).
    const ids = entry.attachments.length ? kept.map((f) => f.id) : null;
    if (!send(text, ids)) return;
    // Shown at once; message.deleted then message.created replace it with the saved one.
    entry._previous = entry.content;
    entry._previousAttachments = entry.attachments;
    entry.content = text;
    entry.attachments = kept;
    entry.status = "sending";
    close(false);
    sent();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  cancel.addEventListener("click", () => close(true));
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    }
  });
}

/** The server refused an edit: the saved text and files come back. False when none was sent. */
export function undoEdit(entry) {
  if (entry._previous === undefined) return false;
  entry.content = entry._previous;
  entry.attachments = entry._previousAttachments || entry.attachments;
  delete entry._previous;
  delete entry._previousAttachments;
  entry.status = "complete";
  return true;
}
