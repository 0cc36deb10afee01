// The start page: a new task from dropped photos (newtask.js), and the task list with a status filter and paging.

import { api } from "./api.js";
import { badge, h, plural, when } from "./dom.js";
import { showError } from "./messages.js";
import { newTaskForm, TASKS_CHANGED } from "./newtask.js";

export const STATUSES = ["forming", "processing", "completed", "failed"];
const PAGE_SIZE = 10;
const POLL_MS = 2000;

function listHash(status, page) {
  const query = new URLSearchParams();
  if (status) query.set("status", status);
  if (page > 1) query.set("page", String(page));
  const text = query.toString();
  return text ? `#/?${text}` : "#/";
}

function taskRow(task) {
  const { total, done, failed } = task.progress;
  return h("tr", { dataset: { taskId: task.id } },
    h("td", {}, h("a", { href: `#/tasks/${task.id}` }, task.name || "Untitled task")),
    h("td", {}, badge(task.status)),
    h("td", {}, `${done} / ${total}`, failed ? h("span", { class: "muted" }, ` (${failed} failed)`) : null),
    h("td", {}, String(task.statistics.total_faces)),
    h("td", {}, when(task.created_at)));
}

export function showList(root, params) {
  const status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
  const page = Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1);
  const filter = h("select", {
    id: "status-filter", "aria-label": "Show tasks by status",
    onchange: () => { location.hash = listHash(filter.value, 1); },
  }, h("option", { value: "" }, "All statuses"), STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)));
  const body = h("tbody", { id: "task-rows" });
  const prev = h("button", { id: "prev-page", type: "button", disabled: true,
    onclick: () => { location.hash = listHash(status, page - 1); } }, "← Newer");
  const next = h("button", { id: "next-page", type: "button", disabled: true,
    onclick: () => { location.hash = listHash(status, page + 1); } }, "Older →");
  const info = h("span", { id: "page-info", class: "muted" }, "Loading…");
  const table = h("table", { id: "task-list", class: "task-list" },
    h("thead", {}, h("tr", {}, ["Name", "Status", "Images done", "Faces", "Created"].map((t) => h("th", {}, t)))),
    body);
  root.replaceChildren(newTaskForm(), h("section", { class: "card" },
    h("div", { class: "row", style: { justifyContent: "space-between" } }, h("h2", {}, "Tasks"), filter),
    table, h("div", { class: "pager" }, prev, info, next)));

  let timer;
  let stopped = false;
  async function load() {
    const query = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) });
    if (status) query.set("status", status);
    try {
      const data = await api("GET", `/tasks?${query}`);
      if (stopped) return;
      render(data);
      // Keep the list live while something in it runs.
      if (data.items.some((t) => t.status === "processing")) timer = setTimeout(load, POLL_MS);
    } catch (err) {
      showError(err);
    }
  }
  function render(data) {
    const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
    body.replaceChildren(...data.items.map(taskRow));
    if (!data.items.length) {
      const text = data.total ? "No tasks on this page." : status ? `No ${status} tasks.` : "No tasks yet: drop some photos above.";
      body.append(h("tr", {}, h("td", { colspan: 5, class: "empty" }, text)));
    }
    info.textContent = `Page ${page} of ${pages} · ${plural(data.total, "task")}`;
    prev.disabled = page <= 1;
    next.disabled = page >= pages;
    table.dataset.loaded = "true";
  }
  const reload = () => { clearTimeout(timer); load(); };
  window.addEventListener(TASKS_CHANGED, reload);
  load();
  return { stop() { stopped = true; clearTimeout(timer); window.removeEventListener(TASKS_CHANGED, reload); } };
}
