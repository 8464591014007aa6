// Works drawn with their own image: past the most detailed atlas each visible work's thumb / medium /
// large derivative, and the works placed after the build (not in the atlases: a grey placeholder until
// their thumb arrives). Textures are kept within a pixel budget, least recently drawn evicted first.
import { transfer } from "../lib/api.js";
import { derivativeFor } from "../lib/atlas.js";
import { TaskQueue, loadImage } from "../lib/images.js";
import { GridIndex } from "../lib/spatial.js";

export const MAX_SHARP = 160; // visible works beyond which no individual image is loaded
const SHARP_BUDGET_PX = 48e6; // texture pixels kept for individual images

/** @typedef {{ name: string, texture: any, w: number, h: number, px: number, used: number }} SharpImage */

export class SharpImages {
  /**
   * @param {any} renderer  from lib/renderer.js
   * @param {import("./store.js").Points} points
   * @param {[string, number][]} sizes  the derivatives, smallest first: [["thumb", 128], ["medium", 640], …]
   * @param {{ requestRender: () => void, infoOf: (id: number) => any, requestInfo: (ids: number[]) => unknown }} hooks
   */
  constructor(renderer, points, sizes, hooks) {
    this.renderer = renderer;
    this.points = points;
    this.sizes = sizes;
    this.hooks = hooks;
    /** @type {Map<number, SharpImage>} point index -> its own image */
    this.images = new Map();
    /** @type {Set<string>} `${p}:${name}` being fetched */
    this.loading = new Set();
    this.px = 0;
    this.queue = new TaskQueue(6);
    /** @type {{ p: number, name: string, image: any }[]} decoded images waiting for the GPU */
    this.uploads = [];
    this.extra = new Int32Array(0);
    /** @type {GridIndex | null} */
    this.extraIndex = null;
    /** @type {any} */
    this.extraBuffers = null;
  }

  /** Works on the map but not in the atlases (placed after the build): placeholders, then their own thumbs. */
  setupExtras(/** @type {Uint8Array} */ inAtlas) {
    const { n, xs, ys, sizes } = this.points;
    const extra = [];
    for (let p = 0; p < n; p++) if (!inAtlas[p]) extra.push(p);
    this.extra = Int32Array.from(extra);
    this.extraIndex = extra.length > 2000 ? new GridIndex(Float32Array.from(extra, (p) => xs[p]), Float32Array.from(extra, (p) => ys[p])) : null;
    const k = extra.length;
    const pos = new Float32Array(2 * k), half = new Float32Array(2 * k);
    for (let j = 0; j < k; j++) {
      pos[2 * j] = xs[extra[j]];
      pos[2 * j + 1] = ys[extra[j]];
      half[2 * j] = half[2 * j + 1] = 0.42 * sizes[extra[j]];
    }
    this.extraBuffers?.destroy();
    this.extraBuffers = k ? this.renderer.quadBatch(pos, half, null, k) : null;
  }

  /** @param {Uint8Array} dim */
  writeExtraDims(dim) {
    if (this.extraBuffers) this.extraBuffers.setDims(Float32Array.from(this.extra, (p) => dim[p]));
  }

  /** @param {object} base */
  drawPlaceholders(base) {
    if (this.extraBuffers) this.extraBuffers.draw({ ...base, colour: [0.33, 0.33, 0.35] }, 0, this.extra.length, [0.96, 0.99]);
  }

  rank(/** @type {string} */ name) {
    return this.sizes.findIndex((s) => s[0] === name);
  }

  /** @param {number[]} view */
  visibleExtras(view) {
    if (!this.extra.length) return [];
    const { xs, ys } = this.points;
    const out = [];
    if (this.extraIndex) {
      for (const j of this.extraIndex.queryRect(view[0], view[1], view[2], view[3], MAX_SHARP + 1)) out.push(this.extra[j]);
      return out.length > MAX_SHARP ? [] : out;
    }
    for (const p of this.extra) {
      const x = xs[p], y = ys[p];
      if (x >= view[0] && x <= view[2] && y >= view[1] && y <= view[3]) out.push(p);
    }
    return out.length > MAX_SHARP ? [] : out;
  }

  /** Uploads the decoded images that fit in a few milliseconds; the rest wait for the next frame. */
  uploadSome(/** @type {number} */ started) {
    while (this.uploads.length && performance.now() - started < 6) this.upload(/** @type {any} */ (this.uploads.shift()));
    if (this.uploads.length) this.hooks.requestRender();
  }

  /**
   * Which works in view need their own image, and at which size; loads what is missing.
   * @param {number} iconPx  an icon's size in device pixels
   * @param {number} topAtlasPx  the most detailed atlas's image size (0 without atlases)
   * @param {Uint8Array} inAtlas
   * @param {number[]} view
   * @param {import("../lib/camera.js").Camera} cam
   * @returns {Map<number, string>} point index -> derivative wanted
   */
  wanted(iconPx, topAtlasPx, inAtlas, view, cam) {
    const { ids, xs, ys, index, iconSize } = this.points;
    const want = derivativeFor(iconPx, this.sizes, topAtlasPx || 0);
    /** @type {number[]} */
    const visible = [];
    if (want) {
      visible.push(...index.queryRect(view[0], view[1], view[2], view[3], MAX_SHARP + 1));
      if (visible.length > MAX_SHARP) visible.length = 0;
    }
    // Works without an atlas cell always need their own thumb (the placeholder is grey).
    const need = new Map();
    for (const p of this.visibleExtras(view)) need.set(p, want && this.rank(want) > this.rank("thumb") ? want : "thumb");
    for (const p of visible) need.set(p, want);
    const missingInfo = [];
    for (const [p, name] of need) {
      const id = ids[p];
      if (!this.hooks.infoOf(id)) { missingInfo.push(id); continue; }
      const have = this.images.get(p);
      if (!have || this.rank(have.name) < this.rank(name)) {
        const priority = Math.hypot(xs[p] - cam.cx, ys[p] - cam.cy) / iconSize;
        // Thumb first for a work that has nothing yet, so something appears quickly.
        if (!have && !inAtlas[p] && name !== "thumb") this.load(p, "thumb", priority);
        this.load(p, name, priority);
      }
    }
    if (missingInfo.length) this.hooks.requestInfo(missingInfo);
    return need;
  }

  /**
   * The works to draw with their own image: those wanted that have one sharper than the atlas, nearest the
   * centre first, stopping at a few screenfuls (stacks of works on one spot would cover the screen many times).
   * @param {Map<number, string>} need
   * @param {Uint8Array} inAtlas
   * @param {number} topAtlasPx
   * @param {import("../lib/camera.js").Camera} cam
   * @param {(p: number) => number[]} halfOf
   */
  covering(need, inAtlas, topAtlasPx, cam, halfOf) {
    const { xs, ys, iconSize } = this.points;
    const cx = cam.cx, cy = cam.cy;
    const budget = 2.5 * cam.width * cam.height;
    let area = 0;
    const order = [...need.keys()].filter((p) => this.images.has(p));
    order.sort((a, b) => Math.hypot(xs[a] - cx, ys[a] - cy) - Math.hypot(xs[b] - cx, ys[b] - cy));
    /** @type {Set<number>} */
    const covered = new Set();
    for (const p of order) {
      const s = /** @type {SharpImage} */ (this.images.get(p));
      // Over an atlas cell only when sharper than the atlas.
      if (inAtlas[p] && s.px <= (topAtlasPx || 0)) continue;
      const half = halfOf(p);
      const [sx, sy] = cam.toScreen(xs[p], ys[p]);
      const hw = half[0] * iconSize * cam.scale, hh = half[1] * iconSize * cam.scale;
      area += Math.max(0, Math.min(cam.width, sx + hw) - Math.max(0, sx - hw)) * Math.max(0, Math.min(cam.height, sy + hh) - Math.max(0, sy - hh));
      if (area > budget && covered.size) break;
      covered.add(p);
    }
    return covered;
  }

  /**
   * Front to back: the depth test keeps the first drawn where images overlap.
   * @param {object} base
   * @param {Set<number>} covered
   * @param {Uint8Array} dim
   * @param {(p: number) => number[]} halfOf
   */
  draw(base, covered, dim, halfOf) {
    const { xs, ys } = this.points;
    const now = performance.now();
    let drawn = 0;
    for (const p of [...covered].sort((a, b) => b - a)) {
      const s = /** @type {SharpImage} */ (this.images.get(p));
      s.used = now;
      this.renderer.drawImage({ ...base, pos: [xs[p], ys[p]], half: halfOf(p), tex: s.texture, dim: dim[p], depth: 0.02 });
      drawn++;
    }
    return drawn;
  }

  /** @param {number} p @param {string} name @param {number} priority */
  load(p, name, priority) {
    const key = `${p}:${name}`;
    if (this.loading.has(key)) return;
    const info = this.hooks.infoOf(this.points.ids[p]);
    const url = info && info.images && info.images[name];
    if (!url) return;
    this.loading.add(key);
    this.queue
      .push(priority + this.rank(name) * 0.01, () => loadImage(url, { onBytes: (b) => { transfer.bytes += b; transfer.requests++; } }))
      .then((image) => {
        this.uploads.push({ p, name, image });
        this.hooks.requestRender();
      })
      .catch(() => {})
      .finally(() => this.loading.delete(key));
  }

  /** @param {{ p: number, name: string, image: any }} upload */
  upload({ p, name, image }) {
    const have = this.images.get(p);
    if ((have && this.rank(have.name) >= this.rank(name)) || Math.max(image.width, image.height) > this.renderer.maxTexture) {
      if (image.close) image.close();
      return;
    }
    const texture = this.renderer.imageTexture(image);
    if (have) {
      have.texture.destroy();
      this.px -= have.w * have.h;
    }
    this.images.set(p, { name, texture, w: image.width, h: image.height, px: Math.max(image.width, image.height), used: performance.now() });
    this.px += image.width * image.height;
    if (image.close) image.close();
  }

  /** @param {Map<number, string>} needed */
  evict(needed) {
    if (this.px <= SHARP_BUDGET_PX) return;
    const entries = [...this.images.entries()].filter(([p]) => !needed.has(p)).sort((a, b) => a[1].used - b[1].used);
    for (const [p, s] of entries) {
      if (this.px <= SHARP_BUDGET_PX * 0.8) break;
      s.texture.destroy();
      this.images.delete(p);
      this.px -= s.w * s.h;
    }
  }
}
