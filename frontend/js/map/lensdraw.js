// The lens's second drawing pass (the DOM side is lens.js): the works near the pointer drawn again,
// magnified, into a circle, over the frame the scene has just drawn; nothing outside the circle changes.
// It reuses the scene's atlas sheets and single images (the same GL data), through a camera that keeps
// the world point under the pointer at the lens's centre, so a more detailed atlas level loads for it.
import { Camera } from "../lib/camera.js";
import { MIN_ICON_PX } from "./points.js";

/**
 * @typedef {object} Lens  in the store's `lens` (CSS pixels of the canvas)
 * @property {number} x  the point magnified
 * @property {number} y
 * @property {number} cx  where the lens is drawn (above the finger on a touch screen, at the pointer with a mouse)
 * @property {number} cy
 * @property {number} r  radius
 * @property {number} zoom  magnification
 */

const BACKGROUND = [0.106, 0.106, 0.114, 1];
const RIM = [0.94, 0.63, 0.19, 1];

/** The camera whose view, around (lens.cx, lens.cy), is the map around (lens.x, lens.y) magnified. */
export function lensCamera(/** @type {Camera} */ cam, /** @type {Lens} */ lens) {
  const [wx, wy] = cam.toWorld(lens.x, lens.y);
  const scale = cam.scale * lens.zoom;
  const c = new Camera({ width: cam.width, height: cam.height, minScale: 0, maxScale: Infinity });
  c.set(wx - (lens.cx - cam.width / 2) / scale, wy - (lens.cy - cam.height / 2) / scale, scale, { silent: true });
  return c;
}

/**
 * Draws the lens over the current frame.
 * @param {import("./scene.js").Scene} scene
 * @param {Lens} lens
 * @param {Camera} cam
 * @param {number} dpr
 * @param {number} started  the frame's start (performance.now())
 */
export function drawLens(scene, lens, cam, dpr, started) {
  const r = scene.renderer;
  const heightPx = r.gl.drawingBufferHeight;
  const circle = { centrePx: [lens.cx * dpr, heightPx - lens.cy * dpr], radiusPx: lens.r * dpr, rimPx: 2 * dpr };
  r.drawLensPart({ ...circle, part: 0, z: -1, colour: [0, 0, 0, 0] });
  r.drawLensPart({ ...circle, part: 1, z: 1, colour: BACKGROUND });
  const lc = lensCamera(cam, lens);
  const { iconSize } = scene.points;
  const base = {
    centre: [lc.cx, lc.cy], scale: lc.scale, viewport: [lc.width, lc.height],
    iconSize, minPx: MIN_ICON_PX, dimStrength: 1,
  };
  const [x0, y0] = lc.toWorld(lens.cx - lens.r, lens.cy - lens.r);
  const [x1, y1] = lc.toWorld(lens.cx + lens.r, lens.cy + lens.r);
  const m = Math.max(iconSize, 2 / lc.scale);
  const view = [x0 - m, y0 - m, x1 + m, y1 + m];
  const halfOf = (/** @type {number} */ p) => scene.halfOf(p);
  scene.sharp.draw(base, scene.covered, scene.dim, halfOf);
  const level = scene.atlases.levelFor(iconSize * lc.scale * dpr);
  scene.atlases.draw(base, level, view, lc, started);
  scene.sharp.drawPlaceholders(base);
  r.drawLensPart({ ...circle, part: 2, z: -1, colour: RIM });
}
