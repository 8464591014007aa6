// The artwork page: a zoomable WebGL view of the image (medium first, then large as you zoom),
// detected objects and faces drawn over it when the API has them, and similar works.
import { ApiError, getJSON } from "./lib/api.js";
import { el } from "./lib/dom.js";
import { Camera } from "./lib/camera.js";
import { attachControls } from "./lib/controls.js";
import { loadStrings, t } from "./lib/i18n.js";
import { loadImage } from "./lib/images.js";
import { createRenderer } from "./lib/renderer.js";

const $ = (sel, root = document) => root.querySelector(sel);

/** A detection's box as fractions of the image [x0, y0, x1, y1], from the shapes an API may send. */
export function normaliseBox(item, width, height) {
  let box = item.box || item.bbox || item.bounding_box;
  if (box && !Array.isArray(box) && typeof box === "object") {
    box = "x0" in box ? [box.x0, box.y0, box.x1, box.y1] : [box.x, box.y, box.x + box.width, box.y + box.height];
  }
  if (!box && ["x", "y", "width", "height"].every((k) => typeof item[k] === "number")) {
    box = [item.x, item.y, item.x + item.width, item.y + item.height];
  }
  if (!Array.isArray(box) || box.length !== 4 || box.some((v) => typeof v !== "number" || !Number.isFinite(v))) return null;
  const pixels = box.some((v) => v > 1.0001);
  const [x0, y0, x1, y1] = pixels ? [box[0] / width, box[1] / height, box[2] / width, box[3] / height] : box;
  if (!(x1 > x0 && y1 > y0)) return null;
  return [Math.max(0, x0), Math.max(0, y0), Math.min(1, x1), Math.min(1, y1)];
}

class Viewer {
  constructor(host, config) {
    this.host = host;
    this.config = config;
    this.sizes = config.sizes.filter((s) => s[2]); // [name, px, url]
    const longest = Math.max(config.width, config.height) || 1;
    this.w = config.width / longest;
    this.h = config.height / longest;
    this.bbox = [-this.w / 2, -this.h / 2, this.w / 2, this.h / 2];
    this.texture = null;
    this.loaded = null; // [name, px]
    this.loading = new Set();
    this.boxes = [];
  }

  start() {
    const canvas = /** @type {HTMLCanvasElement} */ (el("canvas", {
      class: "viewer-canvas", tabindex: "0", role: "img",
      "aria-label": this.host.getAttribute("aria-label") || "", "aria-describedby": "viewer-help",
    }));
    this.canvas = canvas;
    this.renderer = createRenderer(canvas);
    if (this.renderer.error) return false;
    this.fallback = $("img", this.host);
    this.host.append(canvas, el("p", { id: "viewer-help", class: "visually-hidden", text: t("zoomHelp") }));
    this.overlay = el("div", { class: "detections-layer" });
    this.host.append(this.overlay);
    this.host.classList.add("is-interactive");
    this.camera = new Camera();
    this.camera.onChange = () => this.requestRender();
    this.resize();
    this.camera.fit(this.bbox, 0.02);
    this.camera.minScale = this.camera.scale / 2;
    this.camera.maxScale = Math.max(this.camera.scale * 4, (Math.max(...this.sizes.map((s) => s[1])) * 2) / Math.max(this.w, this.h));
    new ResizeObserver(() => this.resize()).observe(this.host);
    this.controls = attachControls(canvas, this.camera, {
      onReset: () => this.camera.fit(this.bbox, 0.02),
      onEscape: () => canvas.blur(),
    });
    $("#viewer-tools").hidden = false;
    $("#viewer-zoom-in")?.addEventListener("click", () => this.controls.zoomCentre(2));
    $("#viewer-zoom-out")?.addEventListener("click", () => this.controls.zoomCentre(0.5));
    $("#viewer-reset")?.addEventListener("click", () => this.camera.fit(this.bbox, 0.02));
    this.requestRender();
    return true;
  }

  resize() {
    const rect = this.host.getBoundingClientRect();
    this.dpr = Math.min(window.devicePixelRatio || 1, 2);
    this.canvas.width = Math.max(1, Math.round(rect.width * this.dpr));
    this.canvas.height = Math.max(1, Math.round(rect.height * this.dpr));
    const had = this.camera.width > 1;
    this.camera.resize(rect.width, rect.height);
    if (!had) this.camera.fit(this.bbox, 0.02);
  }

  /** The smallest derivative at least as large as the image is on screen (device pixels). */
  wanted() {
    const px = Math.max(this.w, this.h) * this.camera.scale * this.dpr;
    for (const s of this.sizes) if (s[1] >= px * 0.9) return s;
    return this.sizes[this.sizes.length - 1];
  }

  async ensure(size) {
    if (!size || this.loading.has(size[0]) || (this.loaded && this.loaded[1] >= size[1])) return;
    this.loading.add(size[0]);
    try {
      const image = await loadImage(size[2]);
      if (this.loaded && this.loaded[1] >= size[1]) return;
      const texture = this.renderer.imageTexture(image);
      this.texture?.destroy();
      this.texture = texture;
      this.loaded = size;
      this.canvas.dataset.loaded = size[0];
      if (this.fallback) this.fallback.hidden = true;
      this.requestRender();
    } catch (err) {
      console.warn("image failed", size[2], err);
    } finally {
      this.loading.delete(size[0]);
    }
  }

  requestRender() {
    if (this._raf) return;
    this._raf = requestAnimationFrame(() => {
      this._raf = null;
      this.render();
    });
  }

  render() {
    const want = this.wanted();
    if (!this.loaded) {
      // Something on screen fast: the medium image (or the smallest) first.
      this.ensure(this.sizes.find((s) => s[0] === "medium") || this.sizes[0]);
    }
    this.ensure(want);
    const r = this.renderer;
    const cam = this.camera;
    r.clear([0.12, 0.12, 0.13, 1]);
    if (this.texture) {
      r.drawImage({
        centre: [cam.cx, cam.cy], scale: cam.scale, viewport: [cam.width, cam.height], iconSize: 1, minPx: 0,
        pos: [0, 0], half: [this.w / 2, this.h / 2], tex: this.texture, dim: 0, dimStrength: 0,
      });
    }
    this.positionBoxes();
  }

  setDetections(items) {
    this.boxes = items;
    this.overlay.replaceChildren(
      ...items.map((d) => el("div", { class: `detection detection-${d.kind}`, title: d.label }, el("span", { text: d.label }))),
    );
    this.positionBoxes();
  }

  showDetections(on) {
    this.overlay.hidden = !on;
  }

  positionBoxes() {
    const nodes = /** @type {HTMLCollectionOf<HTMLElement>} */ (this.overlay.children);
    for (let i = 0; i < this.boxes.length; i++) {
      const [x0, y0, x1, y1] = this.boxes[i].box;
      const [sx0, sy0] = this.camera.toScreen(-this.w / 2 + x0 * this.w, -this.h / 2 + y0 * this.h);
      const [sx1, sy1] = this.camera.toScreen(-this.w / 2 + x1 * this.w, -this.h / 2 + y1 * this.h);
      Object.assign(nodes[i].style, {
        transform: `translate(${sx0}px, ${sy0}px)`, width: `${sx1 - sx0}px`, height: `${sy1 - sy0}px`,
      });
    }
  }
}

async function loadDetections(viewer, config) {
  let detail;
  try {
    detail = await getJSON(config.detail);
  } catch {
    return;
  }
  const items = [];
  for (const [field, kind, fallback] of [["objects", "object", t("object")], ["faces", "face", t("face")]]) {
    const list = Array.isArray(detail[field]) ? detail[field] : [];
    for (const item of list) {
      const box = normaliseBox(item, config.width, config.height);
      if (!box) continue;
      const label = String(item.label || item.name || item.person || item.category || fallback);
      const score = typeof item.score === "number" ? ` (${Math.round(item.score * 100)} %)` : "";
      items.push({ kind, box, label: `${label}${score}` });
    }
  }
  if (!items.length) return; // nothing detected yet, or the API does not say: draw nothing
  const section = $("#detections");
  $("#detections-list").replaceChildren(...items.map((d) => el("li", { class: `detection-item detection-${d.kind}`, text: d.label })));
  section.hidden = false;
  if (viewer) {
    viewer.setDetections(items);
    const toggle = $("#detections-toggle");
    $("#detections-toggle-label").hidden = false;
    toggle.addEventListener("change", () => viewer.showDetections(toggle.checked));
  }
}

async function loadSimilar() {
  const section = $("#similar");
  if (!section) return;
  const status = $("#similar-status");
  const list = $("#similar-list");
  const pattern = JSON.parse($("#work-url")?.textContent || '"/works/__acc__/"');
  try {
    const data = await getJSON(section.dataset.url);
    if (!data.length) {
      status.textContent = t("similarNone");
      return;
    }
    list.replaceChildren(
      ...data.map(({ artwork: w }) => {
        const alt = [w.title, w.artist].filter(Boolean).join(", ");
        return el(
          "li",
          {},
          el(
            "a",
            { href: pattern.replace("__acc__", encodeURIComponent(w.accession_number)) },
            w.images && w.images.thumb ? el("img", { src: w.images.thumb, alt, width: "128", loading: "lazy" }) : null,
            el("span", { class: "title", text: w.title }),
            el("span", { class: "meta", text: [w.artist, w.date].filter(Boolean).join(", ") }),
          ),
        );
      }),
    );
  } catch (err) {
    status.textContent = err instanceof ApiError && err.status === 409 ? t("similarNotReady") : t("similarFailed");
    section.dataset.state = err instanceof ApiError ? String(err.status) : "error";
  }
}

function main() {
  loadStrings();
  const configEl = document.getElementById("viewer-config");
  const host = document.getElementById("artwork-viewer");
  if (configEl && host) {
    const config = JSON.parse(configEl.textContent);
    let viewer = new Viewer(host, config);
    if (!viewer.start()) viewer = null; // no WebGL: the <img> stays
    loadDetections(viewer, config);
    /** @type {any} */ (window).artworkViewer = viewer;
  }
  loadSimilar();
}

main();
