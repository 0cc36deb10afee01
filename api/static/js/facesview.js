// Every face of a finished task, cut out of its photo in the browser (a canvas), filtered by gender
// and age range, a page at a time. The faces come from the task's pages of done images, read only
// as far as the page shown needs, so the first page of a large task comes as fast as a small one's.

import { api } from "./api.js";
import { faceLabel, h, plural } from "./dom.js";
import { showError } from "./messages.js";
import { photo } from "./photos.js";

const PER_PAGE = 24;
const IMAGES_PER_READ = 100;
const THUMB_PX = 112;
const MARGIN = 0.2; // room around the box, so a face is seen with its hair and chin

function crop(bitmap, bbox) {
  const canvas = h("canvas", { width: THUMB_PX, height: THUMB_PX, class: "face-crop" });
  const pad = MARGIN * Math.max(bbox.width, bbox.height);
  const x = Math.max(0, bbox.x - pad);
  const y = Math.max(0, bbox.y - pad);
  const w = Math.min(bitmap.width, bbox.x + bbox.width + pad) - x;
  const hgt = Math.min(bitmap.height, bbox.y + bbox.height + pad) - y;
  if (w <= 0 || hgt <= 0) return canvas;
  const scale = Math.min(THUMB_PX / w, THUMB_PX / hgt);
  const context = canvas.getContext("2d");
  context.fillStyle = "#e5e7eb";
  context.fillRect(0, 0, THUMB_PX, THUMB_PX);
  context.drawImage(bitmap, x, y, w, hgt, (THUMB_PX - w * scale) / 2, (THUMB_PX - hgt * scale) / 2, w * scale, hgt * scale);
  return canvas;
}

export class FacesView {
  constructor(taskId) {
    this.taskId = taskId;
    this.gender = h("select", { id: "faces-gender", "aria-label": "Gender", onchange: () => this.reset() },
      h("option", { value: "" }, "Everyone"), h("option", { value: "female" }, "Women"),
      h("option", { value: "male" }, "Men"), h("option", { value: "unknown" }, "Unknown"));
    const age = (id, label) => h("input", { id, type: "number", min: 0, max: 150, step: 1, inputmode: "numeric",
      class: "age", "aria-label": label, onchange: () => this.reset() });
    this.minAge = age("faces-min-age", "Youngest age");
    this.maxAge = age("faces-max-age", "Oldest age");
    this.grid = h("div", { id: "faces-grid", class: "faces-grid" });
    this.info = h("span", { id: "faces-info", class: "muted" });
    this.prev = h("button", { id: "faces-prev", type: "button", disabled: true,
      onclick: () => { this.page -= 1; this.show(); } }, "← Previous");
    this.next = h("button", { id: "faces-next", type: "button", disabled: true,
      onclick: () => { this.page += 1; this.show(); } }, "Next →");
    this.el = h("section", { id: "faces-view", class: "card" }, h("h2", {}, "Faces"),
      h("div", { class: "row filters" }, this.gender,
        h("label", { class: "row" }, "Age from ", this.minAge), h("label", { class: "row" }, "to ", this.maxAge)),
      this.grid, h("div", { class: "pager" }, this.prev, this.info, this.next));
  }

  reset() {
    this.matches = [];
    this.imagesPage = 1;
    this.exhausted = false;
    this.page = 1;
    this.generation = (this.generation || 0) + 1;
    this.show();
  }

  wanted(face) {
    const min = Number.parseFloat(this.minAge.value);
    const max = Number.parseFloat(this.maxAge.value);
    // Ages are shown rounded, so "from 30 to 40" means what is shown as 30 to 40.
    const age = Math.round(face.age);
    return (!this.gender.value || face.gender === this.gender.value)
      && (Number.isNaN(min) || age >= min) && (Number.isNaN(max) || age <= max);
  }

  async gather(count, generation) {
    while (this.matches.length < count && !this.exhausted) {
      const query = new URLSearchParams({ status: "done", page: String(this.imagesPage),
        page_size: String(IMAGES_PER_READ) });
      const page = await api("GET", `/tasks/${this.taskId}/images?${query}`);
      if (generation !== this.generation) return;
      for (const image of page.items) {
        image.faces.forEach((face) => { if (this.wanted(face)) this.matches.push({ image, face }); });
      }
      this.imagesPage += 1;
      this.exhausted = page.items.length < IMAGES_PER_READ;
    }
  }

  async show() {
    const generation = this.generation;
    this.grid.dataset.loaded = "false";
    try {
      await this.gather(this.page * PER_PAGE + 1, generation);
    } catch (err) {
      showError(err);
      return;
    }
    if (generation !== this.generation) return;
    const first = (this.page - 1) * PER_PAGE;
    const shown = this.matches.slice(first, first + PER_PAGE);
    const cells = shown.map(({ image, face }) => {
      const slot = h("div", { class: "face-slot" });
      return { image, face, el: h("figure", { class: `face-cell ${face.gender}`, dataset: { gender: face.gender,
        age: String(face.age) } }, slot, h("figcaption", {}, h("span", {}, faceLabel(face)),
        h("span", { class: "muted face-source" }, image.name))), slot };
    });
    this.grid.replaceChildren(...cells.map((c) => c.el));
    if (!shown.length) this.grid.append(h("p", { class: "empty" }, "No face matches these filters."));
    const more = this.matches.length > first + PER_PAGE;
    const known = this.exhausted ? plural(this.matches.length, "face") : `${this.matches.length}+ faces`;
    this.info.textContent = shown.length ? `${first + 1}–${first + shown.length} of ${known}` : "";
    this.prev.disabled = this.page <= 1;
    this.next.disabled = !more;
    // One decode per photo, however many of its faces are on the page.
    const bitmaps = new Map();
    await Promise.all(cells.map(async (cell) => {
      try {
        let bitmap = bitmaps.get(cell.image.id);
        if (!bitmap) {
          bitmap = photo(this.taskId, cell.image.id).then((b) => createImageBitmap(b));
          bitmaps.set(cell.image.id, bitmap);
        }
        cell.slot.replaceWith(crop(await bitmap, cell.face.bbox));
      } catch (err) {
        cell.slot.textContent = err.description || "The photo could not be read.";
      }
    }));
    if (generation === this.generation) this.grid.dataset.loaded = "true";
  }
}
