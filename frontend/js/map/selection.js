// Box and lasso selection: the shape drawn over the map, the panel listing the works inside it, and their
// export as CSV. The selection lives in the store (`selectionList`, null when none); the panel follows it.
import { postForBlob, query } from "../lib/api.js";
import { $, el } from "../lib/dom.js";
import { formatNumber, t } from "../lib/i18n.js";
import { selectInPolygon } from "../lib/spatial.js";
import { touched } from "./store.js";

/**
 * @typedef {object} Drafts  The shape being drawn, driven by lib/controls.js's select mode.
 * @property {(mode: string, x: number, y: number) => void} start
 * @property {(mode: string, x: number, y: number) => void} move
 * @property {(mode: string, x: number, y: number) => void} end
 * @property {() => void} cancel
 * @property {() => boolean} active
 */

/**
 * @param {import("./app.js").MapApp} app
 * @returns {Drafts}
 */
export function setupSelection(app) {
  const { root, store } = app;
  const overlay = $("#map-overlay", root);
  /** @type {{ mode: string, points: number[], x0: number, y0: number } | null} */
  let draft = null;

  const drawDraft = () => {
    const pts = [];
    if (draft) for (let k = 0; k < draft.points.length; k += 2) pts.push(`${draft.points[k]},${draft.points[k + 1]}`);
    overlay.innerHTML = draft ? `<polygon points="${pts.join(" ")}" class="selection-shape"/>` : "";
  };

  /** @type {Drafts} */
  const drafts = {
    start(mode, x, y) {
      draft = { mode, points: [x, y], x0: x, y0: y };
      drawDraft();
    },
    move(mode, x, y) {
      const d = draft;
      if (!d) return;
      if (mode === "box") d.points = [d.x0, d.y0, x, d.y0, x, y, d.x0, y];
      else {
        const n = d.points.length;
        if (Math.hypot(x - d.points[n - 2], y - d.points[n - 1]) > 3) d.points.push(x, y);
      }
      drawDraft();
    },
    end(mode, x, y) {
      drafts.move(mode, x, y);
      const d = draft;
      draft = null;
      drawDraft();
      if (!d || d.points.length < 6) return;
      const poly = [];
      for (let k = 0; k < d.points.length; k += 2) poly.push(...app.camera.toWorld(d.points[k], d.points[k + 1]));
      const points = selectInPolygon(app.index, poly);
      const selection = new Uint8Array(app.n);
      for (const p of points) selection[p] = 1;
      store.update({ selectionList: points, selection: points.length ? selection : null });
    },
    cancel() {
      draft = null;
      drawDraft();
    },
    active: () => draft !== null,
  };

  for (const mode of ["box", "lasso"]) {
    $(`#select-${mode}`, root)?.addEventListener("click", () => {
      const controls = app.controls;
      if (!controls) return;
      const next = controls.mode === mode ? "pan" : mode;
      controls.setMode(next);
      for (const m of ["box", "lasso"]) $(`#select-${m}`, root)?.setAttribute("aria-pressed", String(next === m));
      store.update({ status: next === "pan" ? "" : t(next === "box" ? "boxHelp" : "lassoHelp") });
    });
  }
  $("#selection-clear", root)?.addEventListener("click", () => app.clearSelection());
  $("#selection-export", root)?.addEventListener("click", () => exportSelection(app));

  store.subscribe((state, changed) => {
    if (touched(changed, "selectionList")) showList(app, state.selectionList);
  });
  return drafts;
}

/**
 * Opens the panel with the selected works (the first hundred; the export has them all), or closes it.
 * @param {import("./app.js").MapApp} app
 * @param {number[] | null} points
 */
async function showList(app, points) {
  const panel = $("#selection-panel", app.root);
  if (!points) {
    panel.hidden = true;
    app.root.classList.remove("has-selection");
    return;
  }
  panel.hidden = false;
  app.root.classList.add("has-selection");
  $("#selection-count", panel).textContent = t("selectedCount", { n: formatNumber(points.length) });
  /** @type {HTMLButtonElement} */ ($("#selection-export", panel)).disabled = !points.length;
  const list = $("#selection-list", panel);
  list.replaceChildren();
  app.canvas.dataset.selected = String(points.length);
  const shown = points.slice(0, 100);
  const { ids } = app.points;
  await app.details.request(shown.map((p) => ids[p]));
  list.replaceChildren(
    ...shown.map((p) => {
      const info = app.details.get(ids[p]);
      if (!info) return null;
      const alt = [info.title, info.artist].filter(Boolean).join(", ");
      return el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "selection-item", onclick: () => app.select(p, { fly: true }) },
          info.images && info.images.thumb ? el("img", { src: info.images.thumb, alt, width: "48", height: "48", loading: "lazy" }) : null,
          el("span", { class: "result-title", text: info.title }),
          el("span", { class: "result-meta", text: [info.artist, info.date].filter(Boolean).join(", ") }),
        ),
      );
    }),
  );
  if (points.length > shown.length) list.append(el("li", { class: "more", text: t("moreInExport", { n: formatNumber(points.length - shown.length) }) }));
}

/** @param {import("./app.js").MapApp} app */
async function exportSelection(app) {
  const points = app.store.state.selectionList;
  if (!points || !points.length) return;
  const button = /** @type {HTMLButtonElement} */ ($("#selection-export", app.root));
  button.disabled = true;
  try {
    const blob = await postForBlob(`${app.api}maps/${encodeURIComponent(app.slug)}/works/${query(app.apiParams)}`, {
      ids: points.map((p) => app.ids[p]), format: "csv",
    });
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: `${app.slug}-selection.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  } catch {
    app.store.update({ status: t("exportFailed") });
  } finally {
    button.disabled = false;
  }
}
