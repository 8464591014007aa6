// Thumbnail sizes from the local density of the layout, computed once per loaded point set (issue #16).
//
// Two works overlap when both their horizontal and vertical gaps are below half their summed sides, so the
// distance that matters is Chebyshev's (L∞): a work whose side is at most its L∞ distance to every other
// work, less what that neighbour takes, hides nothing. Done here, not at build time, because the positions
// drawn are not only the build's: works placed between builds and other layouts reach the browser as plain
// coordinates, and the rule has to hold for whatever set is drawn. A bucket grid makes each pass O(n).
//
// 1. spread(): works closer (L∞) than a floor side are pushed apart, along the axis they are already
//    furthest apart on, until none is (or a pass limit is reached). Exact duplicates are pushed in a
//    direction seeded by their ids, so the same map always comes out the same. The floor follows the
//    map's density: the median gap to the nearest work, and at least the side at which the collection
//    laid edge to edge would cover FILL of its extent (compact t-SNE islands would otherwise leave the
//    first view mostly background).
// 2. touchingSizes(): each work takes the largest side, up to a cap for isolated works, at which it
//    touches but does not overlap its neighbours.

/** Share of the map's extent the works' thumbnails would cover at the floor side. */
export const FILL = 1.3;
/** An isolated work's side, in floor sides: larger than its neighbours, never huge. */
export const CAP = 2;
/** The smallest side drawn, as a share of the largest. */
const MIN_SHARE = 0.15;
/** fitShapes() stops this short of touching (a share of the side). */
const SHAPE_SLACK = 0.98;
/** Relaxation passes at most: each costs O(n), so large maps get fewer (about 60 ms a pass per 100,000 works). */
const PASSES = 60;
const PASS_BUDGET = 1e6; // points × passes

/**
 * A bucket grid of `cell`-sized squares over the points, as typed arrays sorted by cell (rebuilt when the
 * points move); returns around(i): the points in the 3 × 3 cells around point i (i included).
 * @param {Float32Array} xs
 * @param {Float32Array} ys
 * @param {number} cell
 */
function buckets(xs, ys, cell) {
  const n = xs.length;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    if (xs[i] < x0) x0 = xs[i];
    if (xs[i] > x1) x1 = xs[i];
    if (ys[i] < y0) y0 = ys[i];
    if (ys[i] > y1) y1 = ys[i];
  }
  // Never more cells than a few per point: past that, cells grow (the 3 × 3 block still covers `cell`).
  const size = Math.max(cell, Math.max(x1 - x0, y1 - y0) / Math.max(1, Math.sqrt(4 * n)));
  const gx = Math.floor((x1 - x0) / size) + 1, gy = Math.floor((y1 - y0) / size) + 1;
  const cellOf = new Int32Array(n), start = new Int32Array(gx * gy + 1), items = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    cellOf[i] = Math.floor((ys[i] - y0) / size) * gx + Math.floor((xs[i] - x0) / size);
    start[cellOf[i] + 1]++;
  }
  for (let c = 0; c < gx * gy; c++) start[c + 1] += start[c];
  const fill = start.slice(0, gx * gy);
  for (let i = 0; i < n; i++) items[fill[cellOf[i]]++] = i;
  let found = new Int32Array(64);
  // Fills `found` (a buffer reused between calls, not a callback: a callback per pair costs ten times more).
  return (/** @type {number} */ i) => {
    const cx = cellOf[i] % gx, cy = (cellOf[i] - cx) / gx;
    let m = 0;
    for (let y = Math.max(0, cy - 1); y <= Math.min(gy - 1, cy + 1); y++) {
      for (let x = Math.max(0, cx - 1); x <= Math.min(gx - 1, cx + 1); x++) {
        const c = y * gx + x;
        if (m + start[c + 1] - start[c] > found.length) {
          const grown = new Int32Array(2 * (m + start[c + 1] - start[c]));
          grown.set(found.subarray(0, m));
          found = grown;
        }
        for (let k = start[c]; k < start[c + 1]; k++) found[m++] = items[k];
      }
    }
    return found.subarray(0, m);
  };
}

/** The L∞ distance from each point to its nearest other point (Infinity when none is within `reach`). */
export function nearestGaps(/** @type {Float32Array} */ xs, /** @type {Float32Array} */ ys, /** @type {number} */ reach) {
  const around = buckets(xs, ys, reach);
  const gaps = new Float32Array(xs.length).fill(Infinity);
  for (let i = 0; i < xs.length; i++) {
    for (const j of around(i)) {
      if (j === i) continue;
      const d = Math.max(Math.abs(xs[j] - xs[i]), Math.abs(ys[j] - ys[i]));
      if (d < gaps[i]) gaps[i] = d;
    }
  }
  return gaps;
}

/** A deterministic pseudo-random number in [0, 1) from two ids (a pair's push direction). */
export function seeded(/** @type {number} */ a, /** @type {number} */ b) {
  let h = (Math.imul(a | 0, 0x9e3779b1) ^ Math.imul(b | 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296;
}

/** The floor side: the median nearest gap, and at least the side at which the works cover FILL of the extent. */
export function floorSide(/** @type {Float32Array} */ xs, /** @type {Float32Array} */ ys) {
  const n = xs.length;
  if (n < 2) return 1;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, xs[i]); x1 = Math.max(x1, xs[i]);
    y0 = Math.min(y0, ys[i]); y1 = Math.max(y1, ys[i]);
  }
  const span = Math.max(x1 - x0, y1 - y0, 1e-6);
  const fill = Math.sqrt((FILL * Math.max(x1 - x0, span / 4) * Math.max(y1 - y0, span / 4)) / n);
  const gaps = Array.from(nearestGaps(xs, ys, span / Math.sqrt(n))).filter(Number.isFinite).sort((a, b) => a - b);
  const median = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 0;
  return Math.max(fill, median, span * 1e-5);
}

/**
 * Pushes apart the works closer (L∞) than `side`, in place; returns how many passes moved something.
 * @param {Float32Array} xs
 * @param {Float32Array} ys
 * @param {ArrayLike<number>} ids  seeds the direction between exact duplicates
 * @param {number} side
 */
export function spread(xs, ys, ids, side, passes = PASSES) {
  const n = xs.length;
  const mx = new Float32Array(n), my = new Float32Array(n);
  let moved = 0;
  for (let pass = 0; pass < passes; pass++) {
    const around = buckets(xs, ys, side);
    mx.fill(0);
    my.fill(0);
    let any = false;
    for (let i = 0; i < n; i++) {
      for (const j of around(i)) {
        if (j <= i) continue;
        let dx = xs[j] - xs[i], dy = ys[j] - ys[i];
        const d = Math.max(Math.abs(dx), Math.abs(dy));
        if (d >= side) continue;
        any = true;
        if (d < side * 1e-4) {
          // Duplicates: a direction from their ids, not from the order they came in.
          const angle = 2 * Math.PI * seeded(Math.min(ids[i], ids[j]), Math.max(ids[i], ids[j]));
          const sign = ids[i] < ids[j] ? 1 : -1;
          dx = Math.cos(angle) * sign;
          dy = Math.sin(angle) * sign;
        }
        // Along the axis they are furthest apart on: the shortest way to an L∞ gap of `side`. A quarter of
        // the shortfall each per pass, so a work pushed by several neighbours at once does not overshoot.
        const push = (side * 1.02 - d) * 0.4; // aiming a little past `side` ends in few passes
        if (Math.abs(dx) >= Math.abs(dy)) {
          const s = dx >= 0 ? push : -push;
          mx[i] -= s; mx[j] += s;
        } else {
          const s = dy >= 0 ? push : -push;
          my[i] -= s; my[j] += s;
        }
      }
    }
    if (!any) break;
    moved++;
    for (let i = 0; i < n; i++) {
      xs[i] += mx[i];
      ys[i] += my[i];
    }
  }
  return moved;
}

/**
 * Per work, the largest side (at most `cap`) at which it overlaps no other: two works i and j are clear of
 * each other while (side_i + side_j) / 2 <= their L∞ distance. Starts from each work's nearest gap (always
 * clear) and lets each work, in index order, grow into the room its neighbours leave.
 * @param {Float32Array} xs
 * @param {Float32Array} ys
 * @param {number} cap
 * @returns {Float32Array}
 */
export function touchingSizes(xs, ys, cap) {
  const n = xs.length;
  const sizes = nearestGaps(xs, ys, cap);
  for (let i = 0; i < n; i++) sizes[i] = Math.min(cap, sizes[i]);
  const around = buckets(xs, ys, cap);
  for (let i = 0; i < n; i++) {
    let room = cap;
    for (const j of around(i)) {
      if (j === i) continue;
      const d = Math.max(Math.abs(xs[j] - xs[i]), Math.abs(ys[j] - ys[i]));
      room = Math.min(room, 2 * d - sizes[j]);
    }
    sizes[i] = Math.max(sizes[i], room);
  }
  return sizes;
}

/**
 * Spreads the points (in place) and returns each work's side as a share of the largest (`iconSize`).
 * @param {Float32Array} xs
 * @param {Float32Array} ys
 * @param {ArrayLike<number>} ids
 * @returns {{ iconSize: number, sizes: Float32Array, floor: number }}
 */
export function densityLayout(xs, ys, ids) {
  const n = xs.length;
  if (n < 2) return { iconSize: floorSide(xs, ys), sizes: new Float32Array(n).fill(1), floor: 1 };
  const floor = floorSide(xs, ys);
  spread(xs, ys, ids, floor, Math.min(PASSES, Math.max(4, Math.ceil(PASS_BUDGET / n))));
  const sizes = touchingSizes(xs, ys, floor * CAP);
  // The largest side drawn, not the cap: the atlas level and the camera's zoom range follow it.
  let iconSize = 0;
  for (let i = 0; i < n; i++) iconSize = Math.max(iconSize, sizes[i]);
  // A work the passes could not free keeps a visible side (the only case where two may overlap).
  for (let i = 0; i < n; i++) sizes[i] = Math.max(MIN_SHARE, sizes[i] / iconSize);
  return { iconSize, sizes, floor };
}

/**
 * Grows each work's side (a share of `iconSize`, in place, at most 1) into the room its picture's own shape
 * leaves: touchingSizes() keeps a square clear, but a landscape drawn in it leaves bands above and below,
 * so it may widen until its rectangle, not its square, touches a neighbour's. Works are taken in index
 * order, each against its neighbours' current rectangles, so none comes to overlap another (issue #16).
 * @param {Float32Array} xs
 * @param {Float32Array} ys
 * @param {Float32Array} sizes  shares of iconSize, grown in place
 * @param {Float32Array} hw  half width of each picture with its longer side 1 (0 when unknown)
 * @param {Float32Array} hh  half height likewise
 * @param {number} iconSize
 */
export function fitShapes(xs, ys, sizes, hw, hh, iconSize) {
  const n = xs.length;
  if (n < 2) return;
  const around = buckets(xs, ys, iconSize);
  for (let i = 0; i < n; i++) {
    if (!(hw[i] > 0 && hh[i] > 0) || hw[i] === hh[i]) continue; // unknown, or square: nothing to win
    let room = 1;
    for (const j of around(i)) {
      if (j === i) continue;
      const wj = hw[j] > 0 ? hw[j] : 0.5, hj = hh[j] > 0 ? hh[j] : 0.5;
      const dx = Math.abs(xs[j] - xs[i]) / iconSize, dy = Math.abs(ys[j] - ys[i]) / iconSize;
      // Clear of j while either gap holds: side·hw_i + side_j·hw_j <= dx, or the same along y.
      room = Math.min(room, Math.max((dx - sizes[j] * wj) / hw[i], (dy - sizes[j] * hj) / hh[i]));
    }
    // The index's shapes are rounded to whole pixels of a small thumbnail; the picture drawn later has its
    // exact shape, up to about 1 % wider or taller: the slack keeps it clear of the neighbour it touched.
    sizes[i] = Math.max(sizes[i], room * SHAPE_SLACK);
  }
}
