// The composer's attachments: pick, drop or paste files; each uploads at once (POST
// /api/uploads/) and shows as a chip with its progress, then its size, or the reason it was
// refused. The message carries the ids of the uploads that finished.
//
// Each conversation (and the "new chat" screen) keeps its own tray, like the text draft:
// switching conversations mid-upload lets the upload finish into the tray it started in.
// Finished uploads are remembered in localStorage too, so a reload keeps them (the server
// keeps an upload until it is sent or removed).

import { apiDelete, apiUpload } from "../server/api.js";
import { el, icon } from "../elements.js";
import { extensionOf, fileBadge, formatBytes, isInlineImage, siteUrl } from "../transcript/file_chips.js";

const storageKey = (key) => `chat.draft-files.${key}`;

let nextLocalId = 1;

export class Attachments {
  /**
   * @param {{tray: HTMLElement, list: HTMLElement, note: HTMLElement, input: HTMLInputElement,
   *          button: HTMLButtonElement, dropTarget: HTMLElement, overlay: HTMLElement,
   *          paste: HTMLElement, live: HTMLElement}} els
   * @param {{limits: {maxBytes: number, extensions: string[], maxCount: number},
   *          uploadUrl: string, uploadDeleteUrl: (id: number|string) => string,
   *          onChange: () => void, onNotice: (message: string) => void}} options
   */
  constructor(els, options) {
    this.els = els;
    this.options = options;
    this.limits = options.limits;
    this.extensions = new Set(this.limits.extensions.map((e) => e.toLowerCase().replace(/^\./, "")));
    /** @type {Map<string, Array<object>>} tray per draft key */
    this.trays = new Map();
    this.key = "new";
    this.capabilities = null;

    if (this.extensions.size) {
      els.input.accept = [...this.extensions].map((e) => `.${e}`).join(",");
    }
    els.button.addEventListener("click", () => els.input.click());
    els.input.addEventListener("change", () => {
      this.addFiles([...els.input.files]);
      els.input.value = ""; // picking the same file again must fire "change" again
    });
    els.paste.addEventListener("paste", (event) => this.onPaste(event));
    this.setUpDropping();
  }

  // --- State -------------------------------------------------------------------------------

  get items() {
    if (!this.trays.has(this.key)) this.trays.set(this.key, this.load(this.key));
    return this.trays.get(this.key);
  }

  /** Uploads still on their way: the message cannot be sent before they finish. */
  get busy() {
    return this.items.some((item) => item.status === "uploading");
  }

  get ready() {
    return this.items.filter((item) => item.status === "done");
  }

  /** Shows the tray of another conversation's draft (`key`: its id, or "new"). */
  setKey(key) {
    this.key = String(key ?? "new");
    this.render();
  }

  /** What the chosen assistant can do with files; null when the page does not say. */
  setCapabilities(capabilities) {
    this.capabilities = capabilities;
    this.renderNote();
  }

  /** The finished uploads go with the message; the tray empties (refused chips too). */
  takeForSend() {
    const uploads = this.ready.map((item) => item.upload);
    for (const item of this.items) this.release(item);
    this.trays.set(this.key, []);
    this.save(this.key);
    this.render();
    return uploads;
  }

  /** A send the server refused: its uploads come back into the tray. */
  restore(uploads, key = this.key) {
    const tray = this.trayFor(String(key));
    const known = new Set(tray.filter((i) => i.upload).map((i) => i.upload.id));
    for (const upload of uploads) {
      if (!known.has(upload.id)) tray.push(this.doneItem(upload));
    }
    this.save(String(key));
    if (String(key) === this.key) this.render();
  }

  /** A new conversation was created from the "new chat" screen: its tray moves along. */
  rekey(from, to) {
    const source = this.trays.get(String(from));
    if (source && source.length && !(this.trays.get(String(to)) || []).length) {
      this.trays.set(String(to), source);
      this.trays.set(String(from), []);
      this.save(String(to));
      this.save(String(from));
    }
    if (this.key === String(from)) this.setKey(to);
  }

  /** A deleted conversation: its draft uploads go too. */
  forget(key) {
    const tray = this.trays.get(String(key)) ?? this.load(String(key));
    for (const item of tray) this.discard(item);
    this.trays.delete(String(key));
    try {
      localStorage.removeItem(storageKey(String(key)));
    } catch {
      // Storage disabled: nothing was saved.
    }
  }

  trayFor(key) {
    if (!this.trays.has(key)) this.trays.set(key, this.load(key));
    return this.trays.get(key);
  }

  doneItem(upload) {
    return {
      id: nextLocalId++, name: upload.name, size: upload.size, type: upload.content_type,
      status: "done", progress: 1, upload, error: "", chip: null, preview: null, abort: null,
    };
  }

  load(key) {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey(key)) || "[]");
      return Array.isArray(saved) ? saved.filter((u) => u && u.id !== undefined).map((u) => this.doneItem(u)) : [];
    } catch {
      return [];
    }
  }

  save(key) {
    const tray = this.trays.get(key) || [];
    const uploads = tray.filter((item) => item.status === "done").map((item) => item.upload);
    try {
      if (uploads.length) localStorage.setItem(storageKey(key), JSON.stringify(uploads));
      else localStorage.removeItem(storageKey(key));
    } catch {
      // Storage full or disabled: the tray then lasts as long as the page.
    }
  }

  // --- Adding files ------------------------------------------------------------------------

  /** Checks each file against the site's limits, then uploads the acceptable ones at once. */
  addFiles(files) {
    if (!files.length) return;
    const key = this.key;
    const tray = this.items;
    let room = this.limits.maxCount - tray.filter((i) => i.status !== "error").length;
    let skipped = 0;
    for (const file of files) {
      const error = this.precheck(file);
      if (!error && room <= 0) {
        skipped += 1;
        continue;
      }
      const item = {
        id: nextLocalId++, name: file.name || "pasted file", size: file.size, type: file.type,
        status: error ? "error" : "uploading", progress: 0, upload: null, error: error || "",
        chip: null, preview: null, abort: null,
      };
      // A local preview at once: the upload may take a while, the picture is already here.
      if (!error && isInlineImage({ content_type: file.type })) item.preview = URL.createObjectURL(file);
      tray.push(item);
      if (error) {
        this.announce(`${item.name} was not attached. ${error}`);
      } else {
        room -= 1;
        this.upload(item, file, key);
      }
    }
    if (skipped) {
      const max = this.limits.maxCount;
      this.options.onNotice(
        `A message can carry at most ${max} file${max === 1 ? "" : "s"}; ${skipped} ${skipped === 1 ? "was" : "were"} not attached.`,
      );
    }
    this.render();
    this.options.onChange();
  }

  precheck(file) {
    if (file.size === 0) return "The file is empty.";
    if (this.limits.maxBytes && file.size > this.limits.maxBytes) {
      return `Too large (${formatBytes(file.size)}); the limit is ${formatBytes(this.limits.maxBytes)}.`;
    }
    const ext = extensionOf(file.name);
    if (this.extensions.size && !this.extensions.has(ext)) {
      return ext
        ? `Files of type .${ext} cannot be attached.`
        : "Files without an extension (like .txt or .pdf) cannot be attached.";
    }
    return null;
  }

  upload(item, file, key) {
    const { done, abort } = apiUpload(this.options.uploadUrl, file, {
      onProgress: (fraction) => {
        item.progress = fraction;
        this.updateChip(item);
      },
    });
    item.abort = abort;
    done.then((result) => {
      item.abort = null;
      if (result.status === -1) return; // removed by the user while uploading
      const tray = this.trays.get(key) || [];
      const upload = result.data && result.data.upload;
      if (result.ok && upload && upload.id !== undefined) {
        item.status = "done";
        item.upload = upload;
        item.name = upload.name || item.name;
        item.size = upload.size ?? item.size;
        item.type = upload.content_type || item.type;
        this.announce(`${item.name} attached.`);
      } else {
        item.status = "error";
        item.error = (result.data && result.data.error) || "The upload failed.";
        this.announce(`${item.name} was not attached. ${item.error}`);
      }
      if (tray.includes(item)) this.save(key);
      if (key === this.key) this.updateChip(item);
      this.options.onChange();
    });
  }

  onPaste(event) {
    const files = [...(event.clipboardData?.files || [])];
    if (!files.length) return;
    // Copying from an office app puts both a picture and the text on the clipboard: the
    // text still goes into the box then, and only a bare file is taken over entirely.
    if (!event.clipboardData.types.includes("text/plain")) event.preventDefault();
    this.addFiles(files);
  }

  setUpDropping() {
    const { dropTarget, overlay } = this.els;
    let depth = 0;
    const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
    const hide = () => {
      depth = 0;
      overlay.hidden = true;
    };
    dropTarget.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      overlay.hidden = false;
    });
    dropTarget.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      overlay.hidden = false;
    });
    // dragleave fires for every child crossed; only the last one out hides the overlay.
    dropTarget.addEventListener("dragleave", (event) => {
      if (!hasFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) overlay.hidden = true;
    });
    dropTarget.addEventListener("drop", (event) => {
      if (!hasFiles(event) && !event.dataTransfer?.files?.length) return;
      event.preventDefault();
      hide();
      this.addFiles([...event.dataTransfer.files]);
      this.els.paste.focus();
    });
    // A file dropped next to the target must not make the browser navigate away to it.
    window.addEventListener("dragover", (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
    window.addEventListener("drop", (event) => {
      if (hasFiles(event)) event.preventDefault();
      hide();
    });
    window.addEventListener("dragend", hide);
  }

  // --- Removing ----------------------------------------------------------------------------

  remove(item) {
    const tray = this.items;
    const index = tray.indexOf(item);
    if (index < 0) return;
    tray.splice(index, 1);
    this.discard(item);
    this.save(this.key);
    this.announce(`${item.name} removed.`);
    // Focus stays in the tray (the next chip's remove button), else goes back to the box.
    this.render();
    const next = tray[index] || tray[index - 1];
    (next?.chip?.querySelector(".attach-remove") || this.els.paste).focus();
    this.options.onChange();
  }

  /** Stops an upload in flight or deletes a finished one that will not be sent. */
  discard(item) {
    if (item.abort) item.abort();
    if (item.status === "done" && item.upload) {
      apiDelete(this.options.uploadDeleteUrl(item.upload.id)); // a 404 (already gone) is fine
    }
    this.release(item);
  }

  release(item) {
    if (item.preview) URL.revokeObjectURL(item.preview);
    item.preview = null;
  }

  // --- Rendering ---------------------------------------------------------------------------

  render() {
    const items = this.items;
    this.els.list.replaceChildren(...items.map((item) => this.chipFor(item)));
    this.els.tray.hidden = items.length === 0;
    this.renderNote();
  }

  renderNote() {
    const note = this.els.note;
    const caps = this.capabilities;
    const show = caps && !caps.fileSearch && !caps.codeInterpreter && this.items.length > 0;
    note.hidden = !show;
    if (show) {
      note.textContent = `${caps.name || "This assistant"} has neither file search nor the code `
        + "interpreter turned on: it may not be able to read attached files.";
    }
  }

  chipFor(item) {
    if (!item.chip) {
      const chip = el("li", "attach-chip");
      const thumb = el("span", "attach-thumb");
      const text = el("span", "attach-text");
      const name = el("span", "attach-name", item.name);
      name.title = item.name;
      const meta = el("span", "attach-meta");
      text.append(name, meta);
      const progress = el("span", "attach-progress");
      progress.setAttribute("role", "progressbar");
      progress.setAttribute("aria-label", `Uploading ${item.name}`);
      progress.setAttribute("aria-valuemin", "0");
      progress.setAttribute("aria-valuemax", "100");
      const remove = el("button", "icon-btn attach-remove");
      remove.type = "button";
      remove.setAttribute("aria-label", `Remove ${item.name}`);
      remove.title = "Remove";
      remove.append(icon("x"));
      remove.addEventListener("click", () => this.remove(item));
      chip.append(thumb, text, progress, remove);
      item.chip = chip;
    }
    this.updateChip(item);
    return item.chip;
  }

  updateChip(item) {
    const chip = item.chip;
    if (!chip) return;
    chip.className = `attach-chip is-${item.status}`;
    chip.dataset.name = item.name;
    const thumb = chip.querySelector(".attach-thumb");
    const imageUrl = item.preview || (isInlineImage({ content_type: item.type }) && siteUrl(item.upload?.url));
    if (imageUrl && !thumb.querySelector("img")) {
      const img = el("img");
      img.alt = "";
      img.src = imageUrl;
      thumb.replaceChildren(img);
    } else if (!imageUrl && !thumb.firstChild) {
      thumb.replaceChildren(fileBadge(item.name));
    }
    const name = chip.querySelector(".attach-name");
    name.textContent = item.name;
    const meta = chip.querySelector(".attach-meta");
    const progress = chip.querySelector(".attach-progress");
    const percent = Math.round(item.progress * 100);
    if (item.status === "uploading") {
      meta.textContent = percent >= 100 ? "Processing…" : `Uploading… ${percent}%`;
      progress.hidden = false;
      progress.setAttribute("aria-valuenow", String(percent));
      progress.style.setProperty("--progress", `${percent}%`);
      progress.classList.toggle("is-indeterminate", percent >= 100);
    } else {
      progress.hidden = true;
      meta.textContent = item.status === "error" ? item.error : formatBytes(item.size);
    }
    chip.querySelector(".attach-remove").setAttribute(
      "aria-label", item.status === "uploading" ? `Cancel upload of ${item.name}` : `Remove ${item.name}`,
    );
  }

  announce(text) {
    const live = this.els.live;
    live.textContent = "";
    setTimeout(() => { live.textContent = text; }, 50);
  }
}
