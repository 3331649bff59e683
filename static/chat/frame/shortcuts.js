// Keyboard shortcuts of the page, and the "?" sheet that lists them. None fires while the
// user types in a field, except the ones with Ctrl (which no field uses) and Escape.

import { el } from "../elements.js";
import { sheetDialog } from "./dialogs.js";

const isMac = /Mac|iPhone|iPad/.test(navigator.platform);
const CTRL = isMac ? "⌘" : "Ctrl";

export const SHORTCUTS = [
  { keys: [CTRL, "K"], action: "Search conversations" },
  { keys: [CTRL, "Shift", "O"], action: "New chat" },
  { keys: ["Esc"], action: "Stop the reply being written" },
  { keys: ["Shift", "F10"], action: "Actions of the conversation in focus (sidebar)" },
  { keys: ["↑", "↓"], action: "Move along the conversations (sidebar)" },
  { keys: ["Enter"], action: "Send the message" },
  { keys: ["Shift", "Enter"], action: "New line in the message" },
  { keys: ["?"], action: "This list" },
];

function typing(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || target.matches("input, textarea, select"));
}

function shortcutsSheet() {
  const list = el("dl", "shortcuts");
  for (const { keys, action } of SHORTCUTS) {
    const term = el("dt");
    keys.forEach((key, i) => {
      if (i) term.append(" + ");
      term.append(el("kbd", "", key));
    });
    list.append(term, el("dd", "", action));
  }
  return sheetDialog({ title: "Keyboard shortcuts", content: list, className: "shortcuts-dialog" });
}

/**
 * @param {{search: () => void, newChat: () => void, stop: () => boolean}} actions
 *   stop() answers whether there was a reply to stop (else Escape is left alone).
 */
export function bindShortcuts(actions, sheetButton) {
  sheetButton.addEventListener("click", shortcutsSheet);
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || document.querySelector("dialog[open]")) return;
    const ctrl = isMac ? event.metaKey : event.ctrlKey;
    const key = event.key.toLowerCase();
    if (ctrl && !event.shiftKey && !event.altKey && key === "k") {
      event.preventDefault();
      actions.search();
    } else if (ctrl && event.shiftKey && !event.altKey && key === "o") {
      event.preventDefault();
      actions.newChat();
    } else if (event.key === "Escape" && actions.stop()) {
      event.preventDefault();
    } else if (event.key === "?" && !ctrl && !event.altKey && !typing(event.target)) {
      event.preventDefault();
      shortcutsSheet();
    }
  });
}
