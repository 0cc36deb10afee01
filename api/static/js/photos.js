// The task's photos, fetched signed in (an <img src> cannot carry the Authorization header), a few
// at a time, and kept for a while: the image grid and the faces view show the same photos.

import { blob, imagePath } from "./api.js";

const KEEP = 120;
const PARALLEL = 4;
const blobs = new Map(); // path -> Promise<Blob>, oldest first
let running = 0;
const waiting = [];

async function limited(job) {
  if (running >= PARALLEL) await new Promise((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await job();
  } finally {
    running -= 1;
    if (waiting.length) waiting.shift()();
  }
}

export function photo(taskId, imageId, kind = "file") {
  const path = imagePath(taskId, imageId, kind);
  let promise = blobs.get(path);
  if (promise) {
    blobs.delete(path); // to the back of the line: used just now
  } else {
    promise = limited(() => blob(path));
    promise.catch(() => blobs.delete(path)); // a failure is not kept: the next look tries again
  }
  blobs.set(path, promise);
  while (blobs.size > KEEP) blobs.delete(blobs.keys().next().value);
  return promise;
}
