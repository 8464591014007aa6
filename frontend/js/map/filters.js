// The filter form: applying it asks the API which works match (/maps/{slug}/match/) and the rest are dimmed.
// The object field suggests the labels detected so far; with none yet it is disabled and a note says why;
// with detection switched off (the page's config) it is not shown at all.
import { ApiError, getJSON, query } from "../lib/api.js";
import { $, el } from "../lib/dom.js";
import { formatNumber, t } from "../lib/i18n.js";
import { FILTER_KEYS } from "../lib/urlstate.js";
import { touched } from "./store.js";

/**
 * @param {import("./app.js").MapApp} app
 * @returns {{ apply: (values: Record<string, string>) => Promise<void> }}
 */
export function setupFilters(app) {
  const { root, store } = app;
  const supported = new Set(app.detail.filters || []);

  // The toolbar count follows the matches: "13 of 267 works" while a filter is applied.
  const updateCount = () => {
    const count = $("#map-count", root);
    if (!count) return;
    const { match } = store.state;
    const faces = app.points.faces;
    if (!match) {
      count.textContent = t(faces ? "nFaces" : "nWorks", { n: formatNumber(app.n) });
      return;
    }
    let shown = 0;
    for (let p = 0; p < match.length; p++) shown += match[p];
    count.textContent = t(faces ? "nOfFaces" : "nOfWorks", { shown: formatNumber(shown), n: formatNumber(app.n) });
  };
  store.subscribe((state, changed) => { if (touched(changed, "match")) updateCount(); });

  /** Applies the filters the API supports (the others are dropped, from the URL too). */
  const apply = async (/** @type {Record<string, string>} */ values) => {
    /** @type {Record<string, string>} */
    const params = {};
    for (const [k, v] of Object.entries(values)) if (supported.has(k)) params[k] = v;
    const note = $("#filter-result", root);
    if (!Object.keys(params).length) {
      store.update({ filters: params, match: null });
      if (note) note.textContent = "";
      return;
    }
    store.update({ filters: params });
    try {
      const data = await getJSON(`${app.api}maps/${encodeURIComponent(app.slug)}/match/${query({ ...params, ...app.apiParams })}`);
      const match = new Uint8Array(app.n);
      let count = 0;
      for (const id of data.ids) {
        const p = app.points.pointOf.get(id);
        if (p !== undefined) { match[p] = 1; count++; }
      }
      store.update({ match });
      if (note) note.textContent = t("matchCount", { n: formatNumber(count), total: formatNumber(app.n) });
      app.canvas.dataset.matches = String(count);
    } catch (err) {
      if (note) note.textContent = err instanceof ApiError && err.status === 400 ? t("filterInvalid") : t("loadFailed");
    }
  };

  const form = /** @type {HTMLFormElement | null} */ ($("#map-filters", root));
  if (form) {
    /** @param {string} key */
    const field = (key) => /** @type {HTMLInputElement | undefined} */ (form.elements.namedItem(key) || undefined);
    const objectInput = field("object");
    if (objectInput && app.config.objects === false) {
      // Detection is switched off: a filter that can never match is left out, not shown disabled.
      const label = objectInput.closest("label");
      if (label) label.hidden = true;
      objectInput.disabled = true;
    } else if (objectInput) offerObjects(app, objectInput, supported.has("object"), $("#object-note", form));
    for (const key of FILTER_KEYS) {
      const input = field(key);
      if (input && store.state.filters[key]) input.value = store.state.filters[key];
    }
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      /** @type {Record<string, string>} */
      const values = {};
      for (const key of FILTER_KEYS) {
        const input = field(key);
        if (input && !input.disabled && input.value.trim()) values[key] = input.value.trim();
      }
      apply(values);
    });
    form.addEventListener("reset", () => setTimeout(() => apply({}), 0));
    $("#filters-toggle", root)?.addEventListener("click", (e) => {
      const panel = $("#filters-panel", root);
      panel.hidden = !panel.hidden;
      /** @type {HTMLElement} */ (e.currentTarget).setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) /** @type {HTMLElement | null} */ (panel.querySelector("input, select"))?.focus();
    });
  }
  updateCount();
  return { apply };
}

/**
 * Suggests the detected labels; if the list cannot be loaded, the field stays usable without suggestions.
 * @param {import("./app.js").MapApp} app
 * @param {HTMLInputElement} input
 * @param {boolean} supported
 * @param {HTMLElement | null} note
 */
async function offerObjects(app, input, supported, note) {
  let labels = [];
  if (supported) {
    try {
      labels = await getJSON(`${app.api}objects/`);
    } catch {
      return;
    }
  }
  if (!Array.isArray(labels) || !labels.length) {
    input.disabled = true;
    if (note) note.hidden = false;
    return;
  }
  $("#object-labels", app.root)?.replaceChildren(
    ...labels.map((o) => el("option", { value: o.label, label: `${o.label} (${formatNumber(o.count)})` })),
  );
}
