// A call of an organisation's MCP tool (toolservers): the server and tool, the arguments,
// the approval it waited for, and the result as the server gave it: text, images inline
// (data: URLs of the PNG/JPEG the tool returned), resources as links. Built with DOM nodes
// only (no innerHTML, no inline styles), so it works under the page's CSP.

import { el } from "../elements.js";

const APPROVALS = {
  pending: ["Waiting for your approval", "is-waiting"],
  approved: ["Approved", "is-approved"],
  denied: ["Denied", "is-failed"],
  timed_out: ["Not approved in time", "is-failed"],
  cancelled: ["Stopped", "is-failed"],
};
// Image types a browser shows and that carry no script (an SVG could).
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

export function mcpLabel(step) {
  const info = step.details || {};
  const name = el("code", "", `${info.server || "mcp"} › ${info.tool || step.name}`);
  if (info.status === "waiting") return ["Wants to use ", name];
  if (info.status === "running") return ["Calling ", name, "…"];
  if (info.status === "not_run") return ["Did not run ", name];
  return ["Used ", name];
}

export function mcpBody(step, body) {
  const info = step.details || {};
  const approval = APPROVALS[info.approval];
  if (approval) body.append(el("span", `tool-badge mcp-approval ${approval[1]}`, approval[0]));
  if (step.arguments) body.append(el("span", "tool-label", "Arguments"), el("pre", "", step.arguments));
  const content = Array.isArray(info.content) ? info.content : [];
  if (!content.length && !step.output) return;
  body.append(el("span", "tool-label", "Result"));
  if (!content.length) {
    body.append(el("pre", step.output.startsWith("Error:") ? "is-error" : "", step.output));
    return;
  }
  const failed = info.status === "failed";
  for (const part of content) body.append(contentNode(part, failed));
}

function contentNode(part, failed) {
  if (part.type === "image" && IMAGE_TYPES.has(part.mime_type) && typeof part.data === "string") {
    const img = el("img", "mcp-image");
    img.src = `data:${part.mime_type};base64,${part.data}`;
    img.alt = "An image the tool returned";
    return img;
  }
  if (part.type === "resource") {
    const name = part.name || part.uri || "resource";
    if (part.link && /^https?:\/\//.test(part.link)) {
      const link = el("a", "mcp-resource", name);
      link.href = part.link;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      return link;
    }
    return el("span", "mcp-resource", `${name} (${part.uri || ""})`);
  }
  return el("pre", failed ? "is-error" : "", part.text ?? "");
}
