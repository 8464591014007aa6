// The address bar follows the map: the view (a quarter second after it settles), the layout, the selected work and the
// filters, so any view can be shared (lib/urlstate.js holds the format).
import { stateToSearch } from "../lib/urlstate.js";
import { touched } from "./store.js";

/** @param {import("./app.js").MapApp} app */
export function setupUrlSync(app) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const write = () => {
    const { points, slug, selected, filters, layout } = app.store.state;
    if (!points) return;
    const fit = app.fitScale();
    const search = stateToSearch({
      map: slug,
      layout,
      x: app.camera.cx,
      y: app.camera.cy,
      z: Math.log2(app.camera.scale / fit),
      sel: selected >= 0 ? points.ids[selected] : null,
      filters: filters || {},
      curator: Boolean(app.config.curator),
    });
    if (search !== location.search) history.replaceState(null, "", `${location.pathname}${search}`);
  };
  app.store.subscribe((state, changed) => {
    if (touched(changed, "selected", "filters", "layout")) {
      clearTimeout(timer);
      write();
    } else if (touched(changed, "view")) {
      clearTimeout(timer);
      timer = setTimeout(write, 250);
    }
  });
}
