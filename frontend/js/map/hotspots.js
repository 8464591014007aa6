// The hotspots panel (PixPlot's best-loved feature): the map's regions as a list, each with its name, its size
// and a few of the works nearest its centre, and a click that flies the camera there. The regions' places
// come from their member points as drawn (density.js moves points apart), not from the build's centres.
import { $, el } from "../lib/dom.js";
import { formatNumber, t } from "../lib/i18n.js";

/**
 * @typedef {object} Hotspot  A region as the map API gives it, placed on the drawn points.
 * @property {number} label
 * @property {string} name  "" when no word sets it apart
 * @property {string[]} [terms]
 * @property {number} size
 * @property {number} x  the centre of its points as drawn
 * @property {number} y
 * @property {number[]} points  ids of the works nearest the centre (previews)
 * @property {number[]} bbox  [x0, y0, x1, y1] of its thumbnails as drawn
 */

/** Fraction of the canvas left free around a region the camera flies to. */
const FLY_MARGIN = 0.12;

/**
 * The API's clusters with their centre and extent taken from the drawn points of each (by their `cluster` label).
 * @param {import("./store.js").Points} points
 * @param {{ label: number, name: string, terms?: string[], size: number, x: number, y: number, points?: number[] }[]} clusters
 * @returns {Hotspot[]}
 */
export function placeHotspots(points, clusters) {
  const { xs, ys, sizes, iconSize, cluster } = points;
  /** @type {Map<number, { sx: number, sy: number, k: number, bbox: number[] }>} */
  const acc = new Map(clusters.map((c) => [c.label, { sx: 0, sy: 0, k: 0, bbox: [Infinity, Infinity, -Infinity, -Infinity] }]));
  for (let p = 0; p < points.n; p++) {
    const a = cluster ? acc.get(cluster[p]) : undefined;
    if (!a) continue;
    const h = (sizes[p] * iconSize) / 2;
    a.sx += xs[p];
    a.sy += ys[p];
    a.k++;
    a.bbox = [Math.min(a.bbox[0], xs[p] - h), Math.min(a.bbox[1], ys[p] - h), Math.max(a.bbox[2], xs[p] + h), Math.max(a.bbox[3], ys[p] + h)];
  }
  return clusters.map((c) => {
    const a = acc.get(c.label);
    const h = iconSize / 2;
    if (!a || !a.k) return { ...c, points: c.points || [], bbox: [c.x - h, c.y - h, c.x + h, c.y + h] };
    return { ...c, points: c.points || [], x: a.sx / a.k, y: a.sy / a.k, bbox: a.bbox };
  });
}

/**
 * Flies the camera so the region fills the canvas (never less zoomed in than 1.5 × the whole map's fit).
 * @param {import("./app.js").MapApp} app
 * @param {Hotspot} spot
 */
export function flyToHotspot(app, spot) {
  const { camera } = app;
  const scale = Math.min(camera.maxScale, Math.max(camera.fitScale(spot.bbox, FLY_MARGIN), app.fitScale() * 1.5));
  return camera.flyTo(spot.x, spot.y, scale, { duration: 900 });
}

/**
 * @param {import("./app.js").MapApp} app
 * @param {Hotspot[]} hotspots
 */
export function setupHotspots(app, hotspots) {
  const panel = $("#hotspots-panel", app.root), toggle = $("#hotspots-toggle", app.root), list = $("#hotspots-list", app.root);
  if (!panel || !toggle || !list) return;
  const spots = [...hotspots].sort((a, b) => b.size - a.size);
  toggle.hidden = !spots.length;
  const count = app.points.faces ? "nFaces" : "nWorks";
  /** @type {Map<number, HTMLElement>} preview id -> its <img> slot */
  const slots = new Map();
  list.replaceChildren(
    ...spots.map((spot) => {
      const previews = spot.points.slice(0, 5).map((id) => {
        const slot = el("span", { class: "hotspot-thumb" });
        slots.set(id, slot);
        return slot;
      });
      const label = spot.name || t(count, { n: formatNumber(spot.size) });
      return el(
        "li", {},
        el(
          "button", {
            type: "button", class: "hotspot", "data-label": String(spot.label),
            "aria-label": t("hotspotGo", { name: label, n: formatNumber(spot.size) }),
            onclick: async () => {
              // Regions are t-SNE neighbourhoods: from another layout the works move back first.
              if (app.layouts && app.store.state.layout !== "tsne") await app.layouts.switchTo("tsne");
              flyToHotspot(app, spot);
              // On a narrow screen the panel covers the map: it gives way to the flight.
              if (app.root.clientWidth < 700) close();
            },
          },
          el("span", { class: "hotspot-name", text: label }),
          el("span", { class: "hotspot-size", text: spot.name ? t(count, { n: formatNumber(spot.size) }) : "" }),
          el("span", { class: "hotspot-previews" }, ...previews),
        ),
      );
    }),
  );
  const fill = () => {
    for (const [id, slot] of slots) {
      const info = app.details.get(id);
      if (slot.firstChild || !info || !info.images || !info.images.thumb) continue;
      slot.append(el("img", { src: info.images.thumb, alt: info.title || "", loading: "lazy", width: "56", height: "56" }));
    }
  };
  let asked = false;
  const close = () => {
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
  };
  toggle.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
    if (panel.hidden) return;
    if (!asked) {
      asked = true;
      app.details.request([...slots.keys()]).then(fill);
    }
    /** @type {HTMLElement | null} */ (list.querySelector("button"))?.focus();
  });
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      close();
      toggle.focus();
    }
  });
}
