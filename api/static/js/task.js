// One task: its state, the actions that apply to it, uploads while it is forming, live progress
// while it runs, its statistics, and its images with their faces, a page at a time.
//
// While the task runs the page polls its summary with the ETag it last saw (a 304 when nothing
// changed) and re-reads the page of images shown only when the task changed: watching a task of
// 100,000 images costs what watching one of ten does.

import { api, blob, fresh } from "./api.js";
import { statistics } from "./chart.js";
import { badge, h, plural, when } from "./dom.js";
import { downloadBlob, fileName } from "./download.js";
import { ImageGrid } from "./faces.js";
import { FacesView } from "./facesview.js";
import { clearError, notify, showError } from "./messages.js";
import { Speed } from "./speed.js";
import { Uploader } from "./upload.js";

const POLL_MS = 1000;
const IMAGES_PAGE_SIZE = 60;
const IMAGE_STATUSES = ["pending", "queued", "processing", "done", "failed"];
const FAILED_SHOWN = 100;
const FINAL = ["completed", "failed"];

function progressLine(task) {
  const { total, done, failed } = task.progress;
  const share = (n) => `${total ? (n / total) * 100 : 0}%`;
  const bar = h("div", { id: "progress", class: "progress", role: "progressbar", "aria-valuemin": 0,
    "aria-valuemax": total, "aria-valuenow": done + failed },
  h("div", { style: { width: share(done) } }), h("div", { class: "failed", style: { width: share(failed) } }));
  const text = `${done} of ${plural(total, "image")} done` + (failed ? ` · ${failed} failed` : "");
  return [bar, h("div", { id: "progress-text", class: "muted" }, text)];
}

class TaskView {
  constructor(root, taskId) {
    this.root = root;
    this.taskId = taskId;
    this.stopped = false;
    this.uploading = false;
    this.head = h("section", { class: "card", id: "task" });
    this.stats = h("section", { class: "card", id: "stats" });
    this.speed = new Speed();
    this.failed = h("section", { class: "card", id: "failed-images", hidden: true });
    this.faces = new FacesView(taskId);
    this.faces.el.hidden = true;
    this.grid = new ImageGrid(taskId);
    this.uploader = new Uploader(taskId, {
      onUploaded: (count) => { notify(`${plural(count, "image")} uploaded.`); this.load(); },
      onBusy: (busy) => { this.uploading = busy; if (this.task) this.renderHead(this.task); },
    });
    this.uploader.el.hidden = true;
    this.imagesPage = 1;
    this.imagesFilter = "";
    this.filter = h("select", {
      id: "image-filter", "aria-label": "Show images by status",
      onchange: () => { this.imagesFilter = this.filter.value; this.imagesPage = 1; this.loadImages(); },
    }, h("option", { value: "" }, "All images"), IMAGE_STATUSES.map((s) => h("option", { value: s }, s)));
    this.prev = h("button", { id: "images-prev", type: "button", disabled: true,
      onclick: () => { this.imagesPage -= 1; this.loadImages(); } }, "← Previous");
    this.next = h("button", { id: "images-next", type: "button", disabled: true,
      onclick: () => { this.imagesPage += 1; this.loadImages(); } }, "Next →");
    this.imagesInfo = h("span", { id: "images-info", class: "muted" }, "Loading…");
    root.replaceChildren(h("p", {}, h("a", { href: "#/" }, "← All tasks")), this.head, this.uploader.el,
      this.failed, this.stats, this.faces.el, h("section", { class: "card" },
        h("div", { class: "row", style: { justifyContent: "space-between" } }, h("h2", {}, "Images"), this.filter),
        this.grid.el, h("div", { class: "pager" }, this.prev, this.imagesInfo, this.next)));
  }

  async load() {
    clearTimeout(this.timer);
    try {
      const answer = await fresh(`/tasks/${this.taskId}?images=false`, this.etag);
      if (this.stopped) return;
      if (answer) {
        this.etag = answer.etag;
        this.render(answer.body);
        await this.loadImages();
      } else {
        this.speed.add(this.task);
        this.showSpeed();
        this.schedule(this.task);
      }
    } catch (err) {
      if (this.stopped) return;
      if (err.status === 404) {
        this.root.replaceChildren(h("p", {}, h("a", { href: "#/" }, "← All tasks")),
          h("p", { class: "card empty" }, "There is no such task: it may have been deleted."));
        return;
      }
      showError(err);
      // A blip (a restart, a dependency down) should not end the live view.
      if (this.task && this.task.status === "processing") this.timer = setTimeout(() => this.load(), POLL_MS * 3);
    }
  }

  // The page of images shown, as the task is now.
  async loadImages() {
    const query = new URLSearchParams({ page: String(this.imagesPage), page_size: String(IMAGES_PAGE_SIZE) });
    if (this.imagesFilter) query.set("status", this.imagesFilter);
    try {
      const page = await api("GET", `/tasks/${this.taskId}/images?${query}`);
      if (this.stopped) return;
      const pages = Math.max(1, Math.ceil(page.total / IMAGES_PAGE_SIZE));
      if (this.imagesPage > pages) {
        this.imagesPage = pages;
        await this.loadImages();
        return;
      }
      this.grid.update(page.items, this.imagesFilter ? `No ${this.imagesFilter} images.` : "No images yet.");
      const first = (this.imagesPage - 1) * IMAGES_PAGE_SIZE;
      this.imagesInfo.textContent = page.total
        ? `${first + 1}–${first + page.items.length} of ${plural(page.total, "image")} · page ${this.imagesPage} of ${pages}`
        : plural(0, "image");
      this.prev.disabled = this.imagesPage <= 1;
      this.next.disabled = this.imagesPage >= pages;
      this.grid.el.dataset.loaded = "true";
    } catch (err) {
      if (!this.stopped) showError(err);
    }
  }

  render(task) {
    const before = this.task;
    this.task = task;
    document.title = `${task.name || "Untitled task"} · facetasks`;
    this.speed.add(task);
    this.renderHead(task);
    this.uploader.el.hidden = task.status !== "forming";
    if (FINAL.includes(task.status) && (!before || before.status !== task.status
        || before.finished_at !== task.finished_at)) {
      this.faces.el.hidden = !task.statistics.total_faces;
      if (task.statistics.total_faces) this.faces.reset();
    }
    if (task.status !== "failed") this.failed.hidden = true;
    else if (!before || before.updated_at !== task.updated_at || this.failed.hidden) this.loadFailed(task);
    this.stats.replaceChildren(h("h2", {}, task.status === "processing" ? "Statistics so far" : "Statistics"),
      statistics(task.statistics));
    this.schedule(task);
  }

  schedule(task) {
    if (task && task.status === "processing") this.timer = setTimeout(() => this.load(), POLL_MS);
  }

  renderHead(task) {
    const actions = [];
    if (task.status === "forming") {
      const empty = task.progress.total === 0;
      actions.push(this.button("start", "Start", "primary", () => api("POST", `/tasks/${task.id}/start`),
        empty || this.uploading, empty ? "Add at least one image first" : "Find the faces on every image"));
    }
    if (FINAL.includes(task.status)) {
      actions.push(h("button", { id: "download-csv", type: "button", title: "Every face as a spreadsheet (CSV)",
        onclick: () => this.downloadCsv(task) }, "Download CSV"));
    }
    actions.push(this.button("delete", "Delete", "danger", () => this.remove(task), false,
      "Delete the task, its images and results"));
    this.head.replaceChildren(
      h("div", { class: "task-head" },
        h("div", {}, h("h1", { id: "task-name" }, task.name || "Untitled task"),
          h("div", { class: "id" }, task.id)),
        h("div", { class: "row" }, h("span", { id: "task-status" }, badge(task.status)),
          h("div", { class: "actions" }, actions))),
      ...progressLine(task),
      ...(task.status === "processing" ? [h("div", { id: "speed", class: "muted" }, this.speed.text())] : []),
      h("div", { class: "times muted" }, h("span", {}, `Created ${when(task.created_at)}`),
        task.started_at && h("span", {}, `Started ${when(task.started_at)}`),
        task.finished_at && h("span", {}, `Finished ${when(task.finished_at)}`)));
  }

  showSpeed() {
    const line = this.head.querySelector("#speed");
    if (line) line.textContent = this.speed.text();
  }

  async downloadCsv(task) {
    try {
      const data = await blob(`/tasks/${task.id}/faces.csv`);
      const url = downloadBlob(data, `${fileName(task.name, task.id)}.csv`);
      this.head.querySelector("#download-csv").dataset.href = url;
    } catch (err) {
      showError(err);
    }
  }

  // The failed images with their errors, and the button that sends only them again.
  async loadFailed(task) {
    try {
      const page = await api("GET", `/tasks/${task.id}/images?status=failed&page_size=${FAILED_SHOWN}`);
      if (this.stopped || this.task.status !== "failed") return;
      const more = page.total > page.items.length ? h("p", { class: "muted" },
        `And ${page.total - page.items.length} more: pick “failed” under Images to see them all.`) : null;
      this.failed.replaceChildren(
        h("div", { class: "row spread" }, h("h2", {}, `Failed: ${plural(page.total, "image")}`),
          this.button("retry", "Retry failed images", "primary", () => api("POST", `/tasks/${task.id}/retry`), false,
            "Process only the images that failed, again")),
        h("ul", { id: "failed-list", class: "failed-list" }, page.items.map((image) => h("li", {},
          h("span", { class: "image-name" }, image.name), " — ", h("span", { class: "image-error" }, image.error || "failed")))),
        more);
      this.failed.hidden = false;
    } catch (err) {
      if (!this.stopped) showError(err);
    }
  }

  button(id, label, kind, action, disabled, title) {
    const button = h("button", { id, type: "button", class: kind, disabled, title });
    button.textContent = label;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const task = await action();
        clearError();
        if (task && !this.stopped) {
          this.etag = null; // the answer is the summary without an ETag: the next poll reads afresh
          this.render(task);
          await this.loadImages();
        }
      } catch (err) {
        showError(err);
        this.load();
      }
    });
    return button;
  }

  async remove(task) {
    const name = task.name ? `“${task.name}”` : "this task";
    if (!window.confirm(`Delete ${name} with its ${plural(task.progress.total, "image")} and results? `
      + "This cannot be undone.")) {
      this.renderHead(task);
      return null;
    }
    await api("DELETE", `/tasks/${task.id}`);
    this.stopped = true;
    notify(`Deleted ${name}.`);
    location.hash = "#/";
    return null;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

export function showTask(root, taskId) {
  const view = new TaskView(root, taskId);
  view.load();
  return view;
}
