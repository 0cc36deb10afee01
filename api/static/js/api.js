// Every call to /api/v1 goes through here, with the signed-in credentials (credentials.js) and the
// X-Requested-With header, which tells the API not to challenge: a 401 then shows the page's own
// sign-in form (the "facetasks:signin" event) rather than the browser's Basic prompt. Images and the
// CSV are fetched here too (as blobs), since <img src> and plain links cannot carry the header.

import { authorization } from "./credentials.js";

export class ApiError extends Error {
  constructor(status, title, description) {
    super(`${title}: ${description}`);
    this.status = status;
    this.title = title;
    this.description = description;
  }
}

export const SIGN_IN_EVENT = "facetasks:signin";

export function headers(extra = {}) {
  const all = { Accept: "application/json", "X-Requested-With": "XMLHttpRequest", ...extra };
  const auth = authorization();
  if (auth) all.Authorization = auth;
  return all;
}

// The page's address without user:password@, when it has them; null otherwise.
export function addressWithoutCredentials() {
  const address = new URL(document.URL);
  if (!address.username && !address.password) return null;
  address.username = "";
  address.password = "";
  return address.href;
}

// Why a request got no answer at all, as precisely as the browser lets the page know.
export function unreachable() {
  const clean = addressWithoutCredentials();
  if (clean) {
    return new ApiError(0, "The address holds a password",
      `This page was opened with a user name and password in its address, and browsers refuse to send the page's `
      + `requests from such an address. Open ${clean} instead and sign in on the page.`);
  }
  if (!navigator.onLine) {
    return new ApiError(0, "Offline", "This browser is offline; reconnect and try again.");
  }
  return new ApiError(0, "No answer",
    `The service at ${location.origin} did not answer; check that it is running and try again.`);
}

async function request(method, path, init = {}) {
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { method, credentials: "omit", cache: "no-store", ...init,
      headers: headers(init.headers) });
  } catch {
    throw unreachable();
  }
  if (response.ok || response.status === 304) return response;
  let body = {};
  try {
    body = await response.json();
  } catch {
    // Not our JSON (a proxy's page, say): the status line is all there is.
  }
  throw failure(response.status, body, response.statusText);
}

export function failure(status, body, statusText) {
  if (status === 401) {
    window.dispatchEvent(new CustomEvent(SIGN_IN_EVENT));
    return new ApiError(401, "Sign-in needed", "This service needs a user name with a password or an API key.");
  }
  if (status === 429 && body.description) return new ApiError(429, body.title || "Too many requests", body.description);
  return new ApiError(status, body.title || statusText || "Error",
    body.description || `The service answered ${status}${statusText ? ` ${statusText}` : ""}.`);
}

export async function api(method, path, { json, body } = {}) {
  const init = {};
  if (json !== undefined) {
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await request(method, path, init);
  return response.status === 204 ? null : response.json();
}

// A GET of a task or of its images that answers null when nothing changed since `etag` (a 304),
// so polling a running task costs the service a row read and a few bytes.
export async function fresh(path, etag) {
  const response = await request("GET", path, { headers: etag ? { "If-None-Match": etag } : {} });
  if (response.status === 304) return null;
  return { body: await response.json(), etag: response.headers.get("ETag") };
}

// The bytes at `path` (an image, the CSV), signed in.
export async function blob(path) {
  const response = await request("GET", path, { headers: { Accept: "*/*" } });
  return response.blob();
}

// POST `body` with upload progress, which fetch does not report: onProgress(sentBytes, totalBytes).
export function upload(path, body, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1${path}`);
    for (const [name, value] of Object.entries(headers())) xhr.setRequestHeader(name, value);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0));
    xhr.addEventListener("load", () => {
      const answer = xhr.response || {};
      if (xhr.status >= 200 && xhr.status < 300) resolve(answer);
      else reject(failure(xhr.status, answer, xhr.statusText));
    });
    xhr.addEventListener("error", () => reject(unreachable()));
    xhr.send(body);
  });
}

export const imagePath = (taskId, imageId, kind = "file") => `/tasks/${taskId}/images/${imageId}/${kind}`;
