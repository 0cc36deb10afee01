// What a person dropped or picked, as a flat list of {file, name}: folders are walked (a dropped
// folder, or one picked with the folder picker), and each file is named by its path below the
// folder dropped, as the command line names them. Also the folder's name, for the task's name.

const HIDDEN = /(^|\/)\./; // .DS_Store, .thumbnails/…: never photos someone chose

function readAll(reader) {
  // readEntries answers a hundred or so at a time: call until it answers nothing.
  return new Promise((resolve, reject) => {
    const entries = [];
    const next = () => reader.readEntries((batch) => {
      if (!batch.length) resolve(entries);
      else { entries.push(...batch); next(); }
    }, reject);
    next();
  });
}

async function walk(entry, prefix, out) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    out.push({ file, name: prefix + entry.name });
  } else if (entry.isDirectory) {
    const children = await readAll(entry.createReader());
    children.sort((a, b) => a.name.localeCompare(b.name));
    for (const child of children) await walk(child, `${prefix}${entry.name}/`, out);
  }
}

function withoutTop(path) {
  const slash = path.indexOf("/");
  return slash < 0 ? path : path.slice(slash + 1);
}

// From a drop: DataTransferItems (folders readable) when the browser gives them, else the files.
export async function fromDrop(dataTransfer) {
  const entries = [...(dataTransfer.items || [])].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry())
    .filter(Boolean);
  if (!entries.length) return fromFiles(dataTransfer.files);
  const out = [];
  for (const entry of entries) await walk(entry, "", out);
  const folders = entries.filter((e) => e.isDirectory);
  // One folder dropped: its files are named below it, and it names the task.
  if (folders.length === 1 && entries.length === 1) {
    return { folder: folders[0].name, items: keep(out.map((i) => ({ ...i, name: withoutTop(i.name) }))) };
  }
  return { folder: folders.length ? folders[0].name : null, items: keep(out) };
}

// From a file input: plain files, or (webkitdirectory) a folder's files with their relative paths.
export function fromFiles(files) {
  const list = [...files];
  const relative = list.length && list[0].webkitRelativePath;
  if (relative) {
    const folder = relative.split("/")[0];
    const items = list.map((file) => ({ file, name: withoutTop(file.webkitRelativePath) }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return { folder, items: keep(items) };
  }
  return { folder: null, items: keep(list.map((file) => ({ file, name: file.name }))) };
}

function keep(items) {
  return items.filter((i) => !HIDDEN.test(i.name));
}

const JPEG = /\.(jpe?g|jpe)$/i;
const ARCHIVES = [[/\.zip$/i, "application/zip"], [/\.(tar\.gz|tgz)$/i, "application/gzip"], [/\.tar$/i, "application/x-tar"]];

// What to send: photos, archives as they are (with the type the API reads them by), and the rest
// left out with a reason.
export function sortOut(items) {
  const photos = [];
  const archives = [];
  const others = [];
  for (const item of items) {
    const archive = ARCHIVES.find(([pattern]) => pattern.test(item.name));
    if (archive) archives.push({ ...item, type: archive[1] });
    else if (JPEG.test(item.name)) photos.push(item);
    else others.push({ name: item.name, title: "Not sent", description: "Only JPEG photos and ZIP or TAR archives of them are accepted." });
  }
  return { photos, archives, others };
}

// The task's name: the folder's, else the first file's without its extension.
export function defaultName(picked) {
  if (picked.folder) return picked.folder;
  const first = picked.items[0];
  if (!first) return "";
  const base = first.name.split("/").pop();
  return base.replace(/\.(tar\.gz|tgz|[^.]+)$/i, "") || base;
}
