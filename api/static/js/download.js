// Saving what the page fetched (signed in) as a file: a plain link to the API could not carry
// the credentials. The object URL lives long enough for the browser to start the download.

import { h } from "./dom.js";

export function downloadBlob(data, filename) {
  const url = URL.createObjectURL(data);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return url;
}

// A file name from a task's name: what file systems accept, never empty.
export function fileName(name, fallback) {
  const cleaned = (name || "").replace(/[\\/:*?"<>|\u0000-\u001f]+/g, " ").trim().slice(0, 100);
  return cleaned || fallback;
}
