// Small DOM helpers. Text always goes in as text nodes, never as HTML, so names from users are inert.

export function h(tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs = {}, ...children) {
  return fill(document.createElementNS("http://www.w3.org/2000/svg", tag), attrs, children);
}

function fill(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") Object.assign(el.style, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  el.append(...nodes(children));
  return el;
}

// Children as nodes: nested arrays flattened, null/undefined/false (a condition not met) left out.
function nodes(children) {
  return children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : String(c)));
}

export function replace(el, ...children) {
  el.replaceChildren(...nodes(children));
}

// "female · 28": whole years, half up, as the annotated JPEG writes it.
export function faceLabel(face) {
  return `${face.gender} · ${Math.round(face.age)}`;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

export function badge(status) {
  return h("span", { class: "badge", dataset: { status } }, status);
}

export function bytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}
