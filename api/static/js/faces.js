// The task's images, each with its faces' boxes and labels over it.
//
// Boxes are placed in percent of the image's natural size, so they follow the image at whatever
// size it is shown; labels are placed in pixels (labels.js) and placed again when the picture's
// size changes. Cards are kept per image id across polls, so a photo is fetched once and does not
// flicker. Photos are fetched when their card comes near the screen.

import { photo } from "./photos.js";
import { badge, faceLabel, h, plural, replace } from "./dom.js";
import { placeLabels } from "./labels.js";
import { showError } from "./messages.js";
import { downloadBlob } from "./download.js";

function percent(value, whole) {
  return `${(value / whole) * 100}%`;
}

const nearScreen = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting) {
      nearScreen.unobserve(entry.target);
      entry.target.dispatchEvent(new Event("nearscreen"));
    }
  }
}, { rootMargin: "600px" });

class ImageCard {
  constructor(taskId, image) {
    this.taskId = taskId;
    this.image = null;
    this.url = null;
    this.photo = h("img", { class: "photo", alt: image.name });
    this.boxes = h("div", { class: "boxes" });
    this.caption = h("figcaption");
    this.list = h("ol", { class: "face-list", hidden: true });
    this.frame = h("div", { class: "frame" }, this.photo, this.boxes);
    this.el = h("figure", { class: "image-card", dataset: { imageId: image.id } },
      h("div", { class: "picture" }, this.frame), this.caption, this.list);
    this.photo.addEventListener("load", () => this.drawBoxes());
    this.el.addEventListener("nearscreen", () => this.load());
    nearScreen.observe(this.el);
    new ResizeObserver(() => this.drawBoxes()).observe(this.photo);
    this.update(image);
  }

  async load() {
    try {
      const bytes = await photo(this.taskId, this.image.id);
      if (this.released) return;
      this.url = URL.createObjectURL(bytes);
      this.photo.src = this.url;
    } catch (err) {
      this.el.dataset.photo = "failed";
      this.photo.alt = `${this.image.name} (${err.description})`;
    }
  }

  release() {
    this.released = true;
    nearScreen.unobserve(this.el);
    if (this.url) URL.revokeObjectURL(this.url);
  }

  update(image) {
    if (JSON.stringify(this.image) === JSON.stringify(image)) return;
    this.image = image;
    const faces = image.status === "done" ? plural(image.faces.length, "face") : null;
    const annotated = image.status === "done" && image.faces.length
      ? h("button", { type: "button", class: "link annotated", onclick: () => this.annotated() }, "annotated JPEG")
      : null;
    replace(this.caption,
      h("span", { class: "image-name" }, image.name), badge(image.status),
      faces && h("span", { class: "face-count muted" }, faces), annotated,
      image.error && h("p", { class: "image-error" }, image.error));
    this.el.dataset.status = image.status;
    this.drawBoxes();
  }

  async annotated() {
    try {
      const stem = this.image.name.replace(/\.[^./]*$/, "");
      downloadBlob(await photo(this.taskId, this.image.id, "annotated"), `${stem}-annotated.jpg`);
    } catch (err) {
      showError(err);
    }
  }

  drawBoxes() {
    const { naturalWidth: width, naturalHeight: height } = this.photo;
    if (!width || !height || !this.image) return; // not loaded yet: the load event draws them
    // Fractional sizes, rounded towards safety (client sizes round to the nearest pixel, which can
    // put a label's far edge a fraction past the picture's).
    const shown = this.photo.getBoundingClientRect();
    const picture = { w: Math.floor(shown.width), h: Math.floor(shown.height) };
    if (!picture.w || !picture.h) return;
    const faces = this.image.faces;
    const boxes = faces.map((f, i) => h("div", {
      class: `face-box ${f.gender}`, dataset: { index: String(i) }, title: faceLabel(f),
      style: { left: percent(f.bbox.x, width), top: percent(f.bbox.y, height),
        width: percent(f.bbox.width, width), height: percent(f.bbox.height, height) },
    }));
    const labels = faces.map((f, i) => h("span", { class: `face-label ${f.gender}`, dataset: { index: String(i) } },
      faceLabel(f)));
    this.boxes.replaceChildren(...boxes, ...labels);
    const sx = shown.width / width;
    const sy = shown.height / height;
    const rects = faces.map((f) => ({ x: f.bbox.x * sx, y: f.bbox.y * sy, w: f.bbox.width * sx, h: f.bbox.height * sy }));
    const sizes = labels.map((l) => {
      const r = l.getBoundingClientRect();
      return { w: Math.ceil(r.width), h: Math.ceil(r.height) };
    });
    const places = placeLabels(rects, sizes, picture);
    const unplaced = [];
    places.forEach((place, i) => {
      const label = labels[i];
      if (place) {
        Object.assign(label.style, { left: `${place.x}px`, top: `${place.y}px` });
        return;
      }
      // Off the picture until its face is pointed at; then over the face, inside the picture.
      label.classList.add("off");
      const { w, h: lh } = sizes[i];
      Object.assign(label.style, { left: `${Math.min(Math.max(rects[i].x, 0), Math.max(0, picture.w - w))}px`,
        top: `${Math.min(Math.max(rects[i].y, 0), Math.max(0, picture.h - lh))}px` });
      unplaced.push(i);
      boxes[i].tabIndex = 0;
      boxes[i].setAttribute("aria-label", faceLabel(faces[i]));
      const show = (on) => label.classList.toggle("shown", on);
      for (const [type, on] of [["mouseenter", true], ["mouseleave", false], ["focus", true], ["blur", false]]) {
        boxes[i].addEventListener(type, () => show(on));
      }
    });
    // Crowded photos: the faces whose label did not fit, numbered as their boxes are.
    this.list.hidden = !unplaced.length;
    replace(this.list, unplaced.map((i) => h("li", { value: i + 1, dataset: { index: String(i) } },
      faceLabel(faces[i]))));
    this.el.dataset.labelsPlaced = String(faces.length - unplaced.length);
    this.el.dataset.boxesDrawn = String(faces.length);
  }
}

export class ImageGrid {
  constructor(taskId) {
    this.taskId = taskId;
    this.cards = new Map();
    this.el = h("div", { id: "images", class: "images" });
  }

  update(images, empty = "No images yet.") {
    // Cards of the images shown are kept across polls; those of other pages are let go.
    const kept = new Map();
    const cards = images.map((image) => {
      let card = this.cards.get(image.id);
      if (card) card.update(image);
      else card = new ImageCard(this.taskId, image);
      kept.set(image.id, card);
      return card.el;
    });
    for (const [id, card] of this.cards) if (!kept.has(id)) card.release();
    this.cards = kept;
    // Same order as the task's (upload order); replaceChildren keeps elements that stay.
    this.el.replaceChildren(...cards);
    if (!images.length) this.el.append(h("p", { class: "empty" }, empty));
  }
}
