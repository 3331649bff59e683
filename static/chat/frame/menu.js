// A menu button as the WAI-ARIA pattern has it: the button says aria-haspopup="menu" and
// aria-expanded; the menu (role="menu") opens on click, Enter, Space or the arrow keys,
// moves with the arrows, Home and End, closes on Escape, Tab or a click outside, and gives
// the focus back to its button. The items are built each time it opens, from the state of
// then (a conversation's pin, the chosen theme).

import { el, icon } from "../elements.js";

let openMenu = null;

/**
 * @typedef {{label: string, description?: string, icon?: string, badge?: string,
 *   href?: string, download?: boolean, checked?: boolean, danger?: boolean,
 *   onSelect?: () => void} | {separator: true} | {heading: string}} MenuItem
 */

export class Menu {
  /**
   * @param {HTMLButtonElement} button
   * @param {() => MenuItem[]} items
   * @param {{label?: string, className?: string, placement?: "below" | "above",
   *          returnFocus?: () => HTMLElement}} options  returnFocus: where the focus goes
   *          back to (by default the button; a sidebar row's is not a tab stop: its link).
   */
  constructor(button, items, { label = "", className = "", placement = "below", returnFocus = null } = {}) {
    this.button = button;
    this.returnFocus = returnFocus || (() => this.button);
    this.items = items;
    this.placement = placement;
    this.menu = el("div", `menu ${className}`.trim());
    this.menu.setAttribute("role", "menu");
    this.menu.hidden = true;
    this.menu.id = `menu-${Math.random().toString(36).slice(2, 9)}`;
    if (label) this.menu.setAttribute("aria-label", label);
    document.body.append(this.menu);
    button.setAttribute("aria-haspopup", "menu");
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", this.menu.id);

    button.addEventListener("click", (event) => {
      event.preventDefault();
      event.stopPropagation();
      if (this.isOpen) this.close();
      // A click with the keyboard (Enter, Space) is detail 0: the first item gets the focus.
      else this.open({ focus: event.detail === 0 ? "first" : "menu" });
    });
    button.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        this.open({ focus: event.key === "ArrowDown" ? "first" : "last" });
      }
    });
    this.menu.addEventListener("keydown", (event) => this.onKey(event));
    this.menu.addEventListener("click", (event) => this.onClick(event));
  }

  get isOpen() {
    return !this.menu.hidden;
  }

  /** Opens it for `anchor` (by default its button), focusing the first item, the last one,
   * or the menu itself (a pointer opened it: no ring on an item). */
  open({ focus = "first", anchor = this.button } = {}) {
    if (openMenu && openMenu !== this) openMenu.close({ refocus: false });
    this.anchor = anchor;
    this.render();
    this.menu.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    openMenu = this;
    this.position();
    const items = this.menuItems();
    if (focus === "last") items.at(-1)?.focus();
    else if (focus === "first") (items.find((i) => i.getAttribute("aria-checked") === "true") || items[0])?.focus();
    else {
      this.menu.tabIndex = -1;
      this.menu.focus();
    }
    setTimeout(() => document.addEventListener("pointerdown", this.outside, true));
  }

  outside = (event) => {
    if (!this.menu.contains(event.target) && !this.button.contains(event.target)) this.close({ refocus: false });
  };

  close({ refocus = true } = {}) {
    if (!this.isOpen) return;
    this.menu.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", this.outside, true);
    if (openMenu === this) openMenu = null;
    if (refocus) this.returnFocus()?.focus();
  }

  render() {
    this.menu.replaceChildren();
    for (const item of this.items()) {
      if (item.separator) {
        const line = el("div", "menu-separator");
        line.setAttribute("role", "separator");
        this.menu.append(line);
        continue;
      }
      if (item.heading) {
        const heading = el("div", "menu-heading", item.heading);
        heading.setAttribute("role", "presentation");
        this.menu.append(heading);
        continue;
      }
      const node = item.href ? el("a", "menu-item") : el("button", "menu-item");
      if (item.href) {
        node.href = item.href;
        if (item.download) node.setAttribute("download", "");
      } else {
        node.type = "button";
      }
      node.tabIndex = -1;
      const radio = typeof item.checked === "boolean";
      node.setAttribute("role", radio ? "menuitemradio" : "menuitem");
      if (radio) node.setAttribute("aria-checked", String(item.checked));
      if (item.danger) node.classList.add("is-danger");
      if (item.badge !== undefined) {
        const badge = el("span", "menu-badge", item.badge);
        badge.setAttribute("aria-hidden", "true");
        node.append(badge);
      } else if (item.icon) {
        node.append(icon(item.icon));
      }
      const text = el("span", "menu-text");
      text.append(el("span", "menu-label", item.label));
      if (item.description) text.append(el("span", "menu-description", item.description));
      node.append(text);
      if (radio) {
        const check = icon("check");
        check.classList.add("menu-check");
        node.append(check);
      }
      node.menuItem = item;
      this.menu.append(node);
    }
  }

  position() {
    const rect = this.anchor.getBoundingClientRect();
    const menu = this.menu;
    menu.style.position = "fixed";
    menu.style.visibility = "hidden";
    menu.style.left = "0px";
    menu.style.top = "0px";
    const { width, height } = menu.getBoundingClientRect();
    const margin = 8;
    let left = Math.min(rect.left, window.innerWidth - width - margin);
    left = Math.max(margin, left);
    const below = rect.bottom + 4;
    const above = rect.top - height - 4;
    let top = this.placement === "above" ? above : below;
    if (top + height > window.innerHeight - margin) top = above;
    if (top < margin) top = Math.min(below, window.innerHeight - height - margin);
    menu.style.left = `${Math.round(left)}px`;
    menu.style.top = `${Math.round(Math.max(margin, top))}px`;
    menu.style.visibility = "";
  }

  menuItems() {
    return [...this.menu.querySelectorAll(".menu-item")];
  }

  onKey(event) {
    const items = this.menuItems();
    const index = items.indexOf(document.activeElement);
    const go = (i) => items[(i + items.length) % items.length]?.focus();
    switch (event.key) {
      case "ArrowDown": go(index + 1); break;
      case "ArrowUp": go(index < 0 ? items.length - 1 : index - 1); break;
      case "Home": go(0); break;
      case "End": go(items.length - 1); break;
      case "Escape":
        event.stopPropagation();
        this.close();
        break;
      case "Tab":
        this.close({ refocus: false });
        return; // the focus moves on as Tab would from the button
      default: {
        // Type-ahead: the next item starting with the letter.
        if (event.key.length === 1 && /\S/.test(event.key)) {
          const letter = event.key.toLowerCase();
          const start = index + 1;
          for (let k = 0; k < items.length; k += 1) {
            const item = items[(start + k) % items.length];
            if (item.textContent.trim().toLowerCase().startsWith(letter)) {
              item.focus();
              break;
            }
          }
        }
        return;
      }
    }
    event.preventDefault();
  }

  onClick(event) {
    const node = event.target.closest(".menu-item");
    if (!node) return;
    const item = node.menuItem;
    // A link (an export) goes on as a link; the menu closes behind it.
    this.close();
    if (!item.href) {
      event.preventDefault();
      item.onSelect?.();
    }
  }
}

export function closeOpenMenu() {
  if (!openMenu) return false;
  openMenu.close();
  return true;
}
