// The map's search box: a combobox over /artworks/?q= that flies to the chosen work (on a faces map, to the
// work's first face), or opens the work's page when the work is not on this map.
import { getJSON, query } from "../lib/api.js";
import { $, el } from "../lib/dom.js";
import { t } from "../lib/i18n.js";

/** @typedef {{ id: number, title: string, artist?: string, date?: string, thumb?: string, page: string, onMap: boolean }} Result */

/** @param {import("./app.js").MapApp} app */
export function setupSearch(app) {
  const input = /** @type {HTMLInputElement | null} */ ($("#map-search", app.root));
  const list = $("#map-search-results", app.root);
  if (!input || !list) return;
  /** @type {Result[]} */
  let results = [];
  let active = -1;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {AbortController | null} */
  let controller = null;
  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (/** @type {number} */ i) => {
    active = i;
    [...list.children].slice(0, results.length).forEach((li, k) => li.setAttribute("aria-selected", String(k === i)));
    if (i >= 0) input.setAttribute("aria-activedescendant", list.children[i].id);
  };
  const choose = (/** @type {Result} */ work) => {
    close();
    input.value = work.title;
    const p = app.points.pointOfWork.get(work.id);
    if (p !== undefined) app.select(p, { fly: true });
    else if (work.page) location.href = work.page;
  };
  const run = async () => {
    const q = input.value.trim();
    if (q.length < 2) { close(); return; }
    controller?.abort();
    controller = new AbortController();
    let total = 0;
    try {
      const data = await getJSON(`${app.api}artworks/${query({ q, page_size: 8 })}`, { signal: controller.signal });
      total = Number(data.count) || 0;
      results = (data.results || []).map((/** @type {any} */ w) => ({
        id: w.id, title: w.title, artist: w.artist, date: w.date, thumb: w.images?.thumb || undefined,
        page: app.config.workUrl.replace("__acc__", encodeURIComponent(w.accession_number)),
        onMap: app.points.pointOfWork.has(w.id),
      }));
    } catch (err) {
      if (/** @type {any} */ (err)?.name === "AbortError") return;
      results = [];
    }
    list.replaceChildren(
      ...(results.length
        ? results.map((w, i) =>
            el(
              "li",
              { id: `search-result-${i}`, role: "option", "aria-selected": "false", onmousedown: (/** @type {Event} */ e) => { e.preventDefault(); choose(w); } },
              w.thumb ? el("img", { class: "result-thumb", src: w.thumb, alt: "", loading: "lazy" }) : el("span", { class: "result-thumb" }),
              el("span", { class: "result-title", text: w.title }),
              el("span", { class: "result-meta", text: [w.artist, w.date].filter(Boolean).join(", ") + (w.onMap ? "" : ` · ${t("notOnMap")}`) }),
            ),
          )
        : [el("li", { class: "no-results", role: "option", "aria-disabled": "true", text: t("noResults") })]),
      // Only the first matches fit here; the list page shows them all.
      ...(total > results.length
        ? [el("li", { class: "more-results", role: "option", "aria-disabled": "true" },
            el("a", { href: `${app.config.listUrl}${query({ q })}`, text: t("moreResults", { n: String(total - results.length) }) }))]
        : []),
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
