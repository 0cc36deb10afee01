// Where each face's label goes on its picture: inside the picture (a box at the edge must not cut
// its label), over no other label, and over as few other faces as can be. A label with no free
// place is left off the picture; the card lists it instead, and hovering or focusing its box shows it.
//
// Everything here is in rendered pixels of the picture; rectangles are {x, y, w, h}.

function intersects(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function overlap(a, b) {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

// Above the box is where people look for it; then below, then inside its top and bottom edges;
// each also aligned to the box's right edge.
function candidates(box, size, picture) {
  const xs = [box.x, box.x + box.w - size.w];
  const ys = [box.y - size.h, box.y + box.h, box.y, box.y + box.h - size.h];
  const places = [];
  for (const y of ys) {
    for (const x of xs) {
      places.push({ x: clamp(x, 0, picture.w - size.w), y: clamp(y, 0, picture.h - size.h), w: size.w, h: size.h });
    }
  }
  return places;
}

// boxes: the faces' rectangles; sizes: each label's {w, h}; picture: {w, h}.
// Answers one rectangle per face, or null for a label left off the picture.
export function placeLabels(boxes, sizes, picture) {
  const placed = new Array(boxes.length).fill(null);
  const taken = [];
  // Top to bottom, left to right: the order people read a group photo in, so neighbours in a row
  // settle their labels in turn.
  const order = boxes.map((_, i) => i).sort((a, b) => boxes[a].y - boxes[b].y || boxes[a].x - boxes[b].x);
  for (const i of order) {
    if (sizes[i].w > picture.w || sizes[i].h > picture.h) continue;
    let best = null;
    let bestCost = Infinity;
    for (const place of candidates(boxes[i], sizes[i], picture)) {
      if (taken.some((t) => intersects(t, place))) continue;
      // Covering another face costs by the area covered; a small preference keeps the order above.
      const cost = boxes.reduce((sum, box, j) => (j === i ? sum : sum + overlap(box, place)), 0);
      if (cost < bestCost) {
        best = place;
        bestCost = cost;
        if (cost === 0) break;
      }
    }
    // A label that would hide most of another face helps nobody: the list beside names it.
    if (best && bestCost <= 0.5 * best.w * best.h) {
      placed[i] = best;
      taken.push(best);
    }
  }
  return placed;
}
