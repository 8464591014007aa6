import assert from "node:assert/strict";
import { test } from "node:test";
import { CAP, densityLayout, floorSide, seeded, spread, touchingSizes } from "../map/density.js";

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
