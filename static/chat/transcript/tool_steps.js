// The steps a reply took before (or while) writing: function calls the site ran, file
// searches and code runs the provider ran, and the note that older messages were left out
// of what was sent (a `context` step, where the site holds the thread). Each is a collapsible <details>; a step that is
// still running says so in its summary.
//
// Steps are re-rendered with the reply while it streams, so which ones the reader opened is
// remembered by step id (`open`), or every new token would fold them shut again.

import { el, icon } from "../elements.js";
import { renderCode } from "./markdown.js";
import { mcpBody, mcpLabel } from "./mcp_step.js";

const RUNNING_STATES = new Set(["in_progress", "searching", "interpreting"]);

/** A step still at work: its status says so, or (a function call) it has no output yet. */
export function stepIsRunning(step) {
  const status = step.details?.status;
  if (status) return RUNNING_STATES.has(status);
  return step.output === null || step.output === undefined;
}

function spinner() {
  const spin = el("span", "spinner");
  spin.setAttribute("aria-hidden", "true");
  return spin;
}

/**
 * @param {Array<object>} steps the message's tool_steps
 * @param {{live: boolean, open: Set<string>}} options live: the reply is still streaming
 */
export function renderToolSteps(steps, { live, open }) {
  const wrap = el("div", "tool-steps");
  for (const step of steps) {
    let details;
    if (step.type === "code_interpreter") details = codeStep(step, live);
    else if (step.type === "file_search") details = searchStep(step, live);
    else if (step.type === "context") details = contextStep(step);
    else if (step.type === "mcp") details = mcpStep(step, live);
    else details = functionStep(step, live);
    details.dataset.stepId = step.id;
    if (open.has(step.id)) details.open = true;
    details.addEventListener("toggle", () => {
      if (details.open) open.add(step.id);
      else open.delete(step.id);
    });
    wrap.append(details);
  }
  return wrap;
}

function stepShell(kind, iconName, label, { running, failed }) {
  const details = el("details", `tool-step tool-step-${kind}`);
  details.classList.toggle("is-running", running);
  details.classList.toggle("is-failed", failed);
  const summary = el("summary");
  summary.append(running ? spinner() : icon(iconName));
  const text = el("span", "tool-summary-text");
  text.append(...label);
  summary.append(text);
  if (failed) summary.append(el("span", "tool-badge is-failed", "Error"));
  const chevron = icon("chevron");
  chevron.classList.add("tool-chevron");
  summary.append(chevron);
  const body = el("div", "tool-body");
  details.append(summary, body);
  return { details, body };
}

// --- The context budget ----------------------------------------------------------------

function contextStep(step) {
  const omitted = step.details?.omitted ?? 0;
  const label = [`${omitted} older message${omitted === 1 ? "" : "s"} left out`];
  const { details, body } = stepShell("context", "alert", label, { running: false, failed: false });
  body.append(el("p", "", step.output || ""));
  return details;
}

// --- Function tools (chat.tools) ---------------------------------------------------------

function functionStep(step, live) {
  const running = live && !step.output;
  const failed = typeof step.output === "string" && step.output.startsWith("Error:");
  const label = [running ? "Calling " : "Used ", el("code", "", step.name || "a tool"), running ? "…" : ""];
  const { details, body } = stepShell("function", "tool", label, { running, failed: false });
  if (step.arguments) body.append(el("span", "tool-label", "Arguments"), el("pre", "", step.arguments));
  if (step.output) body.append(el("span", "tool-label", "Result"), el("pre", failed ? "is-error" : "", step.output));
  return details;
}

// --- MCP tools (toolservers) -------------------------------------------------------------

function mcpStep(step, live) {
  const status = step.details?.status;
  const running = live && (status === "running" || status === "waiting");
  const { details, body } = stepShell("mcp", "tool", mcpLabel(step), { running, failed: status === "failed" });
  mcpBody(step, body);
  return details;
}

// --- File search ------------------------------------------------------------------------

function searchStep(step, live) {
  const info = step.details || {};
  const results = Array.isArray(info.results) ? info.results : [];
  const queries = (Array.isArray(info.queries) ? info.queries : []).filter((q) => typeof q === "string" && q);
  const running = live && stepIsRunning(step) && !results.length;
  const label = running
    ? ["Searching files…"]
    : [`Searched files`, el("span", "tool-count", results.length === 1 ? "1 result" : `${results.length} results`)];
  const { details, body } = stepShell("search", "search", label, { running, failed: info.status === "failed" });
  if (queries.length) {
    body.append(el("span", "tool-label", queries.length === 1 ? "Query" : "Queries"));
    const list = el("ul", "search-queries");
    for (const query of queries) list.append(el("li", "", query));
    body.append(list);
  }
  if (results.length) {
    body.append(el("span", "tool-label", "Results"));
    const list = el("ol", "search-results");
    for (const result of results) {
      const item = el("li", "search-result");
      const head = el("div", "search-result-head");
      head.append(el("span", "search-result-name", result.filename || result.file_id || "file"));
      if (typeof result.score === "number") {
        const score = el("span", "search-result-score", result.score.toFixed(2));
        score.title = "Relevance score";
        head.append(score);
      }
      item.append(head);
      if (result.text) item.append(el("p", "search-result-text", result.text));
      list.append(item);
    }
    body.append(list);
  } else if (!running) {
    body.append(el("p", "tool-empty", "Nothing in the files matched."));
  }
  return details;
}

// --- Code interpreter -------------------------------------------------------------------

const CODE_STATES = {
  in_progress: "Writing code…",
  interpreting: "Running code…",
};

function codeStep(step, live) {
  const info = step.details || {};
  const status = info.status || (stepIsRunning(step) ? "interpreting" : "completed");
  const logs = typeof info.logs === "string" ? info.logs : (step.output || "");
  const failed = status === "failed" || status === "incomplete" || /^Error:/m.test(logs);
  const running = live && RUNNING_STATES.has(status);
  // A failure shows as the red "Error" badge next to the label (stepShell).
  const label = [running ? CODE_STATES[status] || "Running code…" : "Ran code"];
  const { details, body } = stepShell("code", "code", label, { running, failed });

  const code = el("div", "code-block tool-code");
  const head = el("div", "code-head");
  head.append(el("span", "code-lang", "python"));
  const copy = el("button", "msg-action has-text");
  copy.type = "button";
  copy.dataset.action = "copy-code";
  copy.title = "Copy code";
  copy.append(icon("copy"), el("span", "", "Copy code"));
  head.append(copy);
  const pre = el("pre");
  const codeEl = el("code", "hljs language-python");
  codeEl.innerHTML = renderCode(info.code || step.arguments || "", "python");
  pre.append(codeEl);
  code.append(head, pre);
  body.append(el("span", "tool-label", "Code"), code);

  if (logs || !running) {
    body.append(el("span", "tool-label", "Output"));
    const output = el("pre", failed ? "tool-logs is-error" : "tool-logs", logs || "(no output)");
    output.tabIndex = 0; // scrollable: reachable and scrollable by keyboard
    output.setAttribute("aria-label", "Output");
    body.append(output);
  }
  return details;
}
