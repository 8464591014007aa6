import assert from "node:assert/strict";
import { test } from "node:test";
import { derivativeFor, fit, imageRect, layoutLevel, levelFor, parseIndex } from "../lib/atlas.js";

test("fit matches maps.atlas.fit (round half up)", () => {
  assert.deepEqual(fit(400, 300, 126), [126, 95]);
  assert.deepEqual(fit(300, 400, 126), [95, 126]);
  assert.deepEqual(fit(1, 1000, 6), [1, 6]);
});

test("image rectangles fill cells row by row", () => {
  assert.deepEqual(imageRect(0, 255, 255, 32, 64), { sheet: 0, x: 1, y: 1, w: 30, h: 30 });
  const r = imageRect(65, 255, 128, 32, 64); // second row, second column; landscape centred vertically
  assert.equal(r.sheet, 0);
  assert.equal(r.x, 32 + 1);
  assert.equal(r.w, 30);
  assert.equal(r.h, 15);
  assert.equal(r.y, 32 + 1 + ((30 - 15) >> 1));
  assert.equal(imageRect(4096, 255, 255, 32, 64).sheet, 1);
});

function index(ids, widths, heights) {
  const n = ids.length;
  const buf = new ArrayBuffer(8 + 6 * n);
  const bytes = new Uint8Array(buf);
  bytes.set([65, 84, 76, 49]);
  new DataView(buf).setUint32(4, n, true);
  new Int32Array(buf, 8, n).set(ids);
  bytes.set(widths, 8 + 4 * n);
  bytes.set(heights, 8 + 5 * n);
  return buf;
}

test("parseIndex reads the binary index", () => {
  const parsed = parseIndex(index([7, 3, 1000000], [255, 128, 255], [191, 255, 255]));
  assert.equal(parsed.n, 3);
  assert.deepEqual([...parsed.ids], [7, 3, 1000000]);
  assert.deepEqual([...parsed.widths], [255, 128, 255]);
  assert.throws(() => parseIndex(new ArrayBuffer(8)));
});

test("layoutLevel skips works no longer on the map and normalises UVs", () => {
  const idx = parseIndex(index([10, 11, 12], [255, 255, 128], [255, 128, 255]));
  const xs = new Float32Array([0.1, 0.2]);
  const ys = new Float32Array([0.3, 0.4]);
  const pointOf = (i) => [0, -1, 1][i];
  const level = { cell: 16, columns: 4, sheets: [{ first: 0, count: 3, width: 64, height: 16, bbox: [0, 0, 1, 1] }] };
  const [sheet] = layoutLevel(level, idx, xs, ys, pointOf);
  assert.equal(sheet.n, 2);
  assert.deepEqual([...sheet.points], [0, 1]);
  assert.ok(Math.abs(sheet.pos[2] - 0.2) < 1e-6);
  assert.deepEqual([...sheet.half.slice(0, 2)], [0.5, 0.5]);
  // Third work (portrait) sits in the third cell: x from 32.
  assert.ok(sheet.uv[4] > 32 / 64 && sheet.uv[6] < 48 / 64);
  for (const v of sheet.uv) assert.ok(v >= 0 && v <= 1);
});

test("levels and derivatives follow the size on screen", () => {
  assert.equal(levelFor([8, 32], 4), 0);
  assert.equal(levelFor([8, 32], 20), 1);
  assert.equal(levelFor([8, 32], 400), 1);
  const sizes = [["thumb", 128], ["medium", 640], ["large", 1600]];
  assert.equal(derivativeFor(25, sizes, 30), null);
  assert.equal(derivativeFor(100, sizes, 30), "thumb");
  assert.equal(derivativeFor(200, sizes, 126), "medium");
  assert.equal(derivativeFor(1000, sizes, 126), "large");
});
