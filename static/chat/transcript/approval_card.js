// Approval cards: an MCP call that acts waits for the conversation's owner
// (docs/websocket-protocol.md, tool.approval_requested). Every tab of the owner shows the
// card above the composer, whichever conversation it has open; Approve or Deny sends
// `tool.decide`, and `tool.approval_decided` (from this tab, another, or the timeout) takes
// it down everywhere. A tab opened later finds the waiting calls in the transcript's steps.
// DOM nodes and classes only (no inline script, handler or style), for the page's CSP.

import { el, icon } from "../elements.js";

const ERRORS = new Set(["already_decided", "not_found", "invalid"]);

class ApprovalCards {
  constructor() {
    this.cards = new Map(); // call id -> {node, request}
    this.deciding = null; // the call id of the decision sent last, until it is answered
    this.tray = null;
    this.send = null;
  }

  /** Puts the tray before `anchor` (the alerts above the composer); `send` a socket frame. */
  mount(anchor, send) {
    this.tray = el("section", "approval-tray");
    this.tray.setAttribute("aria-label", "Tool calls waiting for your approval");
    this.tray.hidden = true;
    anchor.before(this.tray);
    this.send = send;
  }

  /** A call waits (a live frame, or a waiting step found in a snapshot). */
  request(request) {
    if (!this.tray || this.cards.has(request.call_id)) return;
    const card = el("article", "approval-card");
    // A group, not a dialog: it must not take the focus from someone typing in the composer.
    card.setAttribute("role", "group");
    card.setAttribute("aria-label", `Approve ${request.server} › ${request.tool}?`);
    const head = el("div", "approval-head");
    head.append(icon("tool"), el("span", "approval-title", "Approve this tool call?"));
    const name = el("p", "approval-tool");
    name.append("The assistant wants to use ", el("code", "", `${request.server} › ${request.tool}`), ".");
    const args = el("pre", "approval-arguments", prettyArguments(request.arguments));
    args.tabIndex = 0;
    args.setAttribute("aria-label", "Arguments");
    const actions = el("div", "approval-actions");
    const approve = el("button", "btn btn-primary btn-small", "Approve");
    const deny = el("button", "btn btn-small", "Deny");
    for (const [button, decision] of [[approve, "approve"], [deny, "deny"]]) {
      button.type = "button";
      button.dataset.decision = decision;
      button.addEventListener("click", () => this.decide(request, decision, card));
    }
    const note = el("p", "approval-note");
    note.setAttribute("aria-live", "polite");
    actions.append(approve, deny);
    card.append(head, name, el("span", "tool-label", "Arguments"), args, actions, note);
    this.cards.set(request.call_id, { node: card, request });
    this.tray.append(card);
    this.tray.hidden = false;
  }

  decide(request, decision, card) {
    for (const button of card.querySelectorAll("button")) button.disabled = true;
    this.deciding = request.call_id;
    this.send({
      type: "tool.decide",
      conversation_id: request.conversation_id,
      call_id: request.call_id,
      decision,
    });
  }

  /** The decision was made (here, elsewhere, or by the clock): the card goes. */
  decided(frame) {
    const entry = this.cards.get(frame.call_id);
    if (this.deciding === frame.call_id) this.deciding = null;
    if (!entry) return;
    entry.node.remove();
    this.cards.delete(frame.call_id);
    this.tray.hidden = this.cards.size === 0;
  }

  /** Waiting calls in a conversation's messages (a snapshot, the page's first data). */
  fromMessages(conversationId, messages) {
    for (const message of messages || []) {
      for (const step of message.tool_steps || []) {
        if (step.type !== "mcp" || step.details?.approval !== "pending") continue;
        if (message.status !== "streaming" && message.status !== "pending") continue;
        this.request({
          conversation_id: conversationId,
          message_id: message.id,
          call_id: step.id,
          server: step.details.server,
          tool: step.details.tool,
          arguments: step.arguments,
        });
      }
    }
  }

  /** An error answering our last decision: the card says why and goes. True if it was. */
  takeError(frame) {
    if (this.deciding === null || !ERRORS.has(frame.code)) return false;
    const entry = this.cards.get(this.deciding);
    this.deciding = null;
    if (entry) {
      entry.node.querySelector(".approval-note").textContent = frame.message;
      const node = entry.node;
      const callId = entry.request.call_id;
      setTimeout(() => this.decided({ call_id: callId }), 4000);
      node.classList.add("is-closed");
    }
    return true;
  }
}

function prettyArguments(text) {
  try {
    return JSON.stringify(JSON.parse(text || "{}"), null, 2);
  } catch {
    return text || "";
  }
}

export const approvalCards = new ApprovalCards();
