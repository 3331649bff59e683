// The chat page's modules, in the order the page ran them when it listed them one by one:
// the page itself, then sharing and feedback (modules of their own beside it, see each
// file's head). With CHAT_JS_BUNDLE (the default when DEBUG is off) the page loads
// static/chat/dist/chat_page.js, this file and everything it imports in one request, which
// `make bundle` writes with esbuild; otherwise this file, and the browser fetches the rest.
import "./chat.js";
import "./share/share_dialog.js";
import "./feedback/feedback.js";
