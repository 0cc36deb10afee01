// The credentials typed into the sign-in form, kept for this tab only (sessionStorage): they go
// when the tab closes, and another tab asks again. Never in localStorage, never in a cookie.

const KEY = "facetasks.credentials";

export function stored() {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return value && typeof value.secret === "string" ? value : null;
  } catch {
    return null;
  }
}

export function store(user, secret) {
  sessionStorage.setItem(KEY, JSON.stringify({ user, secret }));
}

export function forget() {
  sessionStorage.removeItem(KEY);
}

// btoa takes Latin-1 only; names and passwords may be in any script, so encode as UTF-8 first
// (what the API decodes, and what browsers send for their own prompt).
function base64(text) {
  return btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(""));
}

// An API key alone goes as a Bearer token; a name with a password or a key goes as Basic.
export function authorization(credentials = stored()) {
  if (!credentials) return null;
  const { user, secret } = credentials;
  if (!user && secret.startsWith("ft_")) return `Bearer ${secret}`;
  return `Basic ${base64(`${user}:${secret}`)}`;
}
