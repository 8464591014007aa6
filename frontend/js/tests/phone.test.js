import assert from "node:assert/strict";
import { test } from "node:test";
import { Camera } from "../lib/camera.js";
import { bestPx } from "../map/deepzoom.js";
import { lensAt } from "../map/lens.js";
import { lensCamera } from "../map/lensdraw.js";
import { DISMISS_PX, swipeDismisses } from "../map/sheets.js";

/** @type {[string, number][]} */
const SIZES = [["thumb", 128], ["medium", 640], ["large", 1600]];

test("a work's sharpest image is its largest derivative, never larger than the original", () => {
  const images = { thumb: "t", medium: "m", large: "l" };
  assert.equal(bestPx({ images: { ...images, width: 4000, height: 3000 } }, SIZES), 1600);
  assert.equal(bestPx({ images: { ...images, width: 480, height: 360 } }, SIZES), 480);
  assert.equal(bestPx({ images: { thumb: "t", medium: "m", width: 4000, height: 3000 } }, SIZES), 640);
  assert.equal(bestPx({ images: null }, SIZES), null);
});

test("a swipe dismisses a sheet when it goes far enough down or is a quick flick", () => {
  assert.equal(swipeDismisses(DISMISS_PX + 1, 1000), true);
  assert.equal(swipeDismisses(40, 30), true); // a flick
  assert.equal(swipeDismisses(40, 400), false); // a slow nudge springs back
  assert.equal(swipeDismisses(-200, 100), false); // upwards
});

test("the lens camera keeps the magnified point at the lens's centre", () => {
  const cam = new Camera({ width: 800, height: 600 });
  cam.set(0.2, -0.1, 500);
  for (const touch of [false, true]) {
    const lens = lensAt(300, 420, cam.width, cam.height, touch);
    const lc = lensCamera(cam, lens);
    assert.equal(lc.scale, 500 * lens.zoom);
    const [wx, wy] = cam.toWorld(lens.x, lens.y);
    const [sx, sy] = lc.toScreen(wx, wy);
    assert.ok(Math.abs(sx - lens.cx) < 1e-6 && Math.abs(sy - lens.cy) < 1e-6);
    // With a finger the lens sits off the finger (which would hide it), with a mouse on the pointer.
    assert.equal(lens.cy === lens.y, !touch);
  }
});

test("the camera stops at a zoom limit and reports the zooms past it", () => {
  const cam = new Camera({ width: 400, height: 400 });
  cam.set(0, 0, 100);
  const past = [];
  cam.zoomLimit = () => 150;
  cam.onZoomPast = (sx, sy, factor) => past.push(factor);
  cam.zoomAt(1.2, 200, 200);
  assert.equal(cam.scale, 120);
  assert.deepEqual(past, []);
  cam.zoomAt(2, 200, 200);
  assert.equal(cam.scale, 150);
  assert.equal(past.length, 1);
  assert.ok(Math.abs(past[0] - 240 / 150) < 1e-9);
  cam.zoomAt(0.5, 200, 200); // zooming out is never limited
  assert.equal(cam.scale, 75);
  cam.flyTo(0, 0, 1000, { duration: 0 });
  assert.equal(cam.scale, 150);
});
