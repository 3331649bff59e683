// The theme (system, light or dark), applied before the first paint: a classic script at
// the end of <head> (no inline script, so a strict CSP holds). The user menu changes it
// through window.chatTheme; localStorage keeps it.
(function () {
  "use strict";
  var KEY = "chat.theme";
  var THEMES = ["system", "light", "dark"];

  function saved() {
    try {
      var value = localStorage.getItem(KEY);
      return THEMES.indexOf(value) >= 0 ? value : "system";
    } catch (e) {
      return "system";
    }
  }

  function apply(theme) {
    var root = document.documentElement;
    if (theme === "light" || theme === "dark") root.setAttribute("data-theme", theme);
    else root.removeAttribute("data-theme");
    // Stylesheets made for one scheme (highlight.js's) follow the choice.
    var links = document.querySelectorAll("link[data-scheme]");
    for (var i = 0; i < links.length; i += 1) {
      var scheme = links[i].getAttribute("data-scheme");
      links[i].media = theme === "system"
        ? "(prefers-color-scheme: " + scheme + ")"
        : (scheme === theme ? "all" : "not all");
    }
  }

  window.chatTheme = {
    themes: THEMES,
    get: saved,
    set: function (theme) {
      if (THEMES.indexOf(theme) < 0) return;
      try {
        if (theme === "system") localStorage.removeItem(KEY);
        else localStorage.setItem(KEY, theme);
      } catch (e) {
        // Storage can be disabled: the theme then lasts for this page.
      }
      apply(theme);
    },
  };
  apply(saved());
})();
