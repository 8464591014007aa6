import assert from "node:assert/strict";
import { test } from "node:test";
import { createStore, touched } from "../map/store.js";
import { makePoints, pickAt } from "../map/points.js";
import { Camera } from "../lib/camera.js";

test("update merges a patch and tells subscribers which keys changed", () => {
  const store = createStore({ hover: -1, selected: -1, filters: {} });
  const seen = [];
  store.subscribe((state, changed) => seen.push([{ ...state }, [...changed].sort()]));
  store.update({ hover: 3, selected: -1 });
  assert.deepEqual(seen, [[{ hover: 3, selected: -1, filters: {} }, ["hover"]]]);
  assert.equal(store.state.hover, 3);
});

test("an update that changes nothing notifies nobody", () => {
  const store = createStore({ hover: 2 });
  let calls = 0;
  store.subscribe(() => calls++);
  store.update({ hover: 2 });
  assert.equal(calls, 0);
});

test("state is replaced, not mutated, so a kept reference still shows the old state", () => {
  const store = createStore({ selected: -1 });
  const before = store.state;
  store.update({ selected: 5 });
  assert.equal(before.selected, -1);
  assert.equal(store.state.selected, 5);
});

test("unsubscribing stops the calls", () => {
  const store = createStore({ n: 0 });
  let calls = 0;
  const stop = store.subscribe(() => calls++);
  store.update({ n: 1 });
  stop();
  store.update({ n: 2 });
  assert.equal(calls, 1);
});

test("touched says whether any of the keys changed", () => {
  assert.equal(touched(new Set(["view"]), "hover", "view"), true);
  assert.equal(touched(new Set(["view"]), "hover"), false);
});

test("points from the API are scaled to map units and indexed by id", () => {
  const points = makePoints({ ids: [10, 11, 12], x: [0, 32767, -32767], y: [0, 0, 32767], scale: 32767 });
  assert.equal(points.n, 3);
  assert.deepEqual([...points.xs], [0, 1, -1]);
  assert.equal(points.pointOf.get(12), 2);
  assert.equal(points.pointOfWork, points.pointOf);
  assert.ok(points.iconSize > 0 && points.bbox[0] < -1 && points.bbox[2] > 1);
});

test("the map's box is where thumbnails are drawn: the points' extent and half their own thumbnail, not the [-1, 1] square", () => {
  const points = makePoints({ ids: [1, 2, 3, 4], x: [-5000, 5000, -5000, 5000], y: [-2000, -2000, 2000, 2000], scale: 10000 });
  // Each work as large as its neighbours allow (density.js): here 0.4, the gap between the rows.
  const half = (points.sizes[0] * points.iconSize) / 2;
  assert.ok(Math.abs(half - 0.2) < 1e-6 && points.sizes.every((s) => s === points.sizes[0]));
  const expected = [-0.5 - half, -0.2 - half, 0.5 + half, 0.2 + half];
  points.bbox.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `bbox ${points.bbox} != ${expected}`));
});

test("on a faces map a work's first face stands for the work", () => {
  const points = makePoints({ ids: [1, 2, 3], x: [0, 10, 20], y: [0, 0, 0], scale: 10, subject: "faces", artworks: [7, 7, 8] });
  assert.equal(points.faces, true);
  assert.equal(points.pointOfWork.get(7), 0);
  assert.equal(points.pointOfWork.get(8), 2);
});

test("picking finds the work under the pointer and nothing in empty space", () => {
  const points = makePoints({ ids: [1, 2], x: [-10, 10], y: [0, 0], scale: 10 });
  const camera = new Camera({ width: 400, height: 400 });
  camera.set(0, 0, 100);
  const square = (/** @type {number} */ p) => [0.5 * points.sizes[p], 0.5 * points.sizes[p]];
  const [sx, sy] = camera.toScreen(1, 0);
  assert.equal(pickAt(points, camera, square, sx, sy), 1);
  // The two touch (each is as wide as the gap between them); above them is empty.
  const [ex, ey] = camera.toScreen(0, 1.5);
  assert.equal(pickAt(points, camera, square, ex, ey), -1);
});
