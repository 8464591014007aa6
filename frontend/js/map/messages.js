// The status line (loading, selection help, export failures) and the error box that replaces the map when
// it cannot load; both follow the store's `status` and `error`.
import { $ } from "../lib/dom.js";
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
      app.canvas.dataset.failed = "true";
    }
  });
}
