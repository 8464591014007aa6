// The status line (loading, selection help, export failures) and the error box that replaces the map when
// it cannot load (with the maps that exist when the one asked for does not); both follow the store's
// `status` and `error`.
import { $, el } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { stateToSearch } from "../lib/urlstate.js";
import { touched } from "./store.js";

/** @param {import("./app.js").MapApp} app */
export function setupMessages(app) {
  const status = $("#map-status", app.root);
  app.store.subscribe((state, changed) => {
    if (touched(changed, "status") && status) {
      status.textContent = state.status;
      status.hidden = !state.status;
    }
    if (touched(changed, "error") && state.error) {
      const box = $("#map-error", app.root);
      if (!box) return;
      $(".message", box).textContent = state.error.message;
      box.hidden = false;
      if (!state.error.showList) $(".fallback-link", box).hidden = true;
      if (state.error.showMaps && app.config.maps.length) {
        // A mistyped or retired map's address: the maps that exist are one click away.
        const link = (/** @type {{ slug: string, title: string }} */ m) =>
          el("li", {}, el("a", { href: `${location.pathname}${stateToSearch({ map: m.slug, filters: {} })}`, text: m.title }));
        $(".message", box).after(el("p", { text: t("otherMaps") }), el("ul", { class: "other-maps" }, ...app.config.maps.map(link)));
      }
      app.canvas.dataset.failed = "true";
    }
  });
}
