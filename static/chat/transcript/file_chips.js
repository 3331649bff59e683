// Files as the page shows them: chips (name, size, a download link), image thumbnails and
// the full-size image viewer. Shared by the composer's tray and the transcript.

import { el, icon } from "../elements.js";

/** "820 B", "14 KB", "2.3 MB": binary units, as file managers show them. */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, "") : Math.round(value)} ${units[unit]}`;
}

/** The lower-case extension without its dot ("" when there is none). */
export function extensionOf(name) {
  const match = /\.([^./\\]+)$/.exec(name || "");
  return match ? match[1].toLowerCase() : "";
}

/**
 * A URL the server gave for one of its files, or null. Only same-site paths: a payload
 * is data, and a file link must never lead off the site (or run script).
 */
export function siteUrl(url) {
  return typeof url === "string" && /^\/(?!\/)/.test(url) ? url : null;
}

const INLINE_IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/** An image the browser may show inline: the server's flag, else its type (never SVG). */
export function isInlineImage(file) {
  if (typeof file.is_image === "boolean") return file.is_image;
  return INLINE_IMAGES.has(file.content_type);
}

/** A file's badge: its extension on a small tile, like a file manager's icon. */
export function fileBadge(name) {
  const badge = el("span", "file-badge");
  badge.setAttribute("aria-hidden", "true");
  const ext = extensionOf(name);
  if (ext && ext.length <= 4) badge.textContent = ext;
  else badge.append(icon("file"));
  return badge;
}

/**
 * A chip for a stored file: a download link when it has a URL, else plain. `name` is set
 * with textContent everywhere: file names are user data.
 */
export function downloadChip(file) {
  const url = siteUrl(file.url);
  const chip = el(url ? "a" : "span", "file-chip");
  if (url) {
    chip.href = url;
    chip.setAttribute("download", file.name || "");
    chip.title = `Download ${file.name}`;
  }
  const text = el("span", "file-chip-text");
  text.append(el("span", "file-chip-name", file.name || "file"));
  const size = formatBytes(file.size);
  if (size) text.append(el("span", "file-chip-meta", size));
  chip.append(fileBadge(file.name), text);
  if (url) {
    const download = icon("download");
    download.classList.add("file-chip-action");
    chip.append(download);
  }
  return chip;
}

/** A thumbnail that opens the full-size viewer; `loading=lazy` keeps long transcripts light. */
export function imageThumb(file, className = "image-thumb") {
  const url = siteUrl(file.url);
  const button = el("button", className);
  button.type = "button";
  button.dataset.action = "view-image";
  button.dataset.url = url || "";
  button.dataset.name = file.name || "";
  button.setAttribute("aria-label", `Open image ${file.name || ""} full size`);
  const img = el("img");
  img.alt = file.name || "Image";
  img.loading = "lazy";
  img.decoding = "async";
  if (url) img.src = url;
  button.append(img);
  return button;
}

// --- The full-size image viewer: one <dialog> for the page --------------------------------

let viewer = null;

function buildViewer() {
  const dialog = el("dialog", "image-viewer");
  dialog.setAttribute("aria-label", "Image");
  const bar = el("div", "image-viewer-bar");
  const title = el("span", "image-viewer-title");
  const download = el("a", "btn btn-small image-viewer-download");
  download.append(icon("download"), el("span", "", "Download"));
  const close = el("button", "icon-btn image-viewer-close");
  close.type = "button";
  close.setAttribute("aria-label", "Close image");
  close.append(icon("x"));
  bar.append(title, download, close);
  const img = el("img");
  dialog.append(bar, img);
  close.addEventListener("click", () => dialog.close());
  // A click on the dim backdrop (the dialog itself, outside the image and bar) closes it.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  document.body.append(dialog);
  return { dialog, title, download, img };
}

/** Opens an image full size; <dialog>.showModal gives focus trapping and Escape for free. */
export function openImageViewer(url, name, opener) {
  const safe = siteUrl(url);
  if (!safe) return;
  viewer ??= buildViewer();
  viewer.title.textContent = name || "";
  viewer.dialog.setAttribute("aria-label", name ? `Image: ${name}` : "Image");
  viewer.img.src = safe;
  viewer.img.alt = name || "Image";
  viewer.download.href = safe;
  viewer.download.setAttribute("download", name || "");
  viewer.dialog.addEventListener("close", () => opener?.focus(), { once: true });
  viewer.dialog.showModal();
  viewer.dialog.querySelector(".image-viewer-close").focus();
}
