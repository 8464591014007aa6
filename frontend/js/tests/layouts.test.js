import assert from "node:assert/strict";
import { test } from "node:test";
import { CELL_FILL, LABEL_GAP, layoutPoints, spacedLabels } from "../map/layouts.js";
import { makePoints } from "../map/points.js";
import { morphEase } from "../map/scene.js";
import { parseState, stateToSearch } from "../lib/urlstate.js";

test("a layout keeps the points' ids and lookups and sizes icons to its cells", () => {
  const base = makePoints({ ids: [7, 3, 9], x: [0, 100, 200], y: [0, 0, 50], scale: 1000 });
  const grid = layoutPoints(base, { x: [-500, 0, 500], y: [0, 0, 0], scale: 1000, cell: 500 });
  assert.deepEqual([...grid.ids], [7, 3, 9]);
  assert.equal(grid.pointOf.get(9), 2);
  assert.deepEqual([...grid.xs], [-0.5, 0, 0.5]);
  assert.ok(Math.abs(grid.iconSize - 0.5 * CELL_FILL) < 1e-9);
  assert.ok(grid.iconSize < 0.5, "neighbouring cells' icons keep a gap");
  assert.ok(grid.bbox[0] < -0.5 && grid.bbox[2] > 0.5);
  assert.notEqual(grid.index, base.index);
  assert.equal(base.xs[1], Math.fround(0.1), "the t-SNE points are left as they were");
});

test("the switch eases from 0 to 1 without overshooting", () => {
  assert.equal(morphEase(-1), 0);
  assert.equal(morphEase(0), 0);
  assert.equal(morphEase(0.5), 0.5);
  assert.equal(morphEase(2), 1);
  let last = 0;
  for (let k = 1; k <= 100; k++) {
    const v = morphEase(k / 100);
    assert.ok(v >= last && v <= 1);
    last = v;
  }
});

test("the URL keeps the layout, and the t-SNE layout stays out of it", () => {
  assert.equal(parseState(stateToSearch({ map: "all", layout: "grid", filters: {} })).layout, "grid");
  assert.ok(!stateToSearch({ map: "all", layout: "tsne", filters: {} }).includes("layout"));
  assert.equal(parseState("?layout=grid%3Cscript%3E").layout, null);
  assert.equal(parseState("?map=all").layout, null);
});

test("timeline labels never overlap: first, last and every k-th shown, more when zoomed in", () => {
  const widths = new Array(30).fill(40);
  const at = (/** @type {number} */ pitch) => widths.map((_, i) => i * pitch);
  const overlapFree = (/** @type {number[]} */ xs, /** @type {boolean[]} */ shown) => {
    const kept = xs.filter((_, i) => shown[i]);
    return kept.every((x, j) => j === 0 || x - kept[j - 1] >= 40 + LABEL_GAP);
  };
  const tight = spacedLabels(at(12), widths);
  assert.ok(overlapFree(at(12), tight));
  assert.ok(tight[0] && tight[29], "the first and last label stay");
  const loose = spacedLabels(at(30), widths);
  assert.ok(overlapFree(at(30), loose));
  const count = (/** @type {boolean[]} */ s) => s.filter(Boolean).length;
  assert.ok(count(tight) >= 3 && count(loose) > count(tight), `${count(tight)} then ${count(loose)}`);
  assert.ok(spacedLabels(at(60), widths).every(Boolean), "room for all: all shown");
});
