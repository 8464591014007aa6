import assert from "node:assert/strict";
import { test } from "node:test";
import { GridIndex, pointInPolygon, selectInPolygon } from "../lib/spatial.js";
import { parseState, stateToSearch } from "../lib/urlstate.js";

function random(n, seed = 1) {
  let s = seed;
  const next = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  return [Float32Array.from({ length: n }, next), Float32Array.from({ length: n }, next)];
}

test("rectangle queries find exactly the points inside", () => {
  const [xs, ys] = random(5000);
  const index = new GridIndex(xs, ys);
  const found = index.queryRect(0.2, 0.3, 0.5, 0.6).sort((a, b) => a - b);
  const expected = [];
  for (let i = 0; i < xs.length; i++) if (xs[i] >= 0.2 && xs[i] <= 0.5 && ys[i] >= 0.3 && ys[i] <= 0.6) expected.push(i);
  assert.deepEqual(found, expected);
  assert.equal(index.queryRect(0, 0, 1, 1, 10).length, 10);
});

test("nearest and k nearest", () => {
  const index = new GridIndex(new Float32Array([0, 1, 0.5]), new Float32Array([0, 1, 0.52]));
  assert.equal(index.nearest(0.45, 0.5, 0.2), 2);
  assert.equal(index.nearest(0.45, 0.5, 0.01), -1);
  assert.deepEqual(index.kNearest(0.9, 0.9, 2), [1, 2]);
  assert.ok(index.typicalSpacing() > 0);
});

test("lasso selection (even-odd rule)", () => {
  const square = [0, 0, 1, 0, 1, 1, 0, 1];
  assert.ok(pointInPolygon(0.5, 0.5, square));
  assert.ok(!pointInPolygon(1.5, 0.5, square));
  const [xs, ys] = random(2000, 7);
  const index = new GridIndex(xs, ys);
  const triangle = [0, 0, 1, 0, 0, 1];
  const inside = selectInPolygon(index, triangle);
  for (const i of inside) assert.ok(xs[i] + ys[i] <= 1.0001);
  assert.ok(inside.length > 800 && inside.length < 1200);
});

test("URL state round trip", () => {
  const state = { map: "all", x: 0.12345, y: -0.5, z: 2.5, sel: 42, filters: { artist: "Monet", year_min: "1870" } };
  const back = parseState(stateToSearch(state));
  assert.equal(back.map, "all");
  assert.ok(Math.abs(back.x - 0.12345) < 1e-5);
  assert.equal(back.z, 2.5);
  assert.equal(back.sel, 42);
  assert.deepEqual(back.filters, { year_min: "1870", artist: "Monet" });
  assert.deepEqual(parseState("?x=abc&sel=1.5").x, null);
  assert.equal(parseState("?sel=1.5").sel, null);
});
