// Choosing the assistant where users look: a menu on the header's assistant name and on the
// empty state's card, each assistant with its icon, name and description, and the chosen
// one's starter prompts as cards. An open conversation keeps its assistant (its thread
// belongs to it): its menu offers "New chat with ..." instead.

import { el } from "../elements.js";
import { assistants, els, selectedAssistant, state } from "../page.js";
import { Menu } from "./menu.js";

/** What stands for an assistant: its icon (an emoji or letters), else its first letter. */
export function assistantBadge(assistant) {
  if (!assistant) return "?";
  return assistant.icon || (assistant.name.trim()[0] || "?").toUpperCase();
}

function badgeElement(assistant, className = "assistant-badge") {
  const badge = el("span", className, assistantBadge(assistant));
  badge.setAttribute("aria-hidden", "true");
  return badge;
}

function pickerItems(onChoose) {
  const list = [...assistants.values()];
  const current = state.current;
  if (current) {
    const items = [{ heading: `This chat stays with ${current.assistant?.name || "its assistant"}` }];
    for (const assistant of list) {
      items.push({
        label: `New chat with ${assistant.name}`,
        description: assistant.description,
        badge: assistantBadge(assistant),
        onSelect: () => onChoose(assistant.id),
      });
    }
    return items;
  }
  return list.map((assistant) => ({
    label: assistant.name,
    description: assistant.description,
    badge: assistantBadge(assistant),
    checked: assistant.id === state.assistantId,
    onSelect: () => onChoose(assistant.id),
  }));
}

let headerMenu = null;
let emptyMenu = null;

/** Makes both menus; `onChoose(id)` starts a new chat with that assistant. */
export function bindAssistantPicker({ onChoose, onStarter }) {
  headerMenu = new Menu(els.assistantButton, () => pickerItems(onChoose), {
    label: "Assistants", className: "assistant-menu",
  });
  emptyMenu = new Menu(els.emptyAssistant, () => pickerItems(onChoose), {
    label: "Assistants", className: "assistant-menu",
  });
  els.starters.addEventListener("click", (event) => {
    const card = event.target.closest(".starter");
    if (card) onStarter(card.dataset.prompt);
  });
}

/** The header's button: the chosen assistant of a new chat, or the conversation's. */
export function renderAssistantButton() {
  const current = state.current;
  const assistant = current
    ? (current.assistant && (assistants.get(current.assistant.id) || current.assistant))
    : selectedAssistant();
  const name = assistant ? assistant.name : current ? "Assistant removed" : "No assistant";
  const label = els.assistantButton.querySelector(".assistant-name");
  label.textContent = name;
  els.assistantButton.querySelector(".assistant-badge").textContent = assistantBadge(assistant);
  els.assistantButton.title = current ? "Start a conversation with another assistant" : "Choose the assistant";
  els.assistantButton.disabled = assistants.size === 0;
}

/** The empty state's card (the chosen assistant) and its starter prompts. */
export function renderEmptyAssistant() {
  const assistant = selectedAssistant();
  const card = els.emptyAssistant;
  card.replaceChildren();
  els.starters.replaceChildren();
  if (!assistant) {
    card.disabled = true;
    card.append(el("span", "empty-assistant-text", "No assistants are available yet. Ask an administrator to add one."));
    return;
  }
  card.disabled = assistants.size < 2;
  const text = el("span", "empty-assistant-text");
  text.append(el("span", "empty-assistant-name", assistant.name));
  if (assistant.description) text.append(el("span", "empty-assistant-description", assistant.description));
  card.append(badgeElement(assistant, "assistant-badge assistant-badge-large"), text);
  if (assistants.size > 1) {
    const chevron = el("span", "empty-assistant-change", "Change");
    chevron.setAttribute("aria-hidden", "true");
    card.append(chevron);
  }

  for (const prompt of assistant.starter_prompts || []) {
    const item = el("li");
    const starter = el("button", "starter", prompt);
    starter.type = "button";
    starter.dataset.prompt = prompt;
    item.append(starter);
    els.starters.append(item);
  }
  els.starters.hidden = els.starters.children.length === 0;
}

export function closeAssistantMenus() {
  headerMenu?.close({ refocus: false });
  emptyMenu?.close({ refocus: false });
}
