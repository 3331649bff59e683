// Older messages of the open conversation, fetched as the reader scrolls up: the page and
// the socket's snapshot carry only the latest ones (CHAT_TRANSCRIPT_PAGE_SIZE), so a long
// conversation opens as fast as a short one. GET <urls.messages>?before=<first id shown>.

import { apiGet } from "../server/api.js";

// Fetch this far before the reader reaches the top, so that scrolling up rarely waits.
const PREFETCH_MARGIN_PX = 800;

export class HistoryLoader {
  /**
   * @param {{scroller: HTMLElement, box: HTMLElement, button: HTMLButtonElement}} els
   * @param {{transcript: object, conversationId: () => number|null, url: (id: number) => string,
   *          onError: (message: string) => void}} parts
   */
  constructor(els, parts) {
    Object.assign(this, els, parts);
    this.label = this.button.textContent;
    this.loading = false;
    this.observer = new IntersectionObserver(
      (entries) => {
        // Checked again: the notice can be stale once the transcript's own older messages
        // went in above (Transcript.paintUnpainted) and pushed this row far up.
        if (entries.some((entry) => entry.isIntersecting) && this.nearTop()) this.load();
      },
      { root: this.scroller, rootMargin: `${PREFETCH_MARGIN_PX}px 0px 0px 0px` },
    );
    this.observer.observe(this.box);
    // For the keyboard, and after a failed fetch.
    this.button.addEventListener("click", () => this.load());
  }

  /** The "Load earlier messages" row shows while the server has older messages. */
  update() {
    this.box.hidden = !this.transcript.hasOlder;
  }

  nearTop() {
    const top = this.scroller.getBoundingClientRect().top;
    return !this.box.hidden && this.box.getBoundingClientRect().bottom > top - PREFETCH_MARGIN_PX;
  }

  async load() {
    const transcript = this.transcript;
    const conversationId = this.conversationId();
    const first = transcript.messages.find((m) => m.id !== null);
    if (transcript.unpainted.length) {
      // The page's own older messages come first, then the server's if still near the top.
      transcript.paintUnpainted();
      if (this.nearTop()) this.load();
      return;
    }
    if (this.loading || !transcript.hasOlder || conversationId === null || !first) return;
    this.loading = true;
    const generation = transcript.generation;
    this.box.setAttribute("aria-busy", "true");
    this.button.textContent = "Loading earlier messages…";
    const { ok, data } = await apiGet(this.url(conversationId), { before: first.id });
    this.loading = false;
    this.box.setAttribute("aria-busy", "false");
    this.button.textContent = this.label;
    // Another conversation was opened, or a snapshot replaced the list, meanwhile.
    if (generation !== transcript.generation) return;
    if (!ok) {
      this.onError(data.error);
      return;
    }
    transcript.prependOlder(data.messages, { hasOlder: data.has_older });
    // The observer only tells of changes: a short page that leaves the top in view asks on.
    if (this.nearTop()) this.load();
  }
}
