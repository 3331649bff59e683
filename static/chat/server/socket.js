// One WebSocket per tab, reconnecting with exponential backoff (docs/websocket-protocol.md).

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const PING_EVERY_MS = 25_000;
const PONG_TIMEOUT_MS = 10_000;

export class ChatSocket {
  /**
   * @param {string} path e.g. "/ws/chat/"
   * @param {{onOpen: (reconnected: boolean) => void, onFrame: (frame: object) => void,
   *          onState: (state: "connecting"|"open"|"closed", retryInMs?: number) => void,
   *          onGiveUp?: () => void}} handlers
   */
  constructor(path, handlers) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = `${scheme}//${location.host}${path}`;
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.everOpened = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.failuresSinceOpen = 0;

    // Come back at once when the network or the tab does, instead of waiting out a backoff.
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    });
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.handlers.onState("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;

    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.failuresSinceOpen = 0;
      this.startPing();
      this.handlers.onState("open");
      this.handlers.onOpen(reconnected);
    });

    ws.addEventListener("message", (event) => {
      if (this.ws !== ws || typeof event.data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && frame.type === "pong") {
        clearTimeout(this.pongTimer);
        return;
      }
      this.handlers.onFrame(frame);
    });

    ws.addEventListener("close", (event) => {
      // 4401: the server closed us because the session ended (signed out elsewhere).
      if (event.code === 4401 && this.ws === ws && this.handlers.onGiveUp) this.handlers.onGiveUp();
      this.drop(ws);
    });
    // "error" is always followed by "close"; nothing to do here.
  }

  /** Forgets a socket that closed or stopped answering, and schedules the next attempt. */
  drop(ws) {
    if (this.ws !== ws) return;
    this.ws = null;
    this.stopPing();
    // A dead connection may take minutes to report "close"; do not wait for it.
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
    this.scheduleRetry();
  }

  scheduleRetry() {
    this.failuresSinceOpen += 1;
    // Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this.handlers.onState("closed", delay);
    if (this.failuresSinceOpen === 3 && this.handlers.onGiveUp) {
      // A handshake refused again and again is often an expired session: let the page check.
      this.handlers.onGiveUp();
    }
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.ws === null && this.retryTimer !== null) {
      this.attempt = 0;
      this.connect();
    }
  }

  /** Sends a frame; false when the socket is not open (the caller keeps the user's input). */
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      clearTimeout(this.pongTimer);
      // A connection that silently died (sleeping laptop, proxy) never fires "close" by
      // itself; no pong in time means it is gone.
      const ws = this.ws;
      this.pongTimer = setTimeout(() => this.drop(ws), PONG_TIMEOUT_MS);
    }, PING_EVERY_MS);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}
