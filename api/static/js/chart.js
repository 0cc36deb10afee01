// The statistics: the numbers, and a small bar chart (inline SVG) of men vs women and mean ages.

import { h, svg } from "./dom.js";

const ROW = 24;
const LABEL_W = 70;
const BAR_W = 170;
const COLORS = { men: "var(--male)", women: "var(--female)", unknown: "var(--unknown)" };

function age(value) {
  return value === null ? "—" : value.toFixed(1);
}

function bars(title, rows, top, max) {
  const parts = [svg("text", { x: 0, y: top + 14, class: "title" }, title)];
  rows.forEach(([label, value, color, text], i) => {
    const y = top + ROW * (i + 1);
    const width = max > 0 && value ? Math.max(2, (value / max) * BAR_W) : 0;
    parts.push(
      svg("text", { x: 0, y: y + 14 }, label),
      svg("rect", { x: LABEL_W, y: y + 3, width, height: 14, rx: 3, fill: color }),
      svg("text", { x: LABEL_W + width + 6, y: y + 14 }, text));
  });
  return parts;
}

export function statistics(stats) {
  const unknown = stats.total_faces - stats.total_males - stats.total_females;
  const counts = [
    ["Men", stats.total_males, COLORS.men, String(stats.total_males)],
    ["Women", stats.total_females, COLORS.women, String(stats.total_females)],
    ["Unknown", unknown, COLORS.unknown, String(unknown)],
  ];
  const ages = [
    ["Men", stats.mean_age_male, COLORS.men, age(stats.mean_age_male)],
    ["Women", stats.mean_age_female, COLORS.women, age(stats.mean_age_female)],
  ];
  const maxAge = Math.max(stats.mean_age_male || 0, stats.mean_age_female || 0);
  const ageTop = ROW * (counts.length + 1) + 8;
  const height = ageTop + ROW * (ages.length + 1);
  const chart = svg("svg", {
    id: "stats-chart", class: "chart", width: LABEL_W + BAR_W + 50, height, role: "img",
    "aria-label": `Men ${stats.total_males}, women ${stats.total_females}; mean age of men ${age(stats.mean_age_male)}, `
      + `of women ${age(stats.mean_age_female)}`,
  }, bars("Faces", counts, 0, Math.max(...counts.map((c) => c[1]))), bars("Mean age", ages, ageTop, maxAge));
  const numbers = h("dl", { id: "stats-numbers" }, [
    ["Faces", stats.total_faces], ["Men", stats.total_males], ["Women", stats.total_females],
    ["Mean age of men", age(stats.mean_age_male)], ["Mean age of women", age(stats.mean_age_female)],
  ].map(([term, value]) => [h("dt", {}, term), h("dd", {}, String(value))]));
  return h("div", { class: "stats" }, numbers, chart);
}
