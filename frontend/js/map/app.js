// The map page's app: the one store, the camera, the scene and the frame loop; the panels and input
// handlers (one module each) subscribe to the store and change it through update() or the actions here.
// Layouts (#16, layouts.js) are a state key the URL sync writes, like `filters`; the scene moves the works.
import { ApiError, getJSON, query } from "../lib/api.js";
import { Camera } from "../lib/camera.js";
import { t } from "../lib/i18n.js";
import { createRenderer } from "../lib/renderer.js";
import { parseState } from "../lib/urlstate.js";
import { Atlases } from "./atlases.js";
import { WorkDetails } from "./details.js";
import { $ } from "../lib/dom.js";
import { setupFilters } from "./filters.js";
import { placeHotspots, setupHotspots } from "./hotspots.js";
import { setupInput } from "./input.js";
import { setupLabels } from "./labels.js";
import { setupDeepZoom } from "./deepzoom.js";
import { setupLens } from "./lens.js";
import { Layouts, setupLayouts } from "./layouts.js";
import { setupMessages } from "./messages.js";
import { makePoints } from "./points.js";
import { Scene } from "./scene.js";
import { setupSearch } from "./search.js";
import { setupSelection } from "./selection.js";
import { setupSheets } from "./sheets.js";
import { createStore, touched } from "./store.js";
import { setupSwitcher } from "./switcher.js";
import { setupUrlSync } from "./urlsync.js";
import { setupWorkPanel } from "./workpanel.js";

// firstFrame/firstFull: ms since the script started; …At: ms since navigation (performance.now()).
export const timings = {
  start: performance.now(),
  /** @type {number | null} */ firstFrame: null,
  /** @type {number | null} */ firstFull: null,
  /** @type {number | null} */ firstFrameAt: null,
  /** @type {number | null} */ firstFullAt: null,
  /** @type {number[]} */ frames: [],
};

/** The share of the canvas left free on each side of the whole map: the collection fills the first view. */
export const FIT_MARGIN = 0.02;

/** The keys whose change shows on the canvas. */
const DRAWN = ["view", "hover", "selected", "keyboardFocus", "match", "selection", "infoVersion", "ready", "lens"];

/**
 * @typedef {object} MapConfig  The page's <script id="map-config">.
 * @property {string} api  the API's root URL, ending in "/"
 * @property {string} map  the default map's slug
 * @property {{ slug: string, title: string }[]} maps
 * @property {[string, number][]} sizes  the derivatives: [["thumb", 128], ["medium", 640], ["large", 1600]]
 * @property {string} workUrl  a work page's URL with "__acc__" for the accession number
 * @property {string} listUrl  the works list page (search results in full)
 * @property {boolean} [objects]  false when object detection is switched off: no object filter
 * @property {{ slug: string, building: boolean, message: string } | null} [missing]  the map asked for cannot be shown
 * @property {boolean} [curator]  curator view: the map API is asked for unpublished works too (curators only)
 */

export class MapApp {
  /** @param {HTMLElement} root @param {MapConfig} config */
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.api = config.api;
    this.canvas = /** @type {HTMLCanvasElement} */ ($("#map-canvas", root));
    /** The state the page was opened with (the view and selection are restored from it once the map loads). */
    this.initial = parseState(location.search);
    /** @type {import("./store.js").Store<import("./store.js").MapState>} */
    this.store = createStore({
      slug: this.initial.map || config.map,
      points: null, view: null, hover: -1, selected: -1, keyboardFocus: false,
      filters: this.initial.filters, match: null, selectionList: null, selection: null,
      infoVersion: 0, ready: false, status: "", error: null, lens: null,
      layout: this.initial.layout || "tsne", regions: [],
    });
    /** @type {Layouts | null} */
    this.layouts = null;
    this.sizes = config.sizes;
    this.dpr = 1;
    this.camera = new Camera();
    /** @type {Scene | null} */
    this.scene = null;
    /** @type {ReturnType<typeof import("../lib/controls.js").attachControls> | null} */
    this.controls = null;
    /** @type {any} */
    this.detail = null;
    /** Sent with every map API request: the server grants curator view to curators only. */
    this.apiParams = config.curator ? { curator: "1" } : {};
    this.details = new WorkDetails(`${this.api}maps/${encodeURIComponent(this.slug)}/works/`, () =>
      this.store.update({ infoVersion: this.store.state.infoVersion + 1 }),
    this.apiParams);
    this.frameRequested = false;
  }

  // The loaded points, read by the panels, the browser tests and bench/frontend.py.
  get slug() { return this.store.state.slug; }
  get points() { return /** @type {import("./store.js").Points} */ (this.store.state.points); }
  get n() { return this.store.state.points ? this.store.state.points.n : 0; }
  get ids() { return this.points.ids; }
  get xs() { return this.points.xs; }
  get ys() { return this.points.ys; }
  get index() { return this.points.index; }
  get iconSize() { return this.points.iconSize; }
  get bbox() { return this.points.bbox; }

  async start() {
    setupMessages(this);
    this.store.update({ status: t("loading") });
    const renderer = createRenderer(this.canvas, { onLost: () => this.fail(t("contextLost")) });
    if (renderer.error) {
      this.fail(t("noWebgl"), true);
      return;
    }
    this.camera.onChange = () => this.viewChanged();
    this.resize();
    new ResizeObserver(() => this.resize()).observe(this.canvas);
    setupSwitcher(this);
    if (this.config.missing) {
      // The server answered 404 with the message (no such map, or its first build is not live yet).
      this.store.update({ status: "" });
      this.canvas.dataset.failed = "true";
      return;
    }
    let detail, points, prefetched;
    try {
      const mapUrl = `${this.api}maps/${encodeURIComponent(this.slug)}/`;
      const pointsRequest = getJSON(`${mapUrl}points/${query(this.apiParams)}`);
      pointsRequest.catch(() => {}); // awaited below; when the map's own request fails first, that failure is shown
      detail = await getJSON(mapUrl);
      prefetched = Atlases.prefetch(detail.atlases); // while the points are still on their way
      points = makePoints(await pointsRequest);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) this.fail(t("loadFailed"), true);
      else if (this.config.maps.some((m) => m.slug === this.slug)) this.fail(t("noMap"), true);
      else this.fail(t("unknownMap", { slug: this.slug }), true, true);
      return;
    }
    this.detail = detail;
    this.canvas.dataset.subject = points.faces ? "faces" : "artworks";
    this.store.update({ points });
    this.scene = new Scene(renderer, points, this.sizes, {
      requestRender: () => this.requestRender(),
      onOverviewLoaded: () => this.store.update({ ready: true }),
      infoOf: (id) => this.details.get(id),
      requestInfo: (ids) => this.details.request(ids),
    });
    this.layouts = new Layouts(this, points, detail.layouts || ["tsne"]);
    if (this.store.state.layout !== "tsne") {
      await this.layouts.switchTo(this.store.state.layout, { duration: 0, fit: false }).catch(() => this.store.update({ layout: "tsne" }));
    }
    this.setupCamera();
    this.store.subscribe((state, changed) => { if (touched(changed, ...DRAWN)) this.requestRender(); });
    const tips = setupWorkPanel(this);
    const drafts = setupSelection(this);
    setupInput(this, tips, drafts);
    const filters = setupFilters(this);
    setupSearch(this);
    const hotspots = placeHotspots(points, detail.clusters || []);
    setupLabels(this, hotspots);
    setupHotspots(this, hotspots);
    setupLayouts(this, this.layouts);
    setupUrlSync(this);
    setupSheets(this);
    setupLens(this);
    setupDeepZoom(this);
    this.canvas.dataset.points = String(points.n);
    this.requestRender();
    await this.scene.load(detail.atlases, prefetched, this.camera.cx, this.camera.cy);
    this.canvas.dataset.extra = String(this.scene.extraCount);
    if (this.scene.levels.length) this.canvas.dataset.levels = this.scene.levels.join(",");
    if (Object.keys(this.initial.filters).length) filters.apply(this.initial.filters);
    if (this.initial.sel !== null) {
      const p = points.pointOf.get(this.initial.sel);
      if (p !== undefined) this.select(p, { fly: this.initial.z === null });
    }
  }

  /** The zoom range of the layout shown. */
  setLimits() {
    const fit = this.fitScale();
    this.camera.minScale = fit / 4;
    // Deep enough that the largest derivative is shown at its full size.
    const largest = Math.max(...this.sizes.map((s) => s[1]));
    this.camera.maxScale = Math.max(fit * 8, (largest * 1.25) / (this.iconSize * (this.dpr || 1)));
  }

  setupCamera() {
    const { bbox, iconSize, pointOf, xs, ys } = this.points;
    const fit = this.fitScale();
    this.setLimits();
    const s = this.initial;
    if (s.x !== null && s.y !== null && s.z !== null) {
      this.camera.set(s.x, s.y, fit * Math.pow(2, s.z));
    } else if (s.sel !== null && pointOf.has(s.sel)) {
      const p = /** @type {number} */ (pointOf.get(s.sel));
      this.camera.set(xs[p], ys[p], Math.min(this.camera.maxScale, 220 / iconSize));
    } else {
      this.camera.fit(bbox, FIT_MARGIN);
    }
  }

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    this.dpr = dpr;
    const w = Math.max(1, Math.round(rect.width * dpr)), h = Math.max(1, Math.round(rect.height * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    const bbox = this.store.state.points?.bbox;
    const fitBefore = bbox && this.camera.width > 1 ? this.fitScale() : null;
    this.camera.resize(rect.width, rect.height);
    if (fitBefore && bbox) {
      // Keep the relative zoom when the window changes size.
      const fit = this.fitScale();
      this.camera.minScale = fit / 4;
      this.camera.set(this.camera.cx, this.camera.cy, (this.camera.scale / fitBefore) * fit);
    }
    this.requestRender();
  }

  /** The scale at which the whole map fills the canvas: zoom 0 of the URL's `z`. */
  fitScale() {
    return this.camera.fitScale(this.bbox, FIT_MARGIN);
  }

  viewChanged() {
    const c = this.camera;
    this.store.update({ view: { cx: c.cx, cy: c.cy, scale: c.scale, width: c.width, height: c.height } });
  }

  // --- Actions shared by the panels and input handlers ----------------------------------------------

  /** Selects a work (its panel opens once its details arrive), flying to it when asked. */
  select(/** @type {number} */ p, { fly = false } = {}) {
    this.store.update({ selected: p });
    if (fly) {
      const scale = Math.max(this.camera.scale, Math.min(this.camera.maxScale, 220 / this.iconSize));
      this.camera.flyTo(this.xs[p], this.ys[p], scale);
    }
  }

  closePanel() {
    this.store.update({ selected: -1 });
  }

  clearSelection() {
    this.store.update({ selection: null, selectionList: null });
  }

  /** Flies back to the whole map. */
  reset() {
    const b = this.bbox;
    this.camera.flyTo((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, this.fitScale(), { duration: 400 });
  }

  /** Shows a failure that stops the map, with the link to the list of works when `showList` and to the maps that exist when `showMaps`. */
  fail(/** @type {string} */ message, showList = false, showMaps = false) {
    this.store.update({ status: "", error: { message, showList, showMaps } });
  }

  // --- Frames --------------------------------------------------------------------------------------

  requestRender() {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      this.frame();
    });
  }

  frame() {
    if (!this.scene || !this.n) return;
    const started = performance.now();
    const state = this.store.state;
    const stats = this.scene.draw(state, this.camera, this.dpr);
    const elapsed = performance.now() - started;
    timings.frames.push(elapsed);
    if (timings.frames.length > 2000) timings.frames.splice(0, 1000);
    if (timings.firstFrame === null) {
      timings.firstFrameAt = performance.now();
      timings.firstFrame = timings.firstFrameAt - timings.start;
    }
    if (state.ready && timings.firstFull === null) {
      timings.firstFullAt = performance.now();
      timings.firstFull = timings.firstFullAt - timings.start;
      this.canvas.dataset.ready = "true";
      this.store.update({ status: "" });
    }
    Object.assign(this.canvas.dataset, {
      level: String(stats.level), sheets: String(stats.sheets), instances: String(stats.instances),
      sharp: String(stats.sharp), iconPx: stats.iconPx.toFixed(1), morph: stats.morph.toFixed(3),
    });
  }
}
