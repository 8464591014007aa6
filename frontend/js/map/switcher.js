// The map switcher: the maps with a build, from the API (the server's list when that fails); choosing one
// opens it with a fresh view.
import { getJSON } from "../lib/api.js";
import { $, el } from "../lib/dom.js";
import { stateToSearch } from "../lib/urlstate.js";

/** @param {import("./app.js").MapApp} app */
export async function setupSwitcher(app) {
  const select = /** @type {HTMLSelectElement | null} */ ($("#map-switch", app.root));
  if (!select) return;
  let maps = app.config.maps;
  try {
    const all = await getJSON(`${app.api}maps/`);
    maps = (Array.isArray(all) ? all : all.results || [])
      .filter((/** @type {any} */ m) => m.build)
      // The server's titles are translated (the default maps' are in the catalogue); the API's are the data.
      .map((/** @type {any} */ m) => ({ slug: m.slug, title: app.config.maps.find((s) => s.slug === m.slug)?.title || m.title }));
  } catch {
    // keep the server's list
  }
  const known = maps.some((m) => m.slug === app.slug);
  // An unknown map's slug stands as a placeholder, so that choosing any real map is a change.
  const unknown = known ? [] : [el("option", { value: "", disabled: true, selected: true, text: app.slug })];
  select.replaceChildren(...unknown, ...maps.map((m) => el("option", { value: m.slug, selected: m.slug === app.slug, text: m.title })));
  select.disabled = known && maps.length < 2;
  select.addEventListener("change", () => {
    location.search = stateToSearch({ map: select.value, filters: {}, curator: Boolean(app.config.curator) });
  });
}
