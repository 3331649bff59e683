// The user menu in the sidebar's footer: the theme (system, light, dark; theme.js applies
// and remembers it), the user's pages, and signing out (the hidden logout form: a POST with
// its CSRF token).

import { data } from "../page.js";
import { Menu } from "./menu.js";

const THEME_LABELS = { system: "System theme", light: "Light theme", dark: "Dark theme" };

export function bindUserMenu(button, logoutForm) {
  const theme = window.chatTheme;
  return new Menu(button, () => [
    { heading: "Theme" },
    ...theme.themes.map((name) => ({
      label: THEME_LABELS[name],
      checked: theme.get() === name,
      onSelect: () => theme.set(name),
    })),
    { separator: true },
    { label: "Usage", icon: "chart", href: data.urls.usage },
    { label: "Sign out", icon: "logout", onSelect: () => logoutForm.requestSubmit() },
  ], { label: "Account", className: "user-menu", placement: "above" });
}
