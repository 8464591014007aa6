// Layouts of the map (#16): t-SNE ("tsne", the points as loaded), a grid where every work has its own
// cell, a timeline of decade bands and blocks by group. The other layouts come from
// /maps/{slug}/points/?layout=NAME, parallel to the loaded ids; switching hands the scene the new
// positions and it moves every thumbnail there on the GPU. The layout is a store key, so the URL keeps it.
import { getJSON } from "../lib/api.js";
import { $, el } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { GridIndex } from "../lib/spatial.js";
import { touched } from "./store.js";

export const LAYOUTS = ["tsne", "grid", "timeline", "group"];
/** A thumbnail's share of its cell: the gap between cells keeps neighbours apart. */
export const CELL_FILL = 0.9;
export const SWITCH_MS = 600;

/**
 * @typedef {{ label: string, name?: string, x0: number, x1: number, y0?: number, y1?: number, count: number }} Region
 * @typedef {{ points: import("./store.js").Points, regions: Region[] }} Layout
 */

/**
 * The loaded points laid out anew: same ids and lookups, new positions, icons one cell wide less a gap.
 * @param {import("./store.js").Points} base
 * @param {{ x: number[], y: number[], scale?: number, cell: number }} data
 * @returns {import("./store.js").Points}
 */
export function layoutPoints(base, data) {
  const scale = data.scale || 32767;
  const xs = Float32Array.from(data.x, (v) => v / scale);
  const ys = Float32Array.from(data.y, (v) => v / scale);
  const index = new GridIndex(xs, ys);
  const iconSize = (data.cell / scale) * CELL_FILL;
  const [x0, y0, x1, y1] = index.bbox;
  const m = iconSize / 2;
  return { ...base, xs, ys, index, iconSize, bbox: [x0 - m, y0 - m, x1 + m, y1 + m] };
}

export class Layouts {
  /** @param {import("./app.js").MapApp} app @param {import("./store.js").Points} base @param {string[]} available */
  constructor(app, base, available) {
    this.app = app;
    this.base = base;
    this.available = LAYOUTS.filter((name) => available.includes(name));
    /** @type {Map<string, Promise<Layout>>} */
    this.cache = new Map([["tsne", Promise.resolve({ points: base, regions: [] })]]);
  }

  /** @param {string} name @returns {Promise<Layout>} */
  get(name) {
    let hit = this.cache.get(name);
    if (!hit) {
      const base = this.base;
      const url = `${this.app.api}maps/${encodeURIComponent(this.app.slug)}/points/?layout=${encodeURIComponent(name)}`;
      hit = getJSON(url).then((data) => {
        if (data.x.length !== base.n) throw new Error(`layout ${name} has ${data.x.length} points, the map ${base.n}`);
        return { points: layoutPoints(base, data), regions: data.regions || [] };
      });
      hit.catch(() => this.cache.delete(name));
      this.cache.set(name, hit);
    }
    return hit;
  }

  /**
   * Shows a layout: the scene moves the thumbnails (at once when `duration` is 0), the camera fits it.
   * @param {string} name
   * @param {{ duration?: number, fit?: boolean }} [options]
   */
  async switchTo(name, { duration = SWITCH_MS, fit = true } = {}) {
    const app = this.app;
    if (!this.available.includes(name)) name = "tsne";
    const layout = await this.get(name);
    if (!app.scene) return;
    app.scene.setLayout(layout.points, duration);
    app.store.update({ points: layout.points, layout: name, regions: layout.regions });
    app.setLimits();
    if (fit) {
      const b = layout.points.bbox;
      app.camera.flyTo((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, app.fitScale(), { duration });
    }
  }
}

/**
 * The toolbar's layout switcher and the names of the timeline's bands and the groups' blocks.
 * @param {import("./app.js").MapApp} app
 * @param {Layouts} layouts
 */
export function setupLayouts(app, layouts) {
  const select = /** @type {HTMLSelectElement | null} */ ($("#layout-switch", app.root));
  if (select) {
    for (const option of [...select.options]) if (!layouts.available.includes(option.value)) option.remove();
    select.value = app.store.state.layout;
    select.closest("label")?.toggleAttribute("hidden", layouts.available.length < 2);
    select.addEventListener("change", () => {
      layouts.switchTo(select.value).catch((err) => {
        console.warn("layout failed to load", err);
        select.value = app.store.state.layout;
      });
    });
  }
  const clusters = $("#map-labels", app.root);
  const layer = $("#layout-regions", app.root);
  /** @type {number[]} the labels' widths in pixels, measured once per set of regions */
  let widths = [];
  const position = () => {
    if (!layer) return;
    const regions = /** @type {Region[]} */ (app.store.state.regions || []);
    const top = app.bbox[1]; // the map's y grows downwards on screen
    const nodes = /** @type {HTMLCollectionOf<HTMLElement>} */ (layer.children);
    const xs = regions.map((r) => app.camera.toScreen((r.x0 + r.x1) / 2, r.y0 === undefined ? top : r.y0));
    // Timeline bands sit on one line; the group blocks' labels stand on separate shelves and all show.
    const oneLine = regions.every((r) => r.y0 === undefined);
    const shown = oneLine ? spacedLabels(xs.map(([sx]) => sx), widths) : regions.map(() => true);
    regions.forEach((_, i) => {
      const [sx, sy] = xs[i];
      const node = nodes[i];
      node.style.transform = `translate(${Math.round(sx)}px, ${Math.round(sy)}px) translate(-50%, -110%)`;
      const off = sx < -200 || sx > app.camera.width + 200 || sy < -50 || sy > app.camera.height + 50;
      node.hidden = off || !shown[i];
    });
  };
  const apply = (/** @type {import("./store.js").MapState} */ state, /** @type {Set<string>} */ changed) => {
    if (touched(changed, "layout")) {
      if (select) select.value = state.layout;
      if (clusters) clusters.hidden = state.layout !== "tsne";
      app.canvas.dataset.layout = state.layout;
    }
    if (touched(changed, "regions") && layer) {
      const regions = /** @type {Region[]} */ (state.regions || []);
      layer.replaceChildren(
        ...regions.map((r) => el("span", { class: "layout-region", text: regionName(r) })),
      );
      widths = [...layer.children].map((node) => /** @type {HTMLElement} */ (node).offsetWidth);
    }
    if (touched(changed, "view", "regions")) position();
  };
  app.store.subscribe(apply);
  apply(app.store.state, new Set(["layout", "regions", "view"]));
}

/** Pixels kept free between two shown labels. */
export const LABEL_GAP = 8;

/**
 * Which labels to show so that none overlaps its neighbour: the first, the last and every k-th between,
 * k the smallest that fits at this zoom (zooming in shows more). Labels are centred on `centres`, all on
 * one line. An every-k-th rule rather than a greedy sweep keeps the shown labels evenly spaced.
 * @param {number[]} centres  screen x of each label's centre, in order
 * @param {number[]} widths   each label's width in pixels
 * @returns {boolean[]}
 */
export function spacedLabels(centres, widths) {
  const n = centres.length;
  const fits = (/** @type {number} */ a, /** @type {number} */ b) =>
    Math.abs(centres[b] - centres[a]) >= ((widths[a] || 0) + (widths[b] || 0)) / 2 + LABEL_GAP;
  for (let k = 1; k < Math.max(2, n); k++) {
    const keep = [];
    for (let i = 0; i < n; i += k) keep.push(i);
    if (keep[keep.length - 1] !== n - 1) {
      // The last label always shows: it replaces the k-th before it when the two would collide.
      if (keep.length > 1 && !fits(keep[keep.length - 1], n - 1)) keep.pop();
      keep.push(n - 1);
    }
    let ok = true;
    for (let j = 1; j < keep.length && ok; j++) ok = fits(keep[j - 1], keep[j]);
    if (ok || keep.length <= 2) {
      const out = new Array(n).fill(false);
      for (const i of keep) out[i] = true;
      return out;
    }
  }
  return new Array(n).fill(true);
}

/** A band's or block's name: decades as they are, the undated and ungrouped works in words. */
function regionName(/** @type {Region} */ r) {
  if (r.label === "undated") return t("undated");
  if (!r.label) return t("ungrouped");
  return r.name || r.label;
}
