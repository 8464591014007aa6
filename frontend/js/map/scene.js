// Drawing the map from the store's state: atlas levels, single images, placeholders and the frames of the
// hovered, selected and keyboard-focused works. The scene reads state and owns GPU resources only; it
// never touches the DOM: draw() returns what it drew and the app reports it (canvas data attributes).
import { Atlases } from "./atlases.js";
import { drawLens } from "./lensdraw.js";
import { MIN_ICON_PX, pickAt } from "./points.js";
import { SharpImages } from "./sharp.js";

/**
 * @typedef {object} FrameStats
 * @property {number} level  the atlas level wanted (-1 without atlases)
 * @property {number} sheets
 * @property {number} instances
 * @property {number} sharp  works drawn with their own image
 * @property {number} iconPx  an icon's size in device pixels
 * @property {number} morph  how far a layout switch is (1: none under way)
 */

export class Scene {
  /**
   * @param {any} renderer  from lib/renderer.js
   * @param {import("./store.js").Points} points
   * @param {[string, number][]} sizes
   * @param {{ requestRender: () => void, onOverviewLoaded: () => void, infoOf: (id: number) => any, requestInfo: (ids: number[]) => unknown }} hooks
   */
  constructor(renderer, points, sizes, hooks) {
    this.renderer = renderer;
    this.points = points;
    this.hooks = hooks;
    /** Per point: 0 drawn normally, 1 dimmed (outside the filters or the selection). */
    this.dim = new Uint8Array(points.n);
    /** @type {Set<number>} works drawn with their own image over their atlas cell */
    this.covered = new Set();
    /** @type {{ match: Uint8Array | null, selection: Uint8Array | null }} what `dim` was computed from */
    this.dimFrom = { match: null, selection: null };
    this.atlases = new Atlases(renderer, points, {
      requestRender: hooks.requestRender,
      onOverviewLoaded: hooks.onOverviewLoaded,
      dimOf: (p) => (this.covered.has(p) ? 2 : this.dim[p]),
    });
    this.sharp = new SharpImages(renderer, points, sizes, hooks);
    /** @type {{ start: number, duration: number, fromIcon: number } | null} a layout switch under way */
    this.morph = null;
  }

  /**
   * Switches to another layout of the same points: every thumbnail moves from where it is drawn now to its
   * new place on the GPU (two positions per vertex and a uniform in lib/renderer.js), over `duration` ms.
   * @param {import("./store.js").Points} points
   */
  setLayout(points, duration = 600, now = performance.now()) {
    const t = this.morphAt(now);
    const fromIcon = this.morph ? this.morph.fromIcon + (this.points.iconSize - this.morph.fromIcon) * t : this.points.iconSize;
    this.points = points;
    this.atlases.moveTo(points, t);
    this.sharp.points = points;
    this.sharp.setupExtras(this.atlases.inAtlas);
    this.writeDims();
    this.morph = duration > 0 ? { start: now, duration, fromIcon } : null;
    this.hooks.requestRender();
  }

  /** How far the layout switch is, eased (1 when none is under way). */
  morphAt(/** @type {number} */ now) {
    return this.morph ? morphEase((now - this.morph.start) / this.morph.duration) : 1;
  }

  /**
   * @param {import("./atlases.js").AtlasesInfo | null | undefined} atlases
   * @param {Map<string, Promise<any>>} prefetched
   * @param {number} cx  where the view is: the overview's nearest sheets load first
   * @param {number} cy
   */
  async load(atlases, prefetched, cx, cy) {
    await this.atlases.load(atlases, prefetched, cx, cy);
    this.sharp.setupExtras(this.atlases.inAtlas);
    this.writeDims();
    this.atlases.checkOverview();
    this.hooks.requestRender();
  }

  get extraCount() {
    return this.sharp.extra.length;
  }

  get levels() {
    return this.atlases.levels;
  }

  /** A work's half width and height in icon sizes (its own share of the largest: density.js), from its image or details. */
  halfOf(/** @type {number} */ p) {
    const s = this.sharp.images.get(p);
    const info = this.hooks.infoOf(this.points.ids[p]);
    // Before its image or details arrive, the shape the atlas index gives (the sizes were fitted to it).
    const shape = this.atlases.shapes, known = shape && shape.hw[p] > 0;
    const w = s ? s.w : info && info.images ? info.images.width : known ? shape.hw[p] : 1;
    const h = s ? s.h : info && info.images ? info.images.height : known ? shape.hh[p] : 1;
    const share = this.points.sizes[p] / (Math.max(w, h) || 1);
    return [0.5 * w * share, 0.5 * h * share];
  }

  /** The work drawn under a screen point, or -1. */
  pick(/** @type {import("../lib/camera.js").Camera} */ camera, /** @type {number} */ sx, /** @type {number} */ sy, slackPx = 4) {
    return pickAt(this.points, camera, (p) => this.halfOf(p), sx, sy, slackPx);
  }

  /** Recomputes the dims when the filters' matches or the selection changed since the last frame. */
  syncDims(/** @type {import("./store.js").MapState} */ state) {
    if (state.match === this.dimFrom.match && state.selection === this.dimFrom.selection) return;
    this.dimFrom = { match: state.match, selection: state.selection };
    const { match, selection } = state;
    for (let p = 0; p < this.points.n; p++) this.dim[p] = (match && !match[p]) || (selection && !selection[p]) ? 1 : 0;
    this.writeDims();
  }

  writeDims() {
    this.atlases.writeDims();
    this.sharp.writeExtraDims(this.dim);
  }

  /** Hides the atlas cells of works drawn with their own sharper image (seen from the next frame). */
  setCovered(/** @type {Set<number>} */ covered) {
    const before = this.covered;
    let changed = false;
    for (const p of before) if (!covered.has(p)) { this.atlases.writeSlot(p, this.dim[p]); changed = true; }
    for (const p of covered) if (!before.has(p)) { this.atlases.writeSlot(p, 2); changed = true; }
    this.covered = covered;
    if (changed) this.hooks.requestRender();
  }

  /**
   * Draws one frame.
   * @param {import("./store.js").MapState} state
   * @param {import("../lib/camera.js").Camera} cam
   * @param {number} dpr
   * @returns {FrameStats}
   */
  draw(state, cam, dpr) {
    const started = performance.now();
    const { xs, ys } = this.points;
    const t = this.morphAt(started);
    const iconSize = this.morph ? this.morph.fromIcon + (this.points.iconSize - this.morph.fromIcon) * t : this.points.iconSize;
    if (this.morph && t >= 1) this.morph = null;
    else if (this.morph) this.hooks.requestRender();
    this.syncDims(state);
    this.atlases.uploadNext();
    this.sharp.uploadSome(started);
    const r = this.renderer;
    const base = {
      centre: [cam.cx, cam.cy], scale: cam.scale, viewport: [cam.width, cam.height],
      iconSize, minPx: MIN_ICON_PX, dimStrength: 1, morph: t,
    };
    const iconPx = iconSize * cam.scale * dpr;
    // While thumbnails move, any of them may cross the view: no culling.
    const view = this.morph ? [-Infinity, -Infinity, Infinity, Infinity] : cam.bounds(Math.max(iconSize, 2 / cam.scale));
    r.clear();

    // Front to back, with the depth test hiding what lies behind (stacks of works cost little):
    // single images (sharper derivatives past the atlases, thumbs of works not in them), then the
    // atlas levels from the most detailed (loaded sheets in view) to level 0, then placeholders.
    const { inAtlas, topAtlasPx } = this.atlases;
    const halfOf = (/** @type {number} */ p) => this.halfOf(p);
    const need = this.morph ? new Map() : this.sharp.wanted(iconPx, topAtlasPx, inAtlas, view, cam);
    const covered = this.morph ? new Set() : this.sharp.covering(need, inAtlas, topAtlasPx, cam, halfOf);
    const sharp = this.sharp.draw(base, covered, this.dim, halfOf);
    this.setCovered(covered);
    this.sharp.evict(need);
    const level = this.atlases.levelFor(iconPx);
    const { sheets, instances } = this.atlases.draw(base, level, view, cam, started);
    this.sharp.drawPlaceholders(base);

    // Frames: hover, selection, keyboard focus.
    const frame = (/** @type {number} */ p, /** @type {number[]} */ colour, /** @type {number} */ widthPx) =>
      r.drawFrame({ ...base, pos: [xs[p], ys[p]], half: this.halfOf(p), widthPx, colour });
    const { hover, selected } = state;
    if (hover >= 0 && hover !== selected) frame(hover, [1, 1, 1, 0.9], 2);
    if (selected >= 0) frame(selected, [1, 0.72, 0.25, 1], 3);
    if (state.keyboardFocus) {
      const p = this.pick(cam, cam.width / 2, cam.height / 2, 40);
      if (p >= 0 && p !== selected) frame(p, [0.45, 0.8, 1, 1], 3);
    }
    if (state.lens) drawLens(this, state.lens, cam, dpr, started);
    return { level, sheets, instances, sharp, iconPx, morph: t };
  }
}

/** Ease in and out (cubic) over [0, 1]. */
export function morphEase(/** @type {number} */ x) {
  const t = Math.min(1, Math.max(0, x));
  return t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2;
}
