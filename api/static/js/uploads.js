// Sending what was picked into a task, a few requests at a time, with a progress bar per request
// and one for the whole, and every file the service turned down listed with its reason.
//
// A small pick goes one photo per request, so each photo has its own bar. A large one (more than
// SINGLE_MAX photos) goes as ZIP batches built here, as the command line sends them: a thousand
// requests would cost more than the photos. A dropped ZIP or TAR goes as it is.

import { api, upload } from "./api.js";
import { bytes, h, plural } from "./dom.js";
import { sortOut } from "./drop.js";
import { zip } from "./zip.js";

const PARALLEL = 3;
export const SINGLE_MAX = 50;
const BATCH_FILES = 200; // the command line's batch
const BATCH_BYTES = 256 * 1024 * 1024; // well under the API's archive limit (1 GiB by default)

function batches(photos) {
  const out = [];
  let current = [];
  let size = 0;
  for (const photo of photos) {
    if (current.length && (current.length >= BATCH_FILES || size + photo.file.size > BATCH_BYTES)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(photo);
    size += photo.file.size;
  }
  if (current.length) out.push(current);
  return out;
}

function bar(id) {
  const fill = h("div");
  const el = h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100,
    "aria-valuenow": 0, id });
  el.append(fill);
  return {
    el,
    set(share) {
      const value = Math.round(Math.min(1, Math.max(0, share)) * 100);
      fill.style.width = `${value}%`;
      el.setAttribute("aria-valuenow", String(value));
    },
  };
}

// One request: a photo, a batch of photos, or an archive.
class Job {
  constructor(label, size, photos, send) {
    this.size = size;
    this.sent = 0;
    this.photos = photos; // how many photos it holds, as far as is known before it is sent
    this.send = send;
    this.bar = bar(null);
    this.state = h("span", { class: "state" }, "Waiting");
    this.el = h("li", { class: "upload-row", dataset: { state: "waiting" } },
      h("span", { class: "upload-name" }, label), h("span", { class: "size" }, bytes(size)), this.state, this.bar.el);
  }

  show(state, text, share) {
    this.el.dataset.state = state;
    this.state.textContent = text;
    if (share !== undefined) this.bar.set(share);
  }
}

export class Uploads {
  // items: [{file, name}]; onProgress() after every change; the promise of run() ends with
  // {added, rejected}.
  constructor(taskId, items) {
    this.taskId = taskId;
    this.added = 0;
    this.rejected = [];
    const { photos, archives, others } = sortOut(items);
    this.rejected.push(...others);
    this.expected = photos.length;
    this.jobs = [];
    if (photos.length <= SINGLE_MAX) {
      for (const p of photos) this.jobs.push(new Job(p.name, p.file.size, 1, (progress) => this.single(p, progress)));
    } else {
      const all = batches(photos);
      all.forEach((batch, i) => {
        const size = batch.reduce((sum, p) => sum + p.file.size, 0);
        this.jobs.push(new Job(`Batch ${i + 1} of ${all.length}: ${plural(batch.length, "photo")}`, size, batch.length,
          (progress, job) => this.batch(batch, progress, job)));
      });
    }
    for (const a of archives) {
      this.jobs.push(new Job(a.name, a.file.size, 0, (progress) => this.archive(a, progress)));
    }
    this.total = this.jobs.reduce((sum, job) => sum + job.size, 0);
    this.overall = bar("upload-progress");
    this.summary = h("p", { id: "upload-summary", class: "muted" });
    this.rejectedList = h("ul", { id: "rejected", class: "rejected" });
    this.rejectedHead = h("h3", { id: "rejected-head", hidden: true });
    this.el = h("div", { id: "uploads" }, this.overall.el, this.summary,
      h("ul", { id: "upload-rows", class: "upload-rows" }, this.jobs.map((j) => j.el)),
      this.rejectedHead, this.rejectedList);
    this.refresh();
  }

  refresh() {
    const sent = this.jobs.reduce((sum, job) => sum + job.sent, 0);
    this.overall.set(this.total ? sent / this.total : 1);
    const done = this.jobs.filter((j) => j.el.dataset.state === "done" || j.el.dataset.state === "error").length;
    this.summary.textContent = `${plural(this.added, "photo")} uploaded`
      + (this.jobs.length ? ` · ${done} of ${plural(this.jobs.length, "upload")} finished` : "")
      + (this.rejected.length ? ` · ${this.rejected.length} rejected` : "");
    this.rejectedHead.hidden = !this.rejected.length;
    this.rejectedHead.textContent = `Rejected: ${plural(this.rejected.length, "file")}`;
    this.rejectedList.replaceChildren(...this.rejected.map((r) => h("li", {},
      h("span", { class: "rejected-name" }, r.name), " — ", `${r.title}: ${r.description}`)));
  }

  async run() {
    const queue = [...this.jobs];
    const worker = async () => {
      while (queue.length) {
        const job = queue.shift();
        job.show("busy", "Sending…", 0);
        const progress = (loaded, total) => {
          job.sent = Math.min(job.size, total ? (loaded / total) * job.size : loaded);
          job.show("busy", loaded >= total && total ? "Checking…" : "Sending…", job.size ? job.sent / job.size : 0);
          this.refresh();
        };
        try {
          const { added, rejected } = await job.send(progress, job);
          job.sent = job.size;
          this.added += added;
          this.rejected.push(...rejected);
          job.show(added ? "done" : "error", added ? `✓ ${plural(added, "photo")} added` + (rejected.length
            ? `, ${rejected.length} rejected` : "") : "Rejected: see below", 1);
        } catch (err) {
          job.sent = job.size;
          job.show("error", `${err.title}: ${err.description}`, 1);
          if (err.status === 401 || err.status === 0 || err.status === 404) queue.length = 0; // the rest would fail alike
        }
        this.refresh();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    return { added: this.added, rejected: this.rejected };
  }

  async single(photo, progress) {
    const form = new FormData();
    form.append("file", photo.file, photo.file.name);
    form.append("name", photo.name);
    try {
      await upload(`/tasks/${this.taskId}/images`, form, progress);
      return { added: 1, rejected: [] };
    } catch (err) {
      if (err.status === 0 || err.status === 401 || err.status === 404 || err.status >= 500) throw err;
      // The service's word on this one photo (not a JPEG, corrupt, too large): it joins the list.
      return { added: 0, rejected: [{ name: photo.name, title: err.title, description: err.description }] };
    }
  }

  async batch(batch, progress, job) {
    job.show("busy", "Packing…", 0);
    const archive = await zip(batch.map((p) => ({ name: p.name, file: p.file })));
    return this.sendArchive(archive, progress, batch.map((p) => p.name));
  }

  archive(item, progress) {
    return this.sendArchive(new Blob([item.file], { type: item.type }), progress, [item.name]);
  }

  async sendArchive(archive, progress, names) {
    try {
      const answer = await upload(`/tasks/${this.taskId}/images`, archive, progress);
      return { added: answer.items.length, rejected: answer.rejected };
    } catch (err) {
      if (err.status === 422 || err.status === 413) {
        // Nothing of it was kept (the archive is all or nothing): each file is turned down with its reason.
        return { added: 0, rejected: names.map((name) => ({ name, title: err.title, description: err.description })) };
      }
      throw err;
    }
  }
}

export async function startTask(taskId) {
  return api("POST", `/tasks/${taskId}/start`);
}
