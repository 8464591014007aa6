// The collection map: every work drawn as its own thumbnail at its place on the map (WebGL, regl).
//
// Level of detail: the overview draws the smallest atlas level (all of it is loaded); zooming in loads
// the sheets of more detailed levels that cover the view; past the most detailed atlas, each visible
// work's own thumb / medium / large derivative is loaded, so images stay sharp down to one painting.
// Works placed on the map after its build are not in the atlases: their thumbnails load one by one.
//
// map/app.js holds the state in one store (map/store.js); map/scene.js draws it (atlases.js, sharp.js) and
// never touches the DOM; the panels, input handling and URL sync (one module each in map/) subscribe to it.
import { transfer } from "./lib/api.js";
import { loadStrings, t } from "./lib/i18n.js";
import { MapApp, timings } from "./map/app.js";

export { timings };

function main() {
  loadStrings();
  const root = document.getElementById("map-app");
  const configEl = document.getElementById("map-config");
  if (!root || !configEl) return;
  const app = new MapApp(root, JSON.parse(configEl.textContent || "{}"));
  // For the browser tests and bench/frontend.py: the app (camera, points), the timings and the bytes loaded.
  /** @type {any} */ (window).collectionMap = { app, timings, transfer };
  app.start().catch((err) => {
    console.error(err);
    app.fail(t("loadFailed"), true);
  });
}

main();
