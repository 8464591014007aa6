// The thumbnail atlases on the GPU: the index, one record per sheet and level, sheets streamed in nearest
// the view first (one texture upload per frame), detailed sheets evicted past a budget. No DOM here.
import { getBuffer, transfer } from "../lib/api.js";
import { bboxIntersects, chunkBounds, layoutLevel, levelFor, parseIndex, visibleRanges } from "../lib/atlas.js";
import { TaskQueue, loadImage } from "../lib/images.js";
import { fitShapes } from "./density.js";

const MAX_DETAIL_SHEETS = 12; // detailed atlas sheets kept on the GPU

/** @param {number} b */
const countBytes = (b) => { transfer.bytes += b; transfer.requests++; };

/**
 * @typedef {object} AtlasesInfo  The build's atlases as /maps/{slug}/ describes them.
 * @property {string} index
 * @property {number} pad
 * @property {{ cell: number, columns: number, sheets: { url: string, first: number, count: number, width: number, height: number }[] }[]} levels
 */

/**
 * @typedef {ReturnType<typeof layoutLevel>[number] & {
 *   level: number, number: number, state: string, texture: any, buffers: any, used: number, url: string
 * }} Sheet
 */

export class Atlases {
  /**
   * @param {any} renderer  from lib/renderer.js
   * @param {import("./store.js").Points} points
   * @param {{ requestRender: () => void, onOverviewLoaded: () => void, dimOf: (p: number) => number }} hooks
   */
  constructor(renderer, points, hooks) {
    this.renderer = renderer;
    this.points = points;
    this.hooks = hooks;
    /** @type {AtlasesInfo | null} */
    this.info = null;
    /** @type {Sheet[][]} per level */
    this.sheets = [];
    /** @type {number[]} atlas cell sizes, smallest first */
    this.levels = [];
    this.topAtlasPx = 0;
    this.inAtlas = new Uint8Array(points.n);
    /** @type {{ sheet: Int32Array, k: Int32Array }[] | null} where each work sits in each level's buffers */
    this.slots = null;
    /** @type {Map<string, Promise<any>>} */
    this.prefetched = new Map();
    /** @type {{ sheet: Sheet, image: any }[]} decoded sheets waiting for the GPU */
    this.uploads = [];
    this.queue = new TaskQueue(4);
    this.overviewLoaded = false;
    /** @type {{ hw: Float32Array, hh: Float32Array } | null} each work's half width and height, longer side 1, from the index */
    this.shapes = null;
  }

  /** Starts the index and the overview's sheets while the points are still on their way. */
  static prefetch(/** @type {AtlasesInfo | null | undefined} */ atlases) {
    /** @type {Map<string, Promise<any>>} */
    const prefetched = new Map();
    if (!atlases || !atlases.levels || !atlases.levels.length) return prefetched;
    prefetched.set(atlases.index, getBuffer(atlases.index));
    for (const sheet of atlases.levels[0].sheets) prefetched.set(sheet.url, loadImage(sheet.url, { onBytes: countBytes }));
    for (const promise of prefetched.values()) promise.catch(() => {});
    return prefetched;
  }

  /**
   * Lays out every level and starts the overview's sheets, nearest (cx, cy) first; without atlases (or when
   * the index fails) every work is drawn one by one.
   * @param {AtlasesInfo | null | undefined} atlases
   * @param {Map<string, Promise<any>>} prefetched
   * @param {number} cx
   * @param {number} cy
   */
  async load(atlases, prefetched, cx, cy) {
    this.info = atlases || null;
    this.prefetched = prefetched;
    if (!atlases || !atlases.levels || !atlases.levels.length) return;
    let index;
    try {
      index = parseIndex(await (prefetched.get(atlases.index) || getBuffer(atlases.index)));
    } catch (err) {
      console.warn("atlas index failed to load; drawing works one by one", err);
      return;
    }
    const { n, pointOf, xs, ys } = this.points;
    const pointAt = new Int32Array(index.n);
    for (let i = 0; i < index.n; i++) {
      const p = pointOf.get(index.ids[i]);
      pointAt[i] = p === undefined ? -1 : p;
      if (p !== undefined) this.inAtlas[p] = 1;
    }
    this.levels = atlases.levels.map((level) => level.cell);
    this.slots = atlases.levels.map(() => ({ sheet: new Int32Array(n).fill(-1), k: new Int32Array(n) }));
    this.topAtlasPx = this.levels[this.levels.length - 1] - 2 * atlases.pad;
    this.sheets = atlases.levels.map((level, l) =>
      layoutLevel(level, index, xs, ys, (i) => pointAt[i], atlases.pad).map((sheet, s) => ({
        ...sheet, level: l, number: s, state: "idle", texture: null, buffers: null, used: 0,
      })),
    );
    const { sizes } = this.points;
    this.fitShapes(index, pointAt);
    this.sheets.forEach((level, l) =>
      level.forEach((sheet, s) => {
        for (let k = 0; k < sheet.n; k++) {
          sheet.half[2 * k] *= sizes[sheet.points[k]]; // each work its own size (density.js)
          sheet.half[2 * k + 1] *= sizes[sheet.points[k]];
          this.slots[l].sheet[sheet.points[k]] = s;
          this.slots[l].k[sheet.points[k]] = k;
        }
      }),
    );
    for (const sheet of this.sheets[0]) {
      const b = sheet.bbox;
      this.loadSheet(sheet, Math.hypot((b[0] + b[2]) / 2 - cx, (b[1] + b[3]) / 2 - cy));
    }
  }

  /** Lets each work grow into the room its picture's shape leaves (density.js), now that the shapes are known. */
  fitShapes(/** @type {ReturnType<typeof parseIndex>} */ index, /** @type {Int32Array} */ pointAt) {
    const { n, xs, ys, sizes, iconSize } = this.points;
    const hw = new Float32Array(n), hh = new Float32Array(n);
    for (let i = 0; i < index.n; i++) {
      const p = pointAt[i], w = index.widths[i], h = index.heights[i];
      if (p < 0 || !w || !h) continue;
      hw[p] = (0.5 * w) / Math.max(w, h);
      hh[p] = (0.5 * h) / Math.max(w, h);
    }
    fitShapes(xs, ys, sizes, hw, hh, iconSize);
    this.shapes = { hw, hh };
  }

  /**
   * Another layout of the same points: every sheet's works get their new positions (loaded sheets move
   * there on the GPU from where they are drawn at `t`), and the culling boxes follow.
   * @param {import("./store.js").Points} points
   * @param {number} t
   */
  moveTo(points, t) {
    this.points = points;
    const { xs, ys } = points;
    for (const level of this.sheets) {
      for (const sheet of level) {
        const pos = new Float32Array(sheet.n * 2);
        for (let k = 0; k < sheet.n; k++) {
          pos[2 * k] = xs[sheet.points[k]];
          pos[2 * k + 1] = ys[sheet.points[k]];
        }
        sheet.pos = pos;
        sheet.chunks = chunkBounds(pos, sheet.n);
        const boxes = sheet.chunks.map((c) => c.bbox);
        sheet.bbox = boxes.length
          ? [Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1])), Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))]
          : sheet.bbox;
        if (sheet.buffers) sheet.buffers.moveTo(pos, t);
      }
    }
  }

  /** @param {Sheet} sheet @param {number} priority */
  loadSheet(sheet, priority) {
    if (sheet.state !== "idle") return;
    sheet.state = "loading";
    this.queue
      .push(priority + sheet.level * 10, () => {
        const early = this.prefetched.get(sheet.url);
        if (early) {
          this.prefetched.delete(sheet.url);
          return early;
        }
        return loadImage(sheet.url, { onBytes: countBytes });
      })
      .then((image) => {
        this.uploads.push({ sheet, image });
        this.hooks.requestRender();
      })
      .catch((err) => {
        sheet.state = "error";
        console.warn("atlas sheet failed", sheet.url, err);
        this.checkOverview();
      });
  }

  /** One texture upload per frame keeps panning smooth while sheets stream in. */
  uploadNext() {
    const upload = this.uploads.shift();
    if (!upload) return;
    const { sheet, image } = upload;
    const r = this.renderer;
    sheet.texture = r.sheetTexture(image);
    if (image.close) image.close();
    sheet.buffers = r.quadBatch(sheet.pos, sheet.half, sheet.uv, sheet.n, sheet.order);
    sheet.state = "ready";
    this.writeSheetDims(sheet);
    if (this.uploads.length) this.hooks.requestRender();
    if (sheet.level === 0) this.checkOverview();
  }

  /** Tells the app once every overview sheet is drawn or has failed. */
  checkOverview() {
    if (this.overviewLoaded) return;
    const level0 = this.sheets[0] || [];
    if (level0.every((s) => s.state === "ready" || s.state === "error")) {
      this.overviewLoaded = true;
      this.hooks.onOverviewLoaded();
    }
  }

  /** The level whose cells hold an icon of `iconPx` device pixels, or -1 without atlases. */
  levelFor(/** @type {number} */ iconPx) {
    return this.levels.length && this.info ? levelFor(this.levels, iconPx, this.info.pad) : -1;
  }

  /**
   * Draws the levels from `wanted` (most detailed) down to the overview, front to back, loading the sheets
   * in view that are missing.
   * @param {object} base  the draw call's camera uniforms
   * @param {number} wanted
   * @param {number[]} view  visible world rectangle
   * @param {import("../lib/camera.js").Camera} cam
   * @param {number} now
   */
  draw(base, wanted, view, cam, now) {
    const visibleSheets = new Set();
    let drawnSheets = 0;
    let drawnInstances = 0;
    const nLevels = Math.max(1, this.sheets.length);
    for (let l = Math.min(wanted, this.sheets.length - 1); l >= 0; l--) {
      const band = 0.9 / nLevels;
      const depthRange = [0.05 + (nLevels - 1 - l) * band, 0.05 + (nLevels - l) * band];
      for (const sheet of this.sheets[l]) {
        if (!bboxIntersects(sheet.bbox, view)) continue;
        visibleSheets.add(sheet);
        if (sheet.state === "idle") {
          this.loadSheet(sheet, Math.hypot((sheet.bbox[0] + sheet.bbox[2]) / 2 - cam.cx, (sheet.bbox[1] + sheet.bbox[3]) / 2 - cam.cy) * cam.scale);
        }
        if (sheet.state !== "ready" || !sheet.n) continue;
        sheet.used = now;
        // Only the runs of works that meet the view (nearest last in map order, so drawn first).
        const ranges = visibleRanges(sheet.chunks, view);
        for (let k = ranges.length - 1; k >= 0; k--) {
          sheet.buffers.draw({ ...base, tex: sheet.texture }, ranges[k][0], ranges[k][1], depthRange);
          drawnInstances += ranges[k][1];
        }
        drawnSheets++;
      }
    }
    this.evict(visibleSheets);
    return { sheets: drawnSheets, instances: drawnInstances };
  }

  /** @param {Set<Sheet>} visible */
  evict(visible) {
    const detailed = this.sheets.slice(1).flat().filter((s) => s.state === "ready");
    if (detailed.length <= MAX_DETAIL_SHEETS) return;
    detailed.sort((a, b) => a.used - b.used);
    for (const sheet of detailed.slice(0, detailed.length - MAX_DETAIL_SHEETS)) {
      if (visible.has(sheet)) continue;
      sheet.texture.destroy();
      sheet.buffers.destroy();
      sheet.texture = sheet.buffers = null;
      sheet.state = "idle";
    }
  }

  /** Dims of every loaded sheet, after the filters or the selection changed. */
  writeDims() {
    for (const level of this.sheets) for (const sheet of level) if (sheet.state === "ready") this.writeSheetDims(sheet);
  }

  /** @param {Sheet} sheet */
  writeSheetDims(sheet) {
    const values = new Float32Array(sheet.n);
    for (let k = 0; k < sheet.n; k++) values[k] = this.hooks.dimOf(sheet.points[k]);
    sheet.buffers.setDims(values);
  }

  /** One work's dim in every loaded level (2 hides its cell under its own sharper image). */
  writeSlot(/** @type {number} */ p, /** @type {number} */ value) {
    if (!this.slots) return;
    for (let l = 0; l < this.slots.length; l++) {
      const s = this.slots[l].sheet[p];
      if (s < 0) continue;
      const sheet = this.sheets[l][s];
      if (sheet.state === "ready") sheet.buffers.setDim(this.slots[l].k[p], value);
    }
  }
}
