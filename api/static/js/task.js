// One task: its state, the actions that apply to it, uploads while it is forming, live progress
// while it runs, its statistics, and every image with its faces.

import { api } from "./api.js";
import { statistics } from "./chart.js";
import { badge, h, plural, when } from "./dom.js";
import { ImageGrid } from "./faces.js";
import { clearError, notify, showError } from "./messages.js";
import { Uploader } from "./upload.js";

const POLL_MS = 1000;

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
    this.grid = new ImageGrid(taskId);
    this.uploader = new Uploader(taskId, {
      onUploaded: (count) => { notify(`${plural(count, "image")} uploaded.`); this.load(); },
      onBusy: (busy) => { this.uploading = busy; if (this.task) this.renderHead(this.task); },
    });
    this.uploader.el.hidden = true;
    root.replaceChildren(h("p", {}, h("a", { href: "#/" }, "← All tasks")), this.head, this.uploader.el,
      this.stats, h("section", { class: "card" }, h("h2", {}, "Images"), this.grid.el));
  }

  async load() {
    clearTimeout(this.timer);
    try {
      const task = await api("GET", `/tasks/${this.taskId}`);
      if (!this.stopped) this.render(task);
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

  render(task) {
    this.task = task;
    document.title = `${task.name || "Untitled task"} · facetasks`;
    this.renderHead(task);
    this.uploader.el.hidden = task.status !== "forming";
    this.stats.replaceChildren(h("h2", {}, task.status === "processing" ? "Statistics so far" : "Statistics"),
      statistics(task.statistics));
    this.grid.update(task.images);
    if (task.status === "processing") this.timer = setTimeout(() => this.load(), POLL_MS);
  }

  renderHead(task) {
    const actions = [];
    if (task.status === "forming") {
      const empty = task.progress.total === 0;
      actions.push(this.button("start", "Start", "primary", () => api("POST", `/tasks/${task.id}/start`),
        empty || this.uploading, empty ? "Add at least one image first" : "Find the faces on every image"));
    }
    if (task.status === "failed") {
      actions.push(this.button("retry", "Retry failed images", "primary",
        () => api("POST", `/tasks/${task.id}/retry`), false, "Process only the images that failed, again"));
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
      h("div", { class: "times muted" }, h("span", {}, `Created ${when(task.created_at)}`),
        task.started_at && h("span", {}, `Started ${when(task.started_at)}`),
        task.finished_at && h("span", {}, `Finished ${when(task.finished_at)}`)));
  }

  button(id, label, kind, action, disabled, title) {
    const button = h("button", { id, type: "button", class: kind, disabled, title });
    button.textContent = label;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const task = await action();
        clearError();
        if (task && !this.stopped) this.render(task);
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
