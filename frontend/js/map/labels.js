// Cluster names over the map. They let the pointer through to the map (wheel, drag, click on the works under
// them); keyboard users reach them with Tab and fly there with Enter. They follow the view.
import { $, el } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { touched } from "./store.js";

/** @typedef {{ name: string, x: number, y: number, size: number, terms?: string[] }} Cluster */

/**
 * @param {import("./app.js").MapApp} app
 * @param {Cluster[]} allClusters
 */
export function setupLabels(app, allClusters) {
  // A region without a name (no word sets it apart) gets no label.
  const clusters = allClusters.filter((c) => c.name);
  const layer = $("#map-labels", app.root);
  const { camera } = app;
  layer.replaceChildren(
    ...clusters.map((c) =>
      el("button", {
        type: "button", class: "map-label", text: c.name, title: (c.terms || []).join(", "),
        "aria-label": t("clusterLabel", { name: c.name, n: c.size }),
        onclick: () => camera.flyTo(c.x, c.y, Math.min(camera.maxScale, camera.scale * 3)),
      }),
    ),
  );
  /** @type {number[][] | null} */
  let sizes = null;
  /** @type {number[]} */
  let order = [];
  const position = () => {
    if (!clusters.length) return;
    const fit = app.fitScale();
    const zoom = camera.scale / fit;
    // Names help at the overview and fade out as single works take over.
    const opacity = zoom < 6 ? 1 : zoom < 12 ? (12 - zoom) / 6 : 0;
    layer.style.opacity = String(opacity);
    layer.style.visibility = opacity > 0 ? "visible" : "hidden";
    if (opacity <= 0) return;
    const nodes = /** @type {HTMLCollectionOf<HTMLElement>} */ (layer.children);
    if (!sizes) {
      sizes = [...nodes].map((node) => [node.offsetWidth, node.offsetHeight]);
      // Larger groups first: when names would overlap, the larger group's name is shown.
      order = clusters.map((c, i) => i).sort((a, b) => clusters[b].size - clusters[a].size);
    }
    /** @type {number[][]} */
    const placed = [];
    for (const i of order) {
      const [sx, sy] = camera.toScreen(clusters[i].x, clusters[i].y);
      const [w, h] = sizes[i];
      const box = [sx - w / 2 - 4, sy - h / 2 - 2, sx + w / 2 + 4, sy + h / 2 + 2];
      const onScreen = box[2] > 0 && box[0] < camera.width && box[3] > 0 && box[1] < camera.height;
      const free = onScreen && !placed.some((b) => b[0] < box[2] && b[2] > box[0] && b[1] < box[3] && b[3] > box[1]);
      nodes[i].hidden = !free;
      if (!free) continue;
      placed.push(box);
      nodes[i].style.transform = `translate(${Math.round(sx)}px, ${Math.round(sy)}px) translate(-50%, -50%)`;
    }
  };
  position();
  app.store.subscribe((state, changed) => {
    if (touched(changed, "view")) position();
  });
}
