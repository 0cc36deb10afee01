// Adding images to a forming task: drop files or pick them, edit their names, upload them all.
// Each file is its own request (the API takes one image per call); a few run at once, and each
// row shows its own outcome, so one bad file does not hide the others.

import { api } from "./api.js";
import { bytes, h, plural } from "./dom.js";

const PARALLEL_UPLOADS = 3;

class StagedFile {
  constructor(file, onRemove) {
    this.file = file;
    this.done = false;
    this.name = h("input", { type: "text", class: "staged-name", value: file.name, maxlength: 255,
      "aria-label": `Name for ${file.name}` });
    this.state = h("span", { class: "state", role: "status" });
    this.remove = h("button", { type: "button", class: "link", title: "Remove from the list",
      "aria-label": `Remove ${file.name}`, onclick: () => onRemove(this) }, "✕");
    this.el = h("li", {}, this.name, h("span", { class: "size" }, bytes(file.size)), this.state, this.remove);
  }

  show(text, kind = "") {
    this.state.textContent = text;
    this.state.className = `state ${kind}`;
    this.el.dataset.state = kind || "busy";
  }

  async upload(taskId) {
    const name = this.name.value.trim();
    if (!name) return this.show("Give the image a name.", "error");
    const form = new FormData();
    form.append("file", this.file, this.file.name);
    form.append("name", name);
    this.name.disabled = this.remove.disabled = true;
    this.show("Uploading…");
    try {
      await api("POST", `/tasks/${taskId}/images`, { body: form });
      this.done = true;
      this.show("✓ Uploaded", "ok");
    } catch (err) {
      this.name.disabled = this.remove.disabled = false;
      this.show(`${err.title}: ${err.description}`, "error");
    }
  }
}

export class Uploader {
  // onUploaded(count) runs after a batch that added images; onBusy(flag) while one runs.
  constructor(taskId, { onUploaded, onBusy }) {
    this.taskId = taskId;
    this.onUploaded = onUploaded;
    this.onBusy = onBusy;
    this.staged = [];
    this.busy = false;
    this.list = h("ul", { id: "staged", class: "staged" });
    this.input = h("input", { id: "file-input", type: "file", multiple: true, accept: "image/jpeg,.jpg,.jpeg",
      class: "visually-hidden", onchange: () => { this.add(this.input.files); this.input.value = ""; } });
    this.zone = h("label", { id: "dropzone", class: "dropzone" }, this.input,
      "Drop JPEG images here, or ", h("span", { class: "link" }, "choose files"), ".",
      h("div", { class: "hint" }, "You can change each image's name before uploading."));
    for (const type of ["dragenter", "dragover"]) {
      this.zone.addEventListener(type, (e) => { e.preventDefault(); this.zone.classList.add("over"); });
    }
    this.zone.addEventListener("dragleave", () => this.zone.classList.remove("over"));
    this.zone.addEventListener("drop", (e) => {
      e.preventDefault();
      this.zone.classList.remove("over");
      this.add(e.dataTransfer.files);
    });
    this.button = h("button", { id: "upload-all", type: "button", class: "primary", onclick: () => this.uploadAll() });
    this.el = h("section", { id: "upload", class: "card" }, h("h2", {}, "Add images"), this.zone, this.list,
      h("div", { class: "row" }, this.button));
    this.refresh();
  }

  add(files) {
    for (const file of files) {
      const staged = new StagedFile(file, (s) => this.drop(s));
      this.staged.push(staged);
      this.list.append(staged.el);
    }
    this.refresh();
  }

  drop(staged) {
    this.staged = this.staged.filter((s) => s !== staged);
    staged.el.remove();
    this.refresh();
  }

  pending() {
    return this.staged.filter((s) => !s.done);
  }

  refresh() {
    const count = this.pending().length;
    this.button.textContent = this.busy ? "Uploading…" : `Upload ${plural(count, "image")}`;
    this.button.disabled = this.busy || count === 0;
    this.button.hidden = count === 0 && !this.busy;
  }

  async uploadAll() {
    const queue = this.pending();
    this.busy = true;
    this.onBusy(true);
    this.refresh();
    const worker = async () => {
      while (queue.length) await queue.shift().upload(this.taskId);
    };
    await Promise.all(Array.from({ length: PARALLEL_UPLOADS }, worker));
    const uploaded = this.staged.filter((s) => s.done);
    // Uploaded rows go (their images are in the grid now); failed ones stay with their reason.
    for (const s of uploaded) s.el.remove();
    this.staged = this.pending();
    this.busy = false;
    this.onBusy(false);
    this.refresh();
    if (uploaded.length) this.onUploaded(uploaded.length);
  }
}
