// The task's images, each with its faces' boxes and labels over it.
//
// Boxes are placed in percent of the image's natural size, so they follow the image at whatever
// size it is shown (left = x / naturalWidth of the rendered width, and so on). Cards are kept per
// image id across polls, so an image is loaded once and does not flicker.

import { imageUrl } from "./api.js";
import { badge, faceLabel, h, plural, replace } from "./dom.js";

// A label above a box closer than this (rendered pixels) to the image's top would be cut off:
// it goes inside the box instead.
const LABEL_ROOM_PX = 18;

function percent(value, whole) {
  return `${(value / whole) * 100}%`;
}

function faceBox(face, index, width, height, scale) {
  const { x, y, width: w, height: hgt } = face.bbox;
  const inside = y * scale < LABEL_ROOM_PX;
  return h("div", {
    class: `face-box ${face.gender}${inside ? " label-inside" : ""}`,
    dataset: { index: String(index) },
    style: { left: percent(x, width), top: percent(y, height), width: percent(w, width), height: percent(hgt, height) },
  }, h("span", { class: "face-label" }, faceLabel(face)));
}

class ImageCard {
  constructor(taskId, image) {
    this.image = null;
    this.photo = h("img", { class: "photo", src: imageUrl(taskId, image.id), alt: image.name, loading: "lazy" });
    this.boxes = h("div", { class: "boxes" });
    this.caption = h("figcaption");
    this.annotated = imageUrl(taskId, image.id, "annotated");
    this.el = h("figure", { class: "image-card", dataset: { imageId: image.id } },
      h("div", { class: "frame" }, this.photo, this.boxes), this.caption);
    this.photo.addEventListener("load", () => this.drawBoxes());
    // Positions are in percent and follow by themselves; where a label fits depends on the scale.
    new ResizeObserver(() => this.drawBoxes()).observe(this.photo);
    this.update(image);
  }

  update(image) {
    const before = JSON.stringify(this.image);
    if (before === JSON.stringify(image)) return;
    this.image = image;
    const faces = image.status === "done" ? plural(image.faces.length, "face") : null;
    replace(this.caption,
      h("span", { class: "image-name" }, image.name), badge(image.status),
      faces && h("span", { class: "face-count muted" }, faces),
      image.status === "done" && image.faces.length
        ? h("a", { href: this.annotated, target: "_blank", rel: "noopener" }, "annotated JPEG") : null,
      image.error && h("p", { class: "image-error" }, image.error));
    this.el.dataset.status = image.status;
    this.drawBoxes();
  }

  drawBoxes() {
    const { naturalWidth: width, naturalHeight: height } = this.photo;
    if (!width || !height) return; // not loaded yet: the load event draws them
    const scale = this.photo.clientHeight / height;
    this.boxes.replaceChildren(...this.image.faces.map((f, i) => faceBox(f, i, width, height, scale)));
    this.el.dataset.boxesDrawn = String(this.image.faces.length);
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
    this.cards = kept;
    // Same order as the task's (upload order); replaceChildren keeps elements that stay.
    this.el.replaceChildren(...cards);
    if (!images.length) this.el.append(h("p", { class: "empty" }, empty));
  }
}
