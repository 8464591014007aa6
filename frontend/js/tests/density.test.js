import assert from "node:assert/strict";
import { test } from "node:test";
import { CAP, densityLayout, fitShapes, floorSide, seeded, spread, touchingSizes } from "../map/density.js";

/** Seeded islands of very different density, like a t-SNE map, plus stragglers and exact duplicates. */
function islands(seed = 1) {
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const xs = [], ys = [];
  for (const [cx, cy, spreadOf, n] of [[-0.5, -0.4, 0.05, 120], [0.5, 0.3, 0.15, 80], [0, 0.7, 0.02, 40]]) {
    for (let i = 0; i < n; i++) { xs.push(cx + gauss() * spreadOf); ys.push(cy + gauss() * spreadOf); }
  }
  for (let i = 0; i < 20; i++) { xs.push(rand() * 2 - 1); ys.push(rand() * 2 - 1); }
  for (let i = 0; i < 7; i++) { xs.push(0.1); ys.push(-0.2); } // seven copies of one work
  return { xs: Float32Array.from(xs), ys: Float32Array.from(ys), ids: Int32Array.from(xs, (_, i) => 1000 + i) };
}

function overlaps(xs, ys, sides) {
  let count = 0;
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      const d = Math.max(Math.abs(xs[i] - xs[j]), Math.abs(ys[i] - ys[j]));
      if (d < (sides[i] + sides[j]) / 2 - 1e-6) count++;
    }
  }
  return count;
}

test("no thumbnail hides another, duplicates included", () => {
  const { xs, ys, ids } = islands();
  const before = overlaps(xs, ys, new Float32Array(xs.length).fill(floorSide(xs, ys)));
  assert.ok(before > 100, `the islands overlap at the floor side before (${before})`);
  const { iconSize, sizes } = densityLayout(xs, ys, ids);
  assert.equal(overlaps(xs, ys, Array.from(sizes, (s) => s * iconSize)), 0);
  assert.ok(Math.max(...sizes) <= 1 && Math.min(...sizes) > 0.25, `sides ${Math.min(...sizes)}..${Math.max(...sizes)}`);
});

test("the seven copies of one work end up apart, the same way every time", () => {
  const a = islands(), b = islands();
  densityLayout(a.xs, a.ys, a.ids);
  densityLayout(b.xs, b.ys, b.ids);
  assert.deepEqual(a.xs, b.xs);
  assert.deepEqual(a.ys, b.ys);
  const copies = [...Array(7).keys()].map((k) => a.xs.length - 7 + k);
  const spots = new Set(copies.map((p) => `${a.xs[p].toFixed(4)},${a.ys[p].toFixed(4)}`));
  assert.equal(spots.size, 7);
});

test("sizes follow the room: a lone work gets the cap, a tight pair touches", () => {
  const xs = Float32Array.from([0, 0.1, 5]), ys = Float32Array.from([0, 0.05, 5]);
  const sides = touchingSizes(xs, ys, 1);
  assert.deepEqual(Array.from(sides.slice(0, 2), (s) => +s.toFixed(4)), [0.1, 0.1]); // L∞ gap 0.1: touching
  assert.equal(sides[2], 1); // alone: the cap, not more
  assert.equal(CAP > 1, true);
});

test("spread stops moving once every pair is a floor apart", () => {
  const xs = Float32Array.from([0, 0.5, 1]), ys = Float32Array.from([0, 0, 0]);
  assert.equal(spread(xs, ys, [1, 2, 3], 0.4), 0);
  assert.deepEqual(Array.from(xs), [0, 0.5, 1]);
  assert.ok(seeded(1, 2) !== seeded(2, 1) && seeded(1, 2) >= 0 && seeded(1, 2) < 1);
});

test("a landscape widens into the room its square left, and no picture comes to hide another", () => {
  const { xs, ys, ids } = islands(5);
  const { iconSize, sizes } = densityLayout(xs, ys, ids);
  const n = xs.length;
  // Every third picture is a 2:1 landscape, every third a 1:2 portrait, the rest square.
  const hw = Float32Array.from({ length: n }, (_, i) => [0.5, 0.5, 0.25][i % 3]);
  const hh = Float32Array.from({ length: n }, (_, i) => [0.5, 0.25, 0.5][i % 3]);
  const before = Float32Array.from(sizes);
  fitShapes(xs, ys, sizes, hw, hh, iconSize);
  const area = (s) => s.reduce((sum, v, i) => sum + v * v * 4 * hw[i] * hh[i], 0);
  assert.ok(area(sizes) > 1.1 * area(before), `${area(sizes)} vs ${area(before)}`);
  assert.ok(sizes.every((s, i) => s >= before[i] && s <= 1 + 1e-6));
  let hidden = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const ox = (sizes[i] * hw[i] + sizes[j] * hw[j]) * iconSize - Math.abs(xs[i] - xs[j]);
      const oy = (sizes[i] * hh[i] + sizes[j] * hh[j]) * iconSize - Math.abs(ys[i] - ys[j]);
      // the seven copies the passes could not free may touch (MIN_SHARE): only count pairs that were clear
      const wasClear = (before[i] + before[j]) * iconSize / 2 <= Math.max(Math.abs(xs[i] - xs[j]), Math.abs(ys[i] - ys[j])) + 1e-6;
      if (wasClear && ox > 1e-6 && oy > 1e-6) hidden++;
    }
  }
  assert.equal(hidden, 0);
});
