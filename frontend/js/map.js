// The collection map: every work drawn as its own thumbnail at its place on the map (WebGL, regl).
//
// Level of detail: the overview draws the smallest atlas level (all of it is loaded); zooming in loads
// the sheets of more detailed levels that cover the view; past the most detailed atlas, each visible
// work's own thumb / medium / large derivative is loaded, so images stay sharp down to one painting.
// Works placed on the map after its build are not in the atlases: their thumbnails load one by one.
import { ApiError, getBuffer, getJSON, postForBlob, query, transfer } from "./lib/api.js";
import { bboxIntersects, derivativeFor, layoutLevel, levelFor, parseIndex, visibleRanges } from "./lib/atlas.js";
import { Camera } from "./lib/camera.js";
import { attachControls } from "./lib/controls.js";
import { formatNumber, loadStrings, t } from "./lib/i18n.js";
import { TaskQueue, createRenderer, loadImage } from "./lib/renderer.js";
import { GridIndex, selectInPolygon } from "./lib/spatial.js";
import { FILTER_KEYS, parseState, stateToSearch } from "./lib/urlstate.js";

const MAX_SHARP = 160; // visible works beyond which no individual image is loaded
const SHARP_BUDGET_PX = 48e6; // texture pixels kept for individual images
const MAX_DETAIL_SHEETS = 12; // detailed atlas sheets kept on the GPU
const MIN_ICON_PX = 1.5;
const INFO_BATCH = 200;

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
};

// firstFrame/firstFull: ms since the script started; …At: ms since navigation (performance.now()).
export const timings = { start: performance.now(), firstFrame: null, firstFull: null, firstFrameAt: null, firstFullAt: null, frames: [] };

class MapApp {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.api = config.api;
    this.canvas = $("#map-canvas", root);
    this.status = $("#map-status", root);
    this.tooltip = $("#map-tooltip", root);
    this.labelsLayer = $("#map-labels", root);
    this.overlay = $("#map-overlay", root);
    this.state = parseState(location.search);
    this.slug = this.state.map || config.map;
    this.sizes = config.sizes; // [["thumb", 128], ["medium", 640], ["large", 1600]]
    this.info = new Map(); // artwork id -> details from /works/
    this.infoWaiting = new Map(); // id -> [resolve]
    this.infoQueue = new Set();
    this.sheets = []; // per level: list of sheet records
    this.levels = []; // atlas cell sizes, smallest first
    this.topAtlasPx = 0;
    this.extra = new Int32Array(0);
    this.sharp = new Map(); // point index -> {name, texture, px, used}
    this.sharpLoading = new Map(); // `${p}:${name}` -> true
    this.sharpPx = 0;
    this.imageQueue = new TaskQueue(6);
    this.sheetQueue = new TaskQueue(4);
    this.uploads = []; // decoded atlas sheets waiting for the GPU (one per frame)
    this.sharpUploads = []; // decoded single images waiting for the GPU (a few ms per frame)
    this.match = null; // Uint8Array per point: 1 = matches the filters
    this.selection = null; // Uint8Array per point: 1 = inside the drawn selection
    this.selectionList = [];
    this.hover = -1;
    this.selected = -1;
    this.keyboardFocus = false;
    this.dirty = true;
    this.frameRequested = false;
    this.ready = false;
  }

  // --- Start-up --------------------------------------------------------------------------------

  async start() {
    this.setStatus(t("loading"));
    this.renderer = createRenderer(this.canvas, { onLost: () => this.fail(t("contextLost")) });
    if (this.renderer.error) {
      this.fail(t("noWebgl"), true);
      return;
    }
    this.camera = new Camera();
    this.camera.onChange = () => this.viewChanged();
    this.resize();
    new ResizeObserver(() => this.resize()).observe(this.canvas);
    this.buildMapSwitcher();
    let detail, points;
    try {
      const pointsRequest = getJSON(`${this.api}maps/${encodeURIComponent(this.slug)}/points/`);
      detail = await getJSON(`${this.api}maps/${encodeURIComponent(this.slug)}/`);
      this.prefetchAtlases(detail.atlases); // while the points are still on their way
      points = await pointsRequest;
    } catch (err) {
      this.fail(err instanceof ApiError && err.status === 404 ? t("noMap") : t("loadFailed"), true);
      return;
    }
    this.detail = detail;
    this.usePoints(points);
    this.setupCamera();
    this.controls = attachControls(this.canvas, this.camera, this.controlHandlers());
    this.buildFilters();
    this.buildSearch();
    this.buildSelectionTools();
    this.buildZoomButtons();
    this.buildClusterLabels(detail.clusters || []);
    this.updateCount();
    this.canvas.dataset.points = String(this.n);
    this.requestRender();
    await this.loadAtlases(detail.atlases);
    if (Object.keys(this.state.filters).length) this.applyFilters(this.state.filters, { fromUrl: true });
    if (this.state.sel !== null) {
      const p = this.pointOf.get(this.state.sel);
      if (p !== undefined) this.select(p, { fly: this.state.z === null, updateUrl: false });
    }
  }

  usePoints(points) {
    const n = points.ids.length;
    const scale = points.scale || 32767;
    this.n = n;
    this.ids = Int32Array.from(points.ids);
    this.xs = new Float32Array(n);
    this.ys = new Float32Array(n);
    this.pointOf = new Map();
    // On a faces map the points are faces: ids are face ids, and `artworks` names each face's work.
    this.faces = points.subject === "faces";
    this.pointOfWork = this.faces ? new Map() : this.pointOf;
    for (let i = 0; i < n; i++) {
      this.xs[i] = points.x[i] / scale;
      this.ys[i] = points.y[i] / scale;
      this.pointOf.set(points.ids[i], i);
      if (this.faces && !this.pointOfWork.has(points.artworks[i])) this.pointOfWork.set(points.artworks[i], i);
    }
    this.canvas.dataset.subject = this.faces ? "faces" : "artworks";
    this.index = new GridIndex(this.xs, this.ys);
    const [x0, y0, x1, y1] = this.index.bbox;
    // Icons somewhat larger than the median distance to the nearest neighbour (about the typical spacing
    // between works where they are dense): the map reads as a mosaic.
    const spacing = this.index.typicalSpacing();
    this.iconSize = Math.min(Math.max(spacing * 1.5, Math.max(x1 - x0, y1 - y0, 1e-3) / 400), Math.max(x1 - x0, y1 - y0, 0.2) / 2.5);
    const m = this.iconSize;
    this.bbox = [x0 - m, y0 - m, x1 + m, y1 + m];
    this.dim = new Uint8Array(n);
    this.inAtlas = new Uint8Array(n);
  }

  setupCamera() {
    const fit = this.camera.fitScale(this.bbox);
    this.camera.minScale = fit / 4;
    // Deep enough that the largest derivative is shown at its full size.
    const largest = Math.max(...this.sizes.map((s) => s[1]));
    this.camera.maxScale = Math.max(fit * 8, (largest * 1.25) / (this.iconSize * (this.dpr || 1)));
    const s = this.state;
    if (s.x !== null && s.y !== null && s.z !== null) {
      this.camera.set(s.x, s.y, fit * Math.pow(2, s.z));
    } else if (s.sel !== null && this.pointOf.has(s.sel)) {
      const p = this.pointOf.get(s.sel);
      this.camera.set(this.xs[p], this.ys[p], Math.min(this.camera.maxScale, 220 / this.iconSize));
    } else {
      this.camera.fit(this.bbox);
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
    if (this.camera) {
      const fitBefore = this.bbox && this.camera.width > 1 ? this.camera.fitScale(this.bbox) : null;
      this.camera.resize(rect.width, rect.height);
      if (fitBefore && this.bbox) {
        // Keep the relative zoom when the window changes size.
        const fit = this.camera.fitScale(this.bbox);
        this.camera.minScale = fit / 4;
        this.camera.set(this.camera.cx, this.camera.cy, (this.camera.scale / fitBefore) * fit);
      }
    }
    this.requestRender();
  }

  // --- Atlases ---------------------------------------------------------------------------------

  async loadAtlases(atlases) {
    this.atlases = atlases;
    if (!atlases || !atlases.levels || !atlases.levels.length) {
      this.levels = [];
      this.topAtlasPx = 0;
      this.setupExtras();
      this.markReadyIfDone();
      return;
    }
    let index;
    try {
      index = parseIndex(await (this.prefetched?.get(atlases.index) || getBuffer(atlases.index)));
    } catch (err) {
      console.warn("atlas index failed to load; drawing works one by one", err);
      this.levels = [];
      this.topAtlasPx = 0;
      this.setupExtras();
      this.markReadyIfDone();
      return;
    }
    const pointAt = new Int32Array(index.n);
    for (let i = 0; i < index.n; i++) {
      const p = this.pointOf.get(index.ids[i]);
      pointAt[i] = p === undefined ? -1 : p;
      if (p !== undefined) this.inAtlas[p] = 1;
    }
    this.levels = atlases.levels.map((level) => level.cell);
    // Where each work sits in each level's instance buffers, to hide it under its own sharp image.
    this.slots = atlases.levels.map(() => ({ sheet: new Int32Array(this.n).fill(-1), k: new Int32Array(this.n) }));
    this.topAtlasPx = this.levels[this.levels.length - 1] - 2 * atlases.pad;
    this.sheets = atlases.levels.map((level, l) =>
      layoutLevel(level, index, this.xs, this.ys, (i) => pointAt[i], atlases.pad).map((sheet, s) => ({
        ...sheet, level: l, number: s, state: "idle", texture: null, buffers: null, used: 0,
      })),
    );
    this.sheets.forEach((level, l) =>
      level.forEach((sheet, s) => {
        for (let k = 0; k < sheet.n; k++) {
          this.slots[l].sheet[sheet.points[k]] = s;
          this.slots[l].k[sheet.points[k]] = k;
        }
      }),
    );
    this.canvas.dataset.levels = this.levels.join(",");
    this.setupExtras();
    // The overview level, nearest the centre of the view first.
    const [cx, cy] = [this.camera.cx, this.camera.cy];
    for (const sheet of this.sheets[0]) {
      const b = sheet.bbox;
      this.loadSheet(sheet, Math.hypot((b[0] + b[2]) / 2 - cx, (b[1] + b[3]) / 2 - cy));
    }
  }

  prefetchAtlases(atlases) {
    this.prefetched = new Map();
    if (!atlases || !atlases.levels || !atlases.levels.length) return;
    const count = (b) => { transfer.bytes += b; transfer.requests++; };
    this.prefetched.set(atlases.index, getBuffer(atlases.index));
    for (const sheet of atlases.levels[0].sheets) {
      this.prefetched.set(sheet.url, loadImage(sheet.url, { onBytes: count }));
    }
    for (const promise of this.prefetched.values()) promise.catch(() => {});
  }

  /** Works on the map but not in the atlases (placed after the build): placeholders, then their own thumbs. */
  setupExtras() {
    const extra = [];
    for (let p = 0; p < this.n; p++) if (!this.inAtlas[p]) extra.push(p);
    this.extra = Int32Array.from(extra);
    this.extraIndex = extra.length > 2000 ? new GridIndex(Float32Array.from(extra, (p) => this.xs[p]), Float32Array.from(extra, (p) => this.ys[p])) : null;
    const k = extra.length;
    const pos = new Float32Array(2 * k), half = new Float32Array(2 * k);
    for (let j = 0; j < k; j++) {
      pos[2 * j] = this.xs[extra[j]];
      pos[2 * j + 1] = this.ys[extra[j]];
      half[2 * j] = half[2 * j + 1] = 0.42;
    }
    this.extraBuffers?.destroy();
    this.extraBuffers = k ? this.renderer.quadBatch(pos, half, null, k) : null;
    this.canvas.dataset.extra = String(k);
    this.updateDimBuffers();
    this.requestRender();
  }

  loadSheet(sheet, priority) {
    if (sheet.state !== "idle") return;
    sheet.state = "loading";
    this.sheetQueue
      .push(priority + sheet.level * 10, () => {
        const early = this.prefetched?.get(sheet.url);
        if (early) {
          this.prefetched.delete(sheet.url);
          return early;
        }
        return loadImage(sheet.url, { onBytes: (b) => { transfer.bytes += b; transfer.requests++; } });
      })
      .then((image) => {
        this.uploads.push({ sheet, image });
        this.requestRender();
      })
      .catch((err) => {
        sheet.state = "error";
        console.warn("atlas sheet failed", sheet.url, err);
        this.markReadyIfDone();
      });
  }

  uploadSheet(sheet, image) {
    const r = this.renderer;
    sheet.texture = r.sheetTexture(image);
    if (image.close) image.close();
    sheet.buffers = r.quadBatch(sheet.pos, sheet.half, sheet.uv, sheet.n, sheet.order);
    sheet.state = "ready";
    this.updateSheetDim(sheet);
  }

  evictSheets(visible) {
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

  markReadyIfDone() {
    if (this.ready) return;
    const level0 = this.sheets[0] || [];
    if (level0.every((s) => s.state === "ready" || s.state === "error")) {
      this.ready = true;
      this.requestRender();
    }
  }

  // --- Drawing ---------------------------------------------------------------------------------

  requestRender() {
    this.dirty = true;
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      if (this.dirty) this.render();
    });
  }

  viewChanged() {
    this.requestRender();
    this.hideTooltip();
    clearTimeout(this._urlTimer);
    this._urlTimer = setTimeout(() => this.writeUrl(), 250);
  }

  render() {
    const started = performance.now();
    this.dirty = false;
    if (!this.renderer || !this.camera || !this.n) return;
    // One texture upload per frame keeps panning smooth while sheets stream in.
    const upload = this.uploads.shift();
    if (upload) {
      this.uploadSheet(upload.sheet, upload.image);
      if (this.uploads.length) this.requestRender();
      if (upload.sheet.level === 0) this.markReadyIfDone();
    }
    // Single images: as many as fit in a few milliseconds, the rest next frame.
    while (this.sharpUploads.length && performance.now() - started < 6) this.uploadSharp(this.sharpUploads.shift());
    if (this.sharpUploads.length) this.requestRender();
    const r = this.renderer;
    const cam = this.camera;
    const base = {
      centre: [cam.cx, cam.cy], scale: cam.scale, viewport: [cam.width, cam.height],
      iconSize: this.iconSize, minPx: MIN_ICON_PX, dimStrength: 1,
    };
    const iconPx = this.iconSize * cam.scale * this.dpr;
    const view = cam.bounds(Math.max(this.iconSize, 2 / cam.scale));
    r.clear();

    // Front to back, with the depth test hiding what lies behind (stacks of works cost little):
    // single images (sharper derivatives past the atlases, thumbs of works not in them), then the
    // atlas levels from the most detailed (loaded sheets in view) to level 0, then placeholders.
    const sharpDrawn = this.drawSharp(base, iconPx, view);
    const wanted = this.levels.length ? levelFor(this.levels, iconPx, this.atlases.pad) : -1;
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
        sheet.used = started;
        // Only the runs of works that meet the view (nearest last in map order, so drawn first).
        const ranges = visibleRanges(sheet.chunks, view);
        for (let k = ranges.length - 1; k >= 0; k--) {
          sheet.buffers.draw({ ...base, tex: sheet.texture }, ranges[k][0], ranges[k][1], depthRange);
          drawnInstances += ranges[k][1];
        }
        drawnSheets++;
      }
    }
    this.evictSheets(visibleSheets);
    if (this.extraBuffers) this.extraBuffers.draw({ ...base, colour: [0.33, 0.33, 0.35] }, 0, this.extra.length, [0.96, 0.99]);

    // Frames: hover, selection, keyboard focus.
    const frame = (p, colour, widthPx) =>
      r.drawFrame({ ...base, pos: [this.xs[p], this.ys[p]], half: this.halfOf(p), widthPx, colour });
    if (this.hover >= 0 && this.hover !== this.selected) frame(this.hover, [1, 1, 1, 0.9], 2);
    if (this.selected >= 0) frame(this.selected, [1, 0.72, 0.25, 1], 3);
    if (this.keyboardFocus) {
      const p = this.pickAt(cam.width / 2, cam.height / 2, 40);
      this.centreWork = p;
      if (p >= 0 && p !== this.selected) frame(p, [0.45, 0.8, 1, 1], 3);
    }

    this.positionLabels();
    const elapsed = performance.now() - started;
    timings.frames.push(elapsed);
    if (timings.frames.length > 2000) timings.frames.splice(0, 1000);
    if (timings.firstFrame === null) {
      timings.firstFrameAt = performance.now();
      timings.firstFrame = timings.firstFrameAt - timings.start;
    }
    if (this.ready && timings.firstFull === null) {
      timings.firstFullAt = performance.now();
      timings.firstFull = timings.firstFullAt - timings.start;
      this.canvas.dataset.ready = "true";
      this.setStatus("");
    }
    Object.assign(this.canvas.dataset, {
      level: String(wanted), sheets: String(drawnSheets), instances: String(drawnInstances), sharp: String(sharpDrawn), iconPx: iconPx.toFixed(1),
    });
  }

  halfOf(p) {
    const s = this.sharp.get(p);
    const info = this.info.get(this.ids[p]);
    const w = s ? s.w : info && info.images ? info.images.width : 1;
    const h = s ? s.h : info && info.images ? info.images.height : 1;
    const longest = Math.max(w, h) || 1;
    return [(0.5 * w) / longest, (0.5 * h) / longest];
  }

  drawSharp(base, iconPx, view) {
    const want = derivativeFor(iconPx, this.sizes, this.topAtlasPx || 0);
    const visible = [];
    if (want) {
      visible.push(...this.index.queryRect(view[0], view[1], view[2], view[3], MAX_SHARP + 1));
      if (visible.length > MAX_SHARP) visible.length = 0;
    }
    // Works without an atlas cell always need their own thumb (the placeholder is grey).
    const extras = this.visibleExtras(view);
    const need = new Map();
    for (const p of extras) need.set(p, want && this.rank(want) > this.rank("thumb") ? want : "thumb");
    for (const p of visible) need.set(p, want);
    const missingInfo = [];
    const cx = this.camera.cx, cy = this.camera.cy;
    for (const [p, name] of need) {
      const id = this.ids[p];
      const info = this.info.get(id);
      if (!info) { missingInfo.push(id); continue; }
      const have = this.sharp.get(p);
      if (!have || this.rank(have.name) < this.rank(name)) {
        const priority = Math.hypot(this.xs[p] - cx, this.ys[p] - cy) / this.iconSize;
        // Thumb first for a work that has nothing yet, so something appears quickly.
        if (!have && !this.inAtlas[p] && name !== "thumb") this.loadSharp(p, "thumb", priority);
        this.loadSharp(p, name, priority);
      }
    }
    if (missingInfo.length) this.requestInfo(missingInfo);
    let drawn = 0;
    const now = performance.now();
    // Stacks of works on one spot would cover the screen many times over: stop at a few screenfuls,
    // nearest the centre first.
    const cam = this.camera;
    const budget = 2.5 * cam.width * cam.height;
    let area = 0;
    const order = [...need.keys()].filter((p) => this.sharp.has(p));
    order.sort((a, b) => Math.hypot(this.xs[a] - cx, this.ys[a] - cy) - Math.hypot(this.xs[b] - cx, this.ys[b] - cy));
    const covered = new Set();
    for (const p of order) {
      const s = this.sharp.get(p);
      // Over an atlas cell only when sharper than the atlas.
      if (this.inAtlas[p] && s.px <= (this.topAtlasPx || 0)) continue;
      const half = this.halfOf(p);
      const [sx, sy] = cam.toScreen(this.xs[p], this.ys[p]);
      const hw = half[0] * this.iconSize * cam.scale, hh = half[1] * this.iconSize * cam.scale;
      area += Math.max(0, Math.min(cam.width, sx + hw) - Math.max(0, sx - hw)) * Math.max(0, Math.min(cam.height, sy + hh) - Math.max(0, sy - hh));
      if (area > budget && covered.size) break;
      covered.add(p);
    }
    // Front to back: the depth test keeps the first drawn where images overlap.
    for (const p of [...covered].sort((a, b) => b - a)) {
      const s = this.sharp.get(p);
      s.used = now;
      this.renderer.drawImage({ ...base, pos: [this.xs[p], this.ys[p]], half: this.halfOf(p), tex: s.texture, dim: this.dim[p], depth: 0.02 });
      drawn++;
    }
    this.setCovered(covered);
    this.evictSharp(need);
    return drawn;
  }

  /** Hides the atlas cells of works drawn with their own sharper image (set at the next frame). */
  setCovered(covered) {
    const before = this.covered || new Set();
    let changed = false;
    for (const p of before) if (!covered.has(p)) { this.writeSlot(p, this.dim[p]); changed = true; }
    for (const p of covered) if (!before.has(p)) { this.writeSlot(p, 2); changed = true; }
    this.covered = covered;
    if (changed) this.requestRender();
  }

  writeSlot(p, value) {
    if (!this.slots) return;
    for (let l = 0; l < this.slots.length; l++) {
      const s = this.slots[l].sheet[p];
      if (s < 0) continue;
      const sheet = this.sheets[l][s];
      if (sheet.state === "ready") sheet.buffers.setDim(this.slots[l].k[p], value);
    }
  }

  visibleExtras(view) {
    if (!this.extra || !this.extra.length) return [];
    const out = [];
    if (this.extraIndex) {
      for (const j of this.extraIndex.queryRect(view[0], view[1], view[2], view[3], MAX_SHARP + 1)) out.push(this.extra[j]);
      return out.length > MAX_SHARP ? [] : out;
    }
    for (const p of this.extra) {
      const x = this.xs[p], y = this.ys[p];
      if (x >= view[0] && x <= view[2] && y >= view[1] && y <= view[3]) out.push(p);
    }
    return out.length > MAX_SHARP ? [] : out;
  }

  rank(name) {
    return this.sizes.findIndex((s) => s[0] === name);
  }

  loadSharp(p, name, priority) {
    const key = `${p}:${name}`;
    if (this.sharpLoading.has(key)) return;
    const info = this.info.get(this.ids[p]);
    const url = info && info.images && info.images[name];
    if (!url) return;
    this.sharpLoading.set(key, true);
    this.imageQueue
      .push(priority + this.rank(name) * 0.01, () => loadImage(url, { onBytes: (b) => { transfer.bytes += b; transfer.requests++; } }))
      .then((image) => {
        this.sharpUploads.push({ p, name, image });
        this.requestRender();
      })
      .catch(() => {})
      .finally(() => this.sharpLoading.delete(key));
  }

  uploadSharp({ p, name, image }) {
    const have = this.sharp.get(p);
    if ((have && this.rank(have.name) >= this.rank(name)) || Math.max(image.width, image.height) > this.renderer.maxTexture) {
      if (image.close) image.close();
      return;
    }
    const texture = this.renderer.imageTexture(image);
    if (have) {
      have.texture.destroy();
      this.sharpPx -= have.w * have.h;
    }
    this.sharp.set(p, { name, texture, w: image.width, h: image.height, px: Math.max(image.width, image.height), used: performance.now() });
    this.sharpPx += image.width * image.height;
    if (image.close) image.close();
  }

  evictSharp(needed) {
    if (this.sharpPx <= SHARP_BUDGET_PX) return;
    const entries = [...this.sharp.entries()].filter(([p]) => !needed.has(p)).sort((a, b) => a[1].used - b[1].used);
    for (const [p, s] of entries) {
      if (this.sharpPx <= SHARP_BUDGET_PX * 0.8) break;
      s.texture.destroy();
      this.sharp.delete(p);
      this.sharpPx -= s.w * s.h;
    }
  }

  // --- Dimming (filters and selections) ---------------------------------------------------------

  recomputeDim() {
    for (let p = 0; p < this.n; p++) {
      const out = (this.match && !this.match[p]) || (this.selection && !this.selection[p]);
      this.dim[p] = out ? 1 : 0;
    }
    this.updateDimBuffers();
    this.requestRender();
  }

  updateDimBuffers() {
    for (const level of this.sheets) for (const sheet of level) if (sheet.state === "ready") this.updateSheetDim(sheet);
    if (this.extraBuffers) this.extraBuffers.setDims(Float32Array.from(this.extra, (p) => this.dim[p]));
  }

  updateSheetDim(sheet) {
    const values = new Float32Array(sheet.n);
    const covered = this.covered;
    for (let k = 0; k < sheet.n; k++) {
      const p = sheet.points[k];
      values[k] = covered && covered.has(p) ? 2 : this.dim[p];
    }
    sheet.buffers.setDims(values);
  }

  // --- Picking, hover and selection ---------------------------------------------------------------

  /** The work drawn under a screen point, or -1 (within `slackPx` when icons are tiny). */
  pickAt(sx, sy, slackPx = 4) {
    const [wx, wy] = this.camera.toWorld(sx, sy);
    const drawn = Math.max(this.iconSize, MIN_ICON_PX / this.camera.scale);
    const radius = drawn * 0.75 + slackPx / this.camera.scale;
    let best = -1, bestD = Infinity;
    this.index.forEachInRect(wx - radius, wy - radius, wx + radius, wy + radius, (i) => {
      const [hx, hy] = this.halfOf(i);
      const dx = Math.abs(this.xs[i] - wx), dy = Math.abs(this.ys[i] - wy);
      const slack = slackPx / this.camera.scale;
      if (dx <= hx * drawn + slack && dy <= hy * drawn + slack) {
        const d = dx * dx + dy * dy;
        if (d < bestD) { bestD = d; best = i; }
      }
    });
    return best;
  }

  controlHandlers() {
    return {
      onHover: (x, y) => this.onHover(x, y),
      onHoverEnd: () => { this.setHover(-1); this.hideTooltip(); },
      onClick: (x, y) => {
        const p = this.pickAt(x, y);
        if (p >= 0) this.select(p);
        else this.closePanel();
      },
      onReset: () => this.camera.flyTo((this.bbox[0] + this.bbox[2]) / 2, (this.bbox[1] + this.bbox[3]) / 2, this.camera.fitScale(this.bbox), { duration: 400 }),
      onKeyboardMove: () => {
        this.keyboardFocus = true;
        this.requestRender();
        clearTimeout(this._announceTimer);
        this._announceTimer = setTimeout(() => this.announceCentre(), 450);
      },
      onActivateCentre: () => {
        const p = this.pickAt(this.camera.width / 2, this.camera.height / 2, 40);
        if (p >= 0) this.select(p);
      },
      onEscape: () => {
        if (this.selectionDraft) this.cancelDraft();
        else if (this.selected >= 0) this.closePanel();
        else if (this.selection) this.clearSelection();
      },
      onSelectStart: (mode, x, y) => this.startDraft(mode, x, y),
      onSelectMove: (mode, x, y) => this.moveDraft(mode, x, y),
      onSelectEnd: (mode, x, y) => this.endDraft(mode, x, y),
      onSelectCancel: () => this.cancelDraft(),
    };
  }

  onHover(x, y) {
    const p = this.pickAt(x, y);
    this.setHover(p);
    if (p < 0) {
      this.hideTooltip();
      return;
    }
    this.showTooltip(p, x, y);
  }

  setHover(p) {
    if (p === this.hover) return;
    this.hover = p;
    this.canvas.style.cursor = p >= 0 ? "pointer" : "";
    this.requestRender();
  }

  async showTooltip(p, x, y) {
    const tip = this.tooltip;
    tip.hidden = false;
    const place = () => {
      const w = tip.offsetWidth, h = tip.offsetHeight;
      const left = x + 16 + w > this.camera.width ? x - w - 12 : x + 16;
      const top = y + 16 + h > this.camera.height ? y - h - 12 : y + 16;
      tip.style.transform = `translate(${Math.max(4, left)}px, ${Math.max(4, top)}px)`;
    };
    const id = this.ids[p];
    const info = this.info.get(id);
    if (info) {
      this.fillTooltip(info);
      place();
      return;
    }
    tip.replaceChildren(el("span", { class: "tip-title", text: "…" }));
    place();
    // Fetch this work with its neighbours, so the next hovers answer at once.
    const near = this.index.kNearest(this.xs[p], this.ys[p], 60).map((i) => this.ids[i]);
    await this.requestInfo([id, ...near]);
    if (this.hover === p && this.info.get(id)) {
      this.fillTooltip(this.info.get(id));
      place();
    }
  }

  fillTooltip(info) {
    this.tooltip.replaceChildren(
      el("span", { class: "tip-title", text: info.title }),
      info.artist ? el("span", { class: "tip-artist", text: info.artist }) : null,
      info.date ? el("span", { class: "tip-date", text: info.date }) : null,
    );
  }

  hideTooltip() {
    if (this.tooltip) this.tooltip.hidden = true;
  }

  async select(p, { fly = false, updateUrl = true } = {}) {
    this.selected = p;
    this.requestRender();
    if (fly) {
      const scale = Math.max(this.camera.scale, Math.min(this.camera.maxScale, 220 / this.iconSize));
      this.camera.flyTo(this.xs[p], this.ys[p], scale);
    }
    if (updateUrl) this.writeUrl();
    const id = this.ids[p];
    await this.requestInfo([id]);
    if (this.selected === p) this.openPanel(this.info.get(id));
  }

  openPanel(info) {
    const panel = $("#work-panel", this.root);
    if (!info) return;
    const body = $(".panel-body", panel);
    const alt = [info.title, info.artist, info.date].filter(Boolean).join(", ");
    const img = info.images && (info.images.medium || info.images.thumb);
    body.replaceChildren(
      img ? el("img", { src: img, alt, class: "panel-image", loading: "eager" }) : null,
      el("h2", { id: "work-panel-title", tabindex: "-1", text: info.title }),
      el(
        "dl",
        {},
        ...(info.artist ? [el("dt", { text: t("artist") }), el("dd", { text: info.artist })] : []),
        ...(info.date ? [el("dt", { text: t("date") }), el("dd", { text: info.date })] : []),
        ...(info.classification_label ? [el("dt", { text: t("classification") }), el("dd", { text: info.classification_label })] : []),
        el("dt", { text: t("accession") }), el("dd", { text: info.accession_number }),
      ),
      info.page ? el("p", {}, el("a", { class: "button primary", href: info.page, "data-testid": "open-work-page", text: t("openWork") })) : null,
    );
    panel.hidden = false;
    this.root.classList.add("has-panel");
    $("#work-panel-title", panel).focus({ preventScroll: true });
  }

  closePanel() {
    const panel = $("#work-panel", this.root);
    if (panel.hidden && this.selected < 0) return;
    panel.hidden = true;
    this.root.classList.remove("has-panel");
    this.selected = -1;
    this.writeUrl();
    this.requestRender();
  }

  async announceCentre() {
    const p = this.pickAt(this.camera.width / 2, this.camera.height / 2, 40);
    const live = $("#map-live", this.root);
    if (p < 0) {
      live.textContent = t("centreEmpty");
      return;
    }
    await this.requestInfo([this.ids[p]]);
    const info = this.info.get(this.ids[p]);
    if (info) live.textContent = t("centreWork", { title: info.title, artist: info.artist || "", date: info.date || "" });
  }

  // --- Work details, in batches ----------------------------------------------------------------------

  requestInfo(ids) {
    const waits = [];
    for (const id of ids) {
      if (this.info.has(id)) continue;
      if (!this.infoWaiting.has(id)) {
        this.infoWaiting.set(id, []);
        this.infoQueue.add(id);
      }
      waits.push(new Promise((resolve) => this.infoWaiting.get(id).push(resolve)));
    }
    if (this.infoQueue.size && !this._infoTimer) this._infoTimer = setTimeout(() => this.flushInfo(), 30);
    return Promise.all(waits);
  }

  async flushInfo() {
    this._infoTimer = null;
    if (this._infoBusy) {
      this._infoTimer = setTimeout(() => this.flushInfo(), 50);
      return;
    }
    const batch = [...this.infoQueue].slice(0, INFO_BATCH);
    for (const id of batch) this.infoQueue.delete(id);
    if (!batch.length) return;
    this._infoBusy = true;
    try {
      const data = await getJSON(`${this.api}maps/${encodeURIComponent(this.slug)}/works/${query({ ids: batch.join(",") })}`);
      for (const work of data.works) this.info.set(work.id, work);
    } catch (err) {
      console.warn("work details failed", err);
    } finally {
      this._infoBusy = false;
      for (const id of batch) {
        for (const resolve of this.infoWaiting.get(id) || []) resolve();
        this.infoWaiting.delete(id);
      }
      this.requestRender();
      if (this.infoQueue.size) this._infoTimer = setTimeout(() => this.flushInfo(), 0);
    }
  }

  // --- URL ----------------------------------------------------------------------------------------

  writeUrl() {
    if (!this.camera || !this.bbox) return;
    const fit = this.camera.fitScale(this.bbox);
    const state = {
      map: this.slug,
      x: this.camera.cx,
      y: this.camera.cy,
      z: Math.log2(this.camera.scale / fit),
      sel: this.selected >= 0 ? this.ids[this.selected] : null,
      filters: this.filters || {},
    };
    const search = stateToSearch(state);
    if (search !== location.search) history.replaceState(null, "", `${location.pathname}${search}`);
  }

  // --- Map switcher, zoom buttons, cluster labels -----------------------------------------------------

  async buildMapSwitcher() {
    const select = $("#map-switch", this.root);
    if (!select) return;
    let maps = this.config.maps;
    try {
      const all = await getJSON(`${this.api}maps/`);
      maps = (Array.isArray(all) ? all : all.results || []).filter((m) => m.build).map((m) => ({ slug: m.slug, title: m.title }));
    } catch {
      // keep the server's list
    }
    select.replaceChildren(...maps.map((m) => el("option", { value: m.slug, selected: m.slug === this.slug, text: m.title })));
    select.disabled = maps.length < 2;
    select.addEventListener("change", () => {
      location.search = stateToSearch({ map: select.value, filters: {} });
    });
  }

  buildZoomButtons() {
    const zoomBy = (f) => this.controls.zoomCentre(f);
    $("#zoom-in", this.root)?.addEventListener("click", () => zoomBy(2));
    $("#zoom-out", this.root)?.addEventListener("click", () => zoomBy(0.5));
    $("#zoom-reset", this.root)?.addEventListener("click", () => this.controlHandlers().onReset());
    $("#work-panel-close", this.root)?.addEventListener("click", () => {
      this.closePanel();
      this.canvas.focus();
    });
    // Escape closes a panel from inside it too, and gives the focus back to the map.
    for (const id of ["#work-panel", "#selection-panel", "#filters-panel"]) {
      $(id, this.root)?.addEventListener("keydown", (e) => {
        if (e.key !== "Escape") return;
        e.preventDefault();
        if (id === "#work-panel") this.closePanel();
        else if (id === "#selection-panel") this.clearSelection();
        else {
          $(id, this.root).hidden = true;
          $("#filters-toggle", this.root)?.setAttribute("aria-expanded", "false");
        }
        this.canvas.focus();
      });
    }
  }

  buildClusterLabels(clusters) {
    // Labels let the pointer through to the map (wheel, drag, click on the works under them);
    // keyboard users reach them with Tab and fly there with Enter.
    this.clusters = clusters;
    this.labelsLayer.replaceChildren(
      ...clusters.map((c) =>
        el("button", {
          type: "button", class: "map-label", text: c.name, title: (c.terms || []).join(", "),
          "aria-label": t("clusterLabel", { name: c.name, n: c.size }),
          onclick: () => this.camera.flyTo(c.x, c.y, Math.min(this.camera.maxScale, this.camera.scale * 3)),
        }),
      ),
    );
    this.positionLabels();
  }

  positionLabels() {
    if (!this.clusters || !this.clusters.length) return;
    const fit = this.camera.fitScale(this.bbox);
    const zoom = this.camera.scale / fit;
    // Names help at the overview and fade out as single works take over.
    const opacity = zoom < 6 ? 1 : zoom < 12 ? (12 - zoom) / 6 : 0;
    this.labelsLayer.style.opacity = String(opacity);
    this.labelsLayer.style.visibility = opacity > 0 ? "visible" : "hidden";
    if (opacity <= 0) return;
    const nodes = this.labelsLayer.children;
    if (!this.labelSizes) {
      this.labelSizes = [...nodes].map((node) => [node.offsetWidth, node.offsetHeight]);
      // Larger groups first: when names would overlap, the larger group's name is shown.
      this.labelOrder = this.clusters.map((c, i) => i).sort((a, b) => this.clusters[b].size - this.clusters[a].size);
    }
    const placed = [];
    for (const i of this.labelOrder) {
      const [sx, sy] = this.camera.toScreen(this.clusters[i].x, this.clusters[i].y);
      const [w, h] = this.labelSizes[i];
      const box = [sx - w / 2 - 4, sy - h / 2 - 2, sx + w / 2 + 4, sy + h / 2 + 2];
      const onScreen = box[2] > 0 && box[0] < this.camera.width && box[3] > 0 && box[1] < this.camera.height;
      const free = onScreen && !placed.some((b) => b[0] < box[2] && b[2] > box[0] && b[1] < box[3] && b[3] > box[1]);
      nodes[i].hidden = !free;
      if (!free) continue;
      placed.push(box);
      nodes[i].style.transform = `translate(${Math.round(sx)}px, ${Math.round(sy)}px) translate(-50%, -50%)`;
    }
  }

  // --- Filters ---------------------------------------------------------------------------------------

  buildFilters() {
    const form = $("#map-filters", this.root);
    if (!form) return;
    const supported = new Set(this.detail.filters || []);
    const objectInput = form.elements.object;
    if (objectInput) this.offerObjects(objectInput, supported.has("object"), $("#object-note", form));
    for (const key of FILTER_KEYS) if (form.elements[key] && this.state.filters[key]) form.elements[key].value = this.state.filters[key];
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const values = {};
      for (const key of FILTER_KEYS) {
        const input = form.elements[key];
        if (input && !input.disabled && input.value.trim()) values[key] = input.value.trim();
      }
      this.applyFilters(values);
    });
    form.addEventListener("reset", () => setTimeout(() => this.applyFilters({}), 0));
    $("#filters-toggle", this.root)?.addEventListener("click", (e) => {
      const panel = $("#filters-panel", this.root);
      panel.hidden = !panel.hidden;
      e.currentTarget.setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) panel.querySelector("input, select")?.focus();
    });
  }

  // The object filter suggests the labels detected so far; with none (detection off or not run yet) it is
  // disabled and the note says why. If the list cannot be loaded, the field stays usable without suggestions.
  async offerObjects(input, supported, note) {
    let labels = [];
    if (supported) {
      try {
        labels = await getJSON(`${this.api}objects/`);
      } catch {
        return;
      }
    }
    if (!Array.isArray(labels) || !labels.length) {
      input.disabled = true;
      if (note) note.hidden = false;
      return;
    }
    $("#object-labels", this.root)?.replaceChildren(
      ...labels.map((o) => el("option", { value: o.label, label: `${o.label} (${formatNumber(o.count)})` })),
    );
  }

  async applyFilters(values, { fromUrl = false } = {}) {
    const supported = new Set(this.detail.filters || []);
    const params = {};
    for (const [k, v] of Object.entries(values)) if (supported.has(k) || k === "object") params[k] = v;
    this.filters = params;
    const note = $("#filter-result", this.root);
    if (!Object.keys(params).length) {
      this.match = null;
      this.recomputeDim();
      if (note) note.textContent = "";
      this.updateCount();
      if (!fromUrl) this.writeUrl();
      return;
    }
    // "object" is sent only when the API understands it; otherwise it is kept in the URL but ignored.
    const sent = Object.fromEntries(Object.entries(params).filter(([k]) => supported.has(k)));
    try {
      const data = await getJSON(`${this.api}maps/${encodeURIComponent(this.slug)}/match/${query(sent)}`);
      const match = new Uint8Array(this.n);
      let count = 0;
      for (const id of data.ids) {
        const p = this.pointOf.get(id);
        if (p !== undefined) { match[p] = 1; count++; }
      }
      this.match = match;
      this.recomputeDim();
      const ignored = [...(data.ignored || []), ...Object.keys(params).filter((k) => !supported.has(k))];
      if (note) {
        note.textContent = t("matchCount", { n: formatNumber(count), total: formatNumber(this.n) }) +
          (ignored.includes("object") ? ` ${t("objectUnavailable")}` : "");
      }
      this.canvas.dataset.matches = String(count);
    } catch (err) {
      if (note) note.textContent = err instanceof ApiError && err.status === 400 ? t("filterInvalid") : t("loadFailed");
    }
    if (!fromUrl) this.writeUrl();
  }

  updateCount() {
    const count = $("#map-count", this.root);
    if (count) count.textContent = t(this.faces ? "nFaces" : "nWorks", { n: formatNumber(this.n) });
  }

  // --- Search: a combobox that flies to a work ---------------------------------------------------------

  buildSearch() {
    const input = $("#map-search", this.root);
    const list = $("#map-search-results", this.root);
    if (!input || !list) return;
    let results = [];
    let active = -1;
    let timer = null;
    let controller = null;
    const close = () => {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    };
    const highlight = (i) => {
      active = i;
      [...list.children].forEach((li, k) => li.setAttribute("aria-selected", String(k === i)));
      if (i >= 0) input.setAttribute("aria-activedescendant", list.children[i].id);
    };
    const choose = (work) => {
      close();
      input.value = work.title;
      const p = this.pointOfWork.get(work.id); // search finds works; on a faces map, fly to its first face
      if (p !== undefined) this.select(p, { fly: true });
      else if (work.page) location.href = work.page;
    };
    const run = async () => {
      const q = input.value.trim();
      if (q.length < 2) { close(); return; }
      controller?.abort();
      controller = new AbortController();
      try {
        const data = await getJSON(`${this.api}artworks/${query({ q, page_size: 8 })}`, { signal: controller.signal });
        results = (data.results || []).map((w) => ({
          id: w.id, title: w.title, artist: w.artist, date: w.date,
          page: this.config.workUrl.replace("__acc__", encodeURIComponent(w.accession_number)),
          onMap: this.pointOfWork.has(w.id),
        }));
      } catch (err) {
        if (err.name === "AbortError") return;
        results = [];
      }
      list.replaceChildren(
        ...(results.length
          ? results.map((w, i) =>
              el(
                "li",
                { id: `search-result-${i}`, role: "option", "aria-selected": "false", onmousedown: (e) => { e.preventDefault(); choose(w); } },
                el("span", { class: "result-title", text: w.title }),
                el("span", { class: "result-meta", text: [w.artist, w.date].filter(Boolean).join(", ") + (w.onMap ? "" : ` · ${t("notOnMap")}`) }),
              ),
            )
          : [el("li", { class: "no-results", role: "option", "aria-disabled": "true", text: t("noResults") })]),
      );
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(results.length ? 0 : -1);
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(run, 220);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" && results.length) { e.preventDefault(); highlight((active + 1) % results.length); }
      else if (e.key === "ArrowUp" && results.length) { e.preventDefault(); highlight((active - 1 + results.length) % results.length); }
      else if (e.key === "Enter") {
        e.preventDefault();
        if (active >= 0 && results[active]) choose(results[active]);
        else { clearTimeout(timer); run(); }
      } else if (e.key === "Escape") close();
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }

  // --- Box and lasso selection, list, CSV export ---------------------------------------------------------

  buildSelectionTools() {
    for (const mode of ["box", "lasso"]) {
      const button = $(`#select-${mode}`, this.root);
      button?.addEventListener("click", () => {
        const next = this.controls.mode === mode ? "pan" : mode;
        this.controls.setMode(next);
        for (const m of ["box", "lasso"]) $(`#select-${m}`, this.root)?.setAttribute("aria-pressed", String(next === m));
        this.setStatus(next === "pan" ? "" : t(next === "box" ? "boxHelp" : "lassoHelp"));
      });
    }
    $("#selection-clear", this.root)?.addEventListener("click", () => this.clearSelection());
    $("#selection-export", this.root)?.addEventListener("click", () => this.exportSelection());
  }

  startDraft(mode, x, y) {
    this.selectionDraft = { mode, points: [x, y], x0: x, y0: y };
    this.drawDraft();
  }

  moveDraft(mode, x, y) {
    const d = this.selectionDraft;
    if (!d) return;
    if (mode === "box") d.points = [d.x0, d.y0, x, d.y0, x, y, d.x0, y];
    else {
      const n = d.points.length;
      if (Math.hypot(x - d.points[n - 2], y - d.points[n - 1]) > 3) d.points.push(x, y);
    }
    this.drawDraft();
  }

  drawDraft() {
    const d = this.selectionDraft;
    const pts = [];
    if (d) for (let k = 0; k < d.points.length; k += 2) pts.push(`${d.points[k]},${d.points[k + 1]}`);
    this.overlay.innerHTML = d ? `<polygon points="${pts.join(" ")}" class="selection-shape"/>` : "";
  }

  cancelDraft() {
    this.selectionDraft = null;
    this.drawDraft();
  }

  endDraft(mode, x, y) {
    this.moveDraft(mode, x, y);
    const d = this.selectionDraft;
    this.selectionDraft = null;
    this.drawDraft();
    if (!d || d.points.length < 6) return;
    const poly = [];
    for (let k = 0; k < d.points.length; k += 2) poly.push(...this.camera.toWorld(d.points[k], d.points[k + 1]));
    this.setSelection(selectInPolygon(this.index, poly));
  }

  async setSelection(points) {
    this.selectionList = points;
    const selection = new Uint8Array(this.n);
    for (const p of points) selection[p] = 1;
    this.selection = points.length ? selection : null;
    this.recomputeDim();
    const panel = $("#selection-panel", this.root);
    panel.hidden = false;
    this.root.classList.add("has-selection");
    $("#selection-count", panel).textContent = t("selectedCount", { n: formatNumber(points.length) });
    $("#selection-export", panel).disabled = !points.length;
    const list = $("#selection-list", panel);
    list.replaceChildren();
    this.canvas.dataset.selected = String(points.length);
    const shown = points.slice(0, 100);
    await this.requestInfo(shown.map((p) => this.ids[p]));
    list.replaceChildren(
      ...shown.map((p) => {
        const info = this.info.get(this.ids[p]);
        if (!info) return null;
        const alt = [info.title, info.artist].filter(Boolean).join(", ");
        return el(
          "li",
          {},
          el(
            "button",
            { type: "button", class: "selection-item", onclick: () => this.select(p, { fly: true }) },
            info.images && info.images.thumb ? el("img", { src: info.images.thumb, alt, width: "48", height: "48", loading: "lazy" }) : null,
            el("span", { class: "result-title", text: info.title }),
            el("span", { class: "result-meta", text: [info.artist, info.date].filter(Boolean).join(", ") }),
          ),
        );
      }),
    );
    if (points.length > shown.length) list.append(el("li", { class: "more", text: t("moreInExport", { n: formatNumber(points.length - shown.length) }) }));
  }

  clearSelection() {
    this.selection = null;
    this.selectionList = [];
    this.recomputeDim();
    $("#selection-panel", this.root).hidden = true;
    this.root.classList.remove("has-selection");
  }

  async exportSelection() {
    if (!this.selectionList.length) return;
    const button = $("#selection-export", this.root);
    button.disabled = true;
    try {
      const blob = await postForBlob(`${this.api}maps/${encodeURIComponent(this.slug)}/works/`, {
        ids: this.selectionList.map((p) => this.ids[p]), format: "csv",
      });
      const url = URL.createObjectURL(blob);
      const a = el("a", { href: url, download: `${this.slug}-selection.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 5000);
    } catch {
      this.setStatus(t("exportFailed"));
    } finally {
      button.disabled = false;
    }
  }

  // --- Messages --------------------------------------------------------------------------------------

  setStatus(text) {
    if (!this.status) return;
    this.status.textContent = text;
    this.status.hidden = !text;
  }

  fail(message, showList = false) {
    this.setStatus("");
    const box = $("#map-error", this.root);
    if (!box) return;
    $(".message", box).textContent = message;
    box.hidden = false;
    if (!showList) $(".fallback-link", box).hidden = true;
    this.canvas.dataset.failed = "true";
  }
}

function main() {
  loadStrings();
  const root = document.getElementById("map-app");
  const configEl = document.getElementById("map-config");
  if (!root || !configEl) return;
  const app = new MapApp(root, JSON.parse(configEl.textContent));
  window.collectionMap = { app, timings, transfer };
  app.start().catch((err) => {
    console.error(err);
    app.fail(t("loadFailed"), true);
  });
}

main();
