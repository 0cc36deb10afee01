// Every call to /api/v1 goes through here. Same-origin requests: when the service has Basic auth
// configured, the browser asks for the credentials on the first 401 (its own prompt) and resends
// them on every later request, the <img> loads included; the page never sees or stores them.

export class ApiError extends Error {
  constructor(status, title, description) {
    super(`${title}: ${description}`);
    this.status = status;
    this.title = title;
    this.description = description;
  }
}

export async function api(method, path, { json, body } = {}) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch {
    throw new ApiError(0, "No answer", "The service did not answer; check that it is running and try again.");
  }
  if (response.ok) return response.status === 204 ? null : response.json();
  throw await failure(response);
}

// A GET of a task or of its images that answers null when nothing changed since `etag` (a 304),
// so polling a running task costs the service a row read and a few bytes.
export async function fresh(path, etag) {
  const headers = { Accept: "application/json" };
  if (etag) headers["If-None-Match"] = etag;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { headers, credentials: "same-origin", cache: "no-store" });
  } catch {
    throw new ApiError(0, "No answer", "The service did not answer; check that it is running and try again.");
  }
  if (response.status === 304) return null;
  if (response.ok) return { body: await response.json(), etag: response.headers.get("ETag") };
  throw await failure(response);
}

async function failure(response) {
  let error = {};
  try {
    error = await response.json();
  } catch {
    // Not our JSON (a proxy's page, say): the status line is all there is.
  }
  if (response.status === 401) {
    // The browser's prompt was cancelled (or the credentials were wrong).
    return new ApiError(401, "Sign-in needed",
      "This service needs a user name and password. Reload the page to be asked for them again.");
  }
  return new ApiError(response.status, error.title || response.statusText || "Error",
    error.description || `The service answered ${response.status}.`);
}

export const imageUrl = (taskId, imageId, kind = "file") => `/api/v1/tasks/${taskId}/images/${imageId}/${kind}`;
