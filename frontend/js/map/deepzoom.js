// Deep zoom (issue #16): the map zooms in only as far as the sharpest image the platform holds for the work
// under the pointer (its largest derivative, never larger than the original) is shown at its own size;
// zooming further on that work opens its own deep-zoom viewer (the artwork page's) instead of enlarging
// pixels that are not there. The camera asks for the limit (camera.zoomLimit) and reports the zooms past
// it (camera.onZoomPast); a zoom past of about one more doubling opens the viewer.
import { $ } from "../lib/dom.js";
import { t } from "../lib/i18n.js";

/** How far past the limit (as a zoom factor, summed over wheel steps or a pinch) opens the viewer. */
export const HANDOFF_FACTOR = 2;
const FORGET_MS = 1500; // zooms past the limit further apart than this start counting again
const HINT_MS = 4000; // how long the status line says why the zoom stopped

/**
 * The longest side, in pixels, of the sharpest image the platform holds for a work: its largest derivative
 * that exists, no larger than the original (derivatives are never enlarged). null without an image.
 * @param {any} info  the work's details (/maps/{slug}/works/)
 * @param {[string, number][]} sizes  the derivatives, e.g. [["thumb", 128], ["medium", 640], ["large", 1600]]
 */
export function bestPx(info, sizes) {
  const images = info && info.images;
  if (!images) return null;
  const held = sizes.filter(([name]) => images[name]).map(([, px]) => px);
  if (!held.length) return null;
  const original = Math.max(images.width || 0, images.height || 0);
  const largest = Math.max(...held);
  return original > 0 ? Math.min(largest, original) : largest;
}

/** @param {import("./app.js").MapApp} app */
export function setupDeepZoom(app) {
  const { root, camera, details, canvas } = app;
  const scene = /** @type {import("./scene.js").Scene} */ (app.scene);
  const workAt = (/** @type {number} */ sx, /** @type {number} */ sy) => scene.pick(camera, sx, sy, 4);
  /** The scale at which work p's sharpest image is shown at its own size, or null while its details are unknown. */
  const limitOf = (/** @type {number} */ p) => {
    const id = app.ids[p];
    const info = details.get(id);
    if (!info) {
      details.request([id]);
      return null;
    }
    const px = bestPx(info, app.sizes);
    return px ? px / (app.iconSize * (app.dpr || 1)) : null;
  };
  camera.zoomLimit = (sx, sy) => {
    const p = workAt(sx, sy);
    return p >= 0 ? limitOf(p) : null;
  };

  let past = { p: -1, log: 0, at: 0 };
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let hintTimer;
  const clearHint = () => {
    if (app.store.state.status === t("deepZoomHint")) app.store.update({ status: "" });
  };
  const open = (/** @type {number} */ p) => {
    const info = details.get(app.ids[p]);
    if (!info || !info.page) return;
    canvas.dataset.deepZoom = String(app.ids[p]);
    location.assign(`${info.page}#artwork-viewer`);
  };
  camera.onZoomPast = (sx, sy, factor) => {
    const p = workAt(sx, sy);
    if (p < 0) return;
    const now = performance.now();
    if (p !== past.p || now - past.at > FORGET_MS) past = { p, log: 0, at: now };
    past.log += Math.log(factor);
    past.at = now;
    app.store.update({ status: t("deepZoomHint") });
    clearTimeout(hintTimer);
    hintTimer = setTimeout(clearHint, HINT_MS);
    if (past.log >= Math.log(HANDOFF_FACTOR) * 0.999) open(p);
  };
  // The zoom buttons and keys fly to the centre: at the limit already, they count as a zoom past it.
  const zoomInAtCentre = (/** @type {number} */ factor) => {
    const [sx, sy] = [camera.width / 2, camera.height / 2];
    const p = workAt(sx, sy);
    const limit = p >= 0 ? limitOf(p) : null;
    if (limit && camera.scale >= limit * 0.999) camera.onZoomPast?.(sx, sy, factor);
  };
  $("#zoom-in", root)?.addEventListener("click", () => zoomInAtCentre(2));
  canvas.addEventListener("keydown", (e) => {
    if ((e.key === "+" || e.key === "=") && !e.ctrlKey && !e.metaKey) zoomInAtCentre(1.5);
  });
  app.store.subscribe((state, changed) => {
    // The hint goes once the visitor zooms back out.
    if (changed.has("view") && past.p >= 0) {
      const limit = limitOf(past.p);
      if (limit && camera.scale < limit * 0.9) clearHint();
    }
  });
}
