// A uniform grid over the map's points: viewport queries, nearest work under the pointer, lasso tests.

export class GridIndex {
  constructor(xs, ys, { perCell = 4 } = {}) {
    const n = xs.length;
    this.xs = xs;
    this.ys = ys;
    this.n = n;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = xs[i], y = ys[i];
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    if (!n) { minX = minY = -1; maxX = maxY = 1; }
    const span = Math.max(maxX - minX, maxY - minY, 1e-9);
    this.bbox = [minX, minY, maxX, maxY];
    this.g = Math.max(1, Math.min(2048, Math.ceil(Math.sqrt(n / perCell))));
    this.cellSize = (span / this.g) * 1.000001;
    this.minX = minX;
    this.minY = minY;
    const g = this.g;
    const counts = new Uint32Array(g * g + 1);
    const cellOf = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const c = this.cellIndex(xs[i], ys[i]);
      cellOf[i] = c;
      counts[c + 1]++;
    }
    for (let c = 0; c < g * g; c++) counts[c + 1] += counts[c];
    this.start = counts;
    this.items = new Uint32Array(n);
    const fillAt = counts.slice(0, g * g);
    for (let i = 0; i < n; i++) this.items[fillAt[cellOf[i]]++] = i;
  }

  clampCell(v) {
    return Math.max(0, Math.min(this.g - 1, Math.floor(v)));
  }

  cellIndex(x, y) {
    return this.clampCell((y - this.minY) / this.cellSize) * this.g + this.clampCell((x - this.minX) / this.cellSize);
  }

  /** Calls fn(i) for every point inside [x0, x1] × [y0, y1]; stops early when fn returns false. */
  forEachInRect(x0, y0, x1, y1, fn) {
    const c0 = this.clampCell((x0 - this.minX) / this.cellSize), c1 = this.clampCell((x1 - this.minX) / this.cellSize);
    const r0 = this.clampCell((y0 - this.minY) / this.cellSize), r1 = this.clampCell((y1 - this.minY) / this.cellSize);
    const { xs, ys, items, start, g } = this;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * g + c;
        for (let k = start[cell]; k < start[cell + 1]; k++) {
          const i = items[k];
          const x = xs[i], y = ys[i];
          if (x >= x0 && x <= x1 && y >= y0 && y <= y1 && fn(i) === false) return;
        }
      }
    }
  }

  /** Up to `limit` point indices in the rectangle (the count stops there). */
  queryRect(x0, y0, x1, y1, limit = Infinity) {
    const out = [];
    this.forEachInRect(x0, y0, x1, y1, (i) => {
      out.push(i);
      return out.length < limit;
    });
    return out;
  }

  /** The nearest point within `radius`, or -1. */
  nearest(x, y, radius) {
    let best = -1, bestD = radius * radius;
    this.forEachInRect(x - radius, y - radius, x + radius, y + radius, (i) => {
      const dx = this.xs[i] - x, dy = this.ys[i] - y;
      const d = dx * dx + dy * dy;
      if (d <= bestD) { bestD = d; best = i; }
    });
    return best;
  }

  /** The k nearest points to (x, y) (grows the search square until it has them). */
  kNearest(x, y, k) {
    if (!this.n) return [];
    let radius = this.cellSize;
    const span = Math.max(this.bbox[2] - this.bbox[0], this.bbox[3] - this.bbox[1]) * 2 + this.cellSize;
    let found;
    for (;;) {
      found = this.queryRect(x - radius, y - radius, x + radius, y + radius);
      if (found.length >= k || radius > span) break;
      radius *= 2;
    }
    const d = (i) => (this.xs[i] - x) ** 2 + (this.ys[i] - y) ** 2;
    return found.sort((a, b) => d(a) - d(b)).slice(0, k);
  }

  /** A typical spacing between neighbouring points: the median nearest-neighbour distance of a sample. */
  typicalSpacing(sample = 2000) {
    if (this.n < 2) return Math.max(this.bbox[2] - this.bbox[0], this.bbox[3] - this.bbox[1], 1) / 2;
    const step = Math.max(1, Math.floor(this.n / sample));
    const ds = [];
    for (let i = 0; i < this.n; i += step) {
      const near = this.kNearest(this.xs[i], this.ys[i], 2);
      if (near.length === 2) ds.push(Math.hypot(this.xs[near[1]] - this.xs[i], this.ys[near[1]] - this.ys[i]));
    }
    ds.sort((a, b) => a - b);
    const median = ds.length ? ds[Math.floor(ds.length / 2)] : 0;
    return median > 0 ? median : this.cellSize;
  }
}

/** Even-odd rule; polygon is a flat [x0, y0, x1, y1, …] array. */
export function pointInPolygon(x, y, poly) {
  let inside = false;
  const n = poly.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = poly[2 * i], yi = poly[2 * i + 1], xj = poly[2 * j], yj = poly[2 * j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Indices of the points inside a polygon (flat array of world coordinates). */
export function selectInPolygon(index, poly) {
  if (poly.length < 6) return [];
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let k = 0; k < poly.length; k += 2) {
    x0 = Math.min(x0, poly[k]); x1 = Math.max(x1, poly[k]);
    y0 = Math.min(y0, poly[k + 1]); y1 = Math.max(y1, poly[k + 1]);
  }
  const out = [];
  index.forEachInRect(x0, y0, x1, y1, (i) => {
    if (pointInPolygon(index.xs[i], index.ys[i], poly)) out.push(i);
  });
  return out.sort((a, b) => a - b);
}
