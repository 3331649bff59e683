// Cited passages as a reader wants them: clean text (a file's markdown is not shown as
// "# Travel policy ... ## Office hours"), and the sentence that the reply's words match
// marked, so the eye lands on it.

import { el } from "../elements.js";

const LINE_MARKERS = /^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+|\|)/;

/** The passage without markdown: headings, quotes, list markers, emphasis, links, code
 * marks and table pipes go; its lines are kept as sentences of one paragraph. */
export function plainQuote(text) {
  const lines = [];
  for (let line of String(text || "").split(/\r?\n/)) {
    if (/^\s*(```|~~~|[-*_]{3,}\s*$|\|?\s*:?-{3,})/.test(line)) continue; // fences, rules, table rules
    while (LINE_MARKERS.test(line)) line = line.replace(LINE_MARKERS, "");
    line = line
      .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1/g, "$2")
      .replace(/(^|[^\w*])\*(?=\S)(.+?)(?<=\S)\*(?!\*)/g, "$1$2")
      .replace(/`+([^`]*)`+/g, "$1")
      .replace(/\s*\|\s*/g, " · ")
      .replace(/\s+/g, " ")
      .trim();
    if (line) lines.push(/[.!?:;…]$/.test(line) ? line : `${line}.`);
  }
  return lines.join(" ");
}

function sentences(text) {
  return text.match(/[^.!?…]+(?:[.!?…]+|$)\s*/g) || [text];
}

const words = (text) => new Set((text.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) || []));

/** The sentence of `passage` that shares the most words with `context` (the reply's words
 * before the marker); null when none shares any. */
export function matchedSentence(passage, context) {
  const wanted = words(context || "");
  if (!wanted.size) return null;
  let best = null;
  let bestScore = 0;
  for (const sentence of sentences(passage)) {
    let score = 0;
    for (const word of words(sentence)) if (wanted.has(word)) score += 1;
    if (score > bestScore) {
      best = sentence;
      bestScore = score;
    }
  }
  return best;
}

/** Fills `target` with the clean passage, its matched sentence in a <mark>. */
export function fillQuote(target, quote, context) {
  const passage = plainQuote(quote);
  const sentence = matchedSentence(passage, context);
  target.replaceChildren();
  if (!sentence) {
    target.textContent = passage;
    return;
  }
  const at = passage.indexOf(sentence);
  const trimmed = sentence.trimEnd();
  target.append(passage.slice(0, at), el("mark", "", trimmed), passage.slice(at + trimmed.length));
}

/** The reply's words just before a citation marker: the sentence it ends. */
export function markerContext(button) {
  const block = button.closest("p, li, td, blockquote, h1, h2, h3, h4") || button.parentElement;
  if (!block) return "";
  const range = document.createRange();
  range.selectNodeContents(block);
  range.setEndBefore(button);
  const before = range.toString().replace(/\[\d{1,3}\]/g, " ");
  const parts = before.split(/(?<=[.!?])\s+/).filter((p) => p.trim().length > 2);
  return parts.at(-1) || before;
}
