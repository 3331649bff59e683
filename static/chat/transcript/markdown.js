// Model output -> sanitised HTML. The vendored UMD builds of marked, DOMPurify and highlight.js
// (loaded with <script defer> before this module) provide the globals used here.
//
// Two layers, so that neither alone has to be perfect:
// 1. marked renders raw HTML blocks and inline tags as *text*: a model that writes
//    "<img onerror=...>" shows those characters, it never gets an element.
// 2. DOMPurify sanitises the result anyway (no scripts, handlers, javascript: URLs, forms,
//    styles), and every link opens in a new tab with rel="noopener noreferrer". The only
//    classes that survive are highlight.js's token classes on <span> and <code>.

const { marked, DOMPurify, hljs } = globalThis;

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const SAFE_URL = /^(?:https?:|mailto:|#|\/(?!\/))/i;
// Code interpreter output is linked as sandbox:/mnt/data/<name> (the provider's path).
const SANDBOX_LINK = /^sandbox:\/mnt\/data\/(.+)$/i;

/**
 * Set by renderMarkdown for the duration of one synchronous marked.parse: maps a sandbox
 * file name to the site's download URL of that output file (or null).
 */
let resolveSandboxFile = () => null;

function sandboxFileName(href) {
  const match = SANDBOX_LINK.exec(href || "");
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/** Code with highlight.js token spans when the fence names a language it knows. */
function highlightCode(text, lang) {
  const language = (lang || "").trim().split(/\s+/)[0].toLowerCase();
  if (hljs && language && hljs.getLanguage(language)) {
    try {
      const html = hljs.highlight(text, { language, ignoreIllegals: true }).value;
      return { html, language };
    } catch {
      // Fall through to plain text: a highlighter bug must never hide the code.
    }
  }
  return { html: escapeHtml(text), language: /^[\w+#.-]{1,30}$/.test(language) ? language : "" };
}

marked.use({
  gfm: true,
  breaks: true,
  renderer: {
    code({ text, lang }) {
      const { html, language } = highlightCode(text, lang);
      const cls = language ? ` class="hljs language-${escapeHtml(language)}"` : ' class="hljs"';
      return `<pre><code${cls}>${html}\n</code></pre>\n`;
    },
    html({ text }) {
      return escapeHtml(text);
    },
    // A produced file's link goes to the site's copy of it (a download); a file the site
    // does not know (yet, while streaming) is shown as the link's text, never as a link to
    // nowhere. Other links get marked's default rendering (false).
    link({ href, tokens }) {
      const name = sandboxFileName(href);
      if (name === null) return false;
      const text = this.parser.parseInline(tokens);
      const url = resolveSandboxFile(name);
      if (!url || !SAFE_URL.test(url)) return text;
      return `<a href="${escapeHtml(url)}" download="${escapeHtml(name)}">${text}</a>`;
    },
    // Remote images in model output can leak data through their URL (and cost bandwidth):
    // show them as links the user can choose to open.
    image({ href, text }) {
      const label = escapeHtml(text || href || "image");
      const name = sandboxFileName(href);
      if (name !== null) {
        // The image itself shows under the reply (the output files); here, a link to it.
        const url = resolveSandboxFile(name);
        return url && SAFE_URL.test(url) ? `<a href="${escapeHtml(url)}">🖼 ${label}</a>` : label;
      }
      if (!href || !SAFE_URL.test(href)) return label;
      return `<a href="${escapeHtml(href)}">🖼 ${label}</a>`;
    },
  },
});

const TOKEN_CLASS = /^(?:hljs(?:-[\w-]+)?|language-[\w+#.-]+|[a-z]+_)$/;

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.hasAttribute && node.hasAttribute("class")) {
    const kept = node.tagName === "SPAN" || node.tagName === "CODE"
      ? node.getAttribute("class").split(/\s+/).filter((c) => TOKEN_CLASS.test(c))
      : [];
    if (kept.length) node.setAttribute("class", kept.join(" "));
    else node.removeAttribute("class");
  }
  if (node.tagName === "A") {
    const href = node.getAttribute("href");
    if (href && !SAFE_URL.test(href.trim())) node.removeAttribute("href");
    const sameSite = /^\/(?!\/)/.test((node.getAttribute("href") || "").trim());
    if (node.hasAttribute("download") && sameSite) {
      // A download of one of the site's own files (a produced file): it stays in this tab.
      node.removeAttribute("target");
    } else {
      node.removeAttribute("download");
      node.setAttribute("target", "_blank");
    }
    node.setAttribute("rel", "noopener noreferrer");
  }
});

const PURIFY_CONFIG = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option", "img",
    "video", "audio", "source", "picture", "iframe", "object", "embed", "svg", "math"],
  FORBID_ATTR: ["style", "id", "srcset"],
  ALLOW_DATA_ATTR: false,
};

/**
 * Markdown source -> an HTML string that is safe to assign to innerHTML.
 * @param {{sandboxFile?: (name: string) => string|null}} options sandboxFile maps a
 *   `sandbox:/mnt/data/<name>` link to the site URL of that output file.
 */
export function renderMarkdown(source, { sandboxFile = () => null } = {}) {
  resolveSandboxFile = sandboxFile;
  let html;
  try {
    html = marked.parse(source ?? "", { async: false });
  } finally {
    resolveSandboxFile = () => null;
  }
  return DOMPurify.sanitize(html, PURIFY_CONFIG);
}

/** One block of code (not markdown) -> highlighted, sanitised HTML for a <code> element. */
export function renderCode(text, language) {
  const { html } = highlightCode(text ?? "", language);
  return DOMPurify.sanitize(html, PURIFY_CONFIG);
}
