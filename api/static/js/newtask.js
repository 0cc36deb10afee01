// The front door: drop photos (or a folder, a ZIP, a TAR) or pick them, and one click creates the
// task, uploads them and, when the box is ticked, starts it. The task's name comes from the folder
// or the first file and can be changed before that click: the API has no renaming afterwards.

import { api } from "./api.js";
import { bytes, h, plural } from "./dom.js";
import { defaultName, fromDrop, fromFiles, sortOut } from "./drop.js";
import { clearError, notify, showError } from "./messages.js";
import { startTask, Uploads } from "./uploads.js";

const START_AT_ONCE = "facetasks.startAtOnce";
// The task list below listens for it: a task made here shows up there without a reload.
export const TASKS_CHANGED = "facetasks:tasks-changed";
const changed = () => window.dispatchEvent(new CustomEvent(TASKS_CHANGED));

function remembered() {
  try {
    return localStorage.getItem(START_AT_ONCE) === "true";
  } catch {
    return false;
  }
}

export function newTaskForm() {
  let picked = { folder: null, items: [] };
  let nameTouched = false;
  const name = h("input", {
    id: "new-task-name", type: "text", maxlength: 255, placeholder: "Name, e.g. Wedding",
    "aria-label": "Task name (optional)", oninput: () => { nameTouched = true; },
  });
  const files = h("input", { id: "file-input", type: "file", multiple: true, class: "visually-hidden",
    accept: "image/jpeg,.jpg,.jpeg,.jpe,.zip,.tar,.tgz,.gz,application/zip,application/x-tar",
    onchange: () => take(fromFiles(files.files)) });
  const folder = h("input", { id: "folder-input", type: "file", multiple: true, webkitdirectory: true,
    class: "visually-hidden", tabindex: -1, "aria-hidden": "true", onchange: () => take(fromFiles(folder.files)) });
  const pickFolder = h("button", { id: "pick-folder", type: "button", onclick: () => folder.click() }, "Choose a folder…");
  const zone = h("label", { id: "dropzone", class: "dropzone" }, files,
    h("strong", {}, "Drop photos or a folder here"), h("br"),
    h("span", { class: "hint" }, "JPEG photos, or ZIP or TAR archives of them. Or "),
    h("span", { class: "link" }, "choose files"), ".");
  const picks = h("div", { id: "picked", class: "picked muted", role: "status" });
  const startAtOnce = h("input", { id: "start-at-once", type: "checkbox", checked: remembered(),
    onchange: () => { try { localStorage.setItem(START_AT_ONCE, String(startAtOnce.checked)); } catch { /* private mode */ } } });
  const create = h("button", { id: "create-task", type: "submit", class: "primary" }, "Create task");
  const outcome = h("div", { id: "outcome" });
  const form = h("form", { class: "card", id: "new-task", onsubmit: (e) => submit(e) },
    h("h2", {}, "New task"), zone,
    h("div", { class: "row" }, pickFolder, folder, picks),
    h("div", { class: "row" }, name, create),
    h("label", { class: "check" }, startAtOnce, " Start finding faces as soon as the photos are uploaded"),
    outcome);

  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("over"); });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    take(await fromDrop(e.dataTransfer));
  });

  function take(next) {
    picked = next;
    if (!nameTouched || !name.value.trim()) {
      name.value = defaultName(picked);
      nameTouched = false;
    }
    const { photos, archives, others } = sortOut(picked.items);
    const size = picked.items.reduce((sum, i) => sum + i.file.size, 0);
    const parts = [photos.length && plural(photos.length, "photo"), archives.length && plural(archives.length, "archive")]
      .filter(Boolean);
    picks.textContent = parts.length ? `${parts.join(" and ")} (${bytes(size)})` + (picked.folder ? ` from “${picked.folder}”` : "")
      + (others.length ? `; ${plural(others.length, "other file")} will be left out` : "") : (picked.items.length
      ? "None of these is a JPEG photo or an archive." : "");
    const count = photos.length + archives.length;
    create.textContent = count ? `Create task and upload ${parts.join(" and ")}` : "Create task";
    name.focus();
  }

  async function submit(event) {
    event.preventDefault();
    create.disabled = true;
    let task;
    try {
      const value = name.value.trim();
      task = await api("POST", "/tasks", value ? { json: { name: value } } : {});
      clearError();
    } catch (err) {
      showError(err);
      create.disabled = false;
      return;
    }
    if (!picked.items.length) {
      location.hash = `#/tasks/${task.id}`;
      return;
    }
    for (const el of [name, files, pickFolder, startAtOnce]) el.disabled = true;
    changed();
    const uploads = new Uploads(task.id, picked.items);
    const open = h("a", { id: "open-task", href: `#/tasks/${task.id}` }, "Open the task →");
    outcome.replaceChildren(h("h3", {}, `Uploading to “${task.name || "Untitled task"}”`), uploads.el);
    const { added, rejected } = await uploads.run();
    form.dataset.uploaded = String(added);
    changed();
    if (!added) {
      outcome.append(h("p", { class: "row" }, "Nothing was added, so there is nothing to start. ", open));
      return;
    }
    if (startAtOnce.checked) {
      await start(task, rejected, open);
      return;
    }
    const startButton = h("button", { id: "start-task", type: "button", class: "primary",
      onclick: () => { startButton.disabled = true; start(task, rejected, open); } }, `Start: find the faces in ${plural(added, "photo")}`);
    outcome.append(h("div", { class: "row" }, startButton, open));
    startButton.focus();
  }

  async function start(task, rejected, open) {
    try {
      await startTask(task.id);
      changed();
    } catch (err) {
      showError(err);
      outcome.append(h("p", { class: "row" }, open));
      return;
    }
    // With files turned down the list stays in view; otherwise straight to the task at work.
    if (!rejected.length) {
      notify(`Started “${task.name || "Untitled task"}”.`);
      location.hash = `#/tasks/${task.id}`;
      return;
    }
    outcome.append(h("p", { id: "started", class: "row" }, "Started. ", open));
    open.focus();
  }

  return form;
}
