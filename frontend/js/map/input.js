// Pointer, wheel and keyboard on the map (lib/controls.js drives the camera), the zoom buttons, and Escape
// in the panels. Input changes the store (hover, selection, keyboard focus); the scene and panels follow.
import { $ } from "../lib/dom.js";
import { attachControls } from "../lib/controls.js";
import { t } from "../lib/i18n.js";
import { touched } from "./store.js";

/**
 * @param {import("./app.js").MapApp} app
 * @param {ReturnType<typeof import("./workpanel.js").setupWorkPanel>} tips
 * @param {import("./selection.js").Drafts} drafts
 */
export function setupInput(app, tips, drafts) {
  const { root, store, camera, canvas } = app;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let announceTimer;
  const scene = /** @type {import("./scene.js").Scene} */ (app.scene);
  const pick = (/** @type {number} */ x, /** @type {number} */ y, slackPx = 4) => scene.pick(camera, x, y, slackPx);
  const pickCentre = () => pick(camera.width / 2, camera.height / 2, 40);

  // The live region reads the work at the centre after keyboard moves.
  const announceCentre = async () => {
    const p = pickCentre();
    const live = $("#map-live", root);
    if (p < 0) {
      live.textContent = t("centreEmpty");
      return;
    }
    await app.details.request([app.ids[p]]);
    const info = app.details.get(app.ids[p]);
    if (info) live.textContent = t("centreWork", { title: info.title, artist: info.artist || "", date: info.date || "" });
  };

  const controls = attachControls(canvas, camera, {
    onHover: (x, y) => {
      const p = pick(x, y);
      store.update({ hover: p });
      if (p >= 0) tips.showTooltip(p, x, y);
    },
    onHoverEnd: () => {
      store.update({ hover: -1 });
      tips.hideTooltip();
    },
    onClick: (x, y) => {
      const p = pick(x, y);
      if (p >= 0) app.select(p);
      else app.closePanel();
    },
    onReset: () => app.reset(),
    onKeyboardMove: () => {
      store.update({ keyboardFocus: true });
      app.requestRender();
      clearTimeout(announceTimer);
      announceTimer = setTimeout(announceCentre, 450);
    },
    onActivateCentre: () => {
      const p = pickCentre();
      if (p >= 0) app.select(p);
    },
    onEscape: () => {
      if (drafts.active()) drafts.cancel();
      else if (store.state.selected >= 0) app.closePanel();
      else if (store.state.selection) app.clearSelection();
    },
    onSelectStart: drafts.start,
    onSelectMove: drafts.move,
    onSelectEnd: drafts.end,
    onSelectCancel: drafts.cancel,
  });
  app.controls = controls;

  store.subscribe((state, changed) => {
    if (touched(changed, "hover")) canvas.style.cursor = state.hover >= 0 ? "pointer" : "";
  });

  $("#zoom-in", root)?.addEventListener("click", () => controls.zoomCentre(2));
  $("#zoom-out", root)?.addEventListener("click", () => controls.zoomCentre(0.5));
  $("#zoom-reset", root)?.addEventListener("click", () => app.reset());
  $("#work-panel-close", root)?.addEventListener("click", () => {
    app.closePanel();
    canvas.focus();
  });
  // Escape closes a panel from inside it too, and gives the focus back to the map.
  for (const id of ["#work-panel", "#selection-panel", "#filters-panel"]) {
    $(id, root)?.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      e.preventDefault();
      if (id === "#work-panel") app.closePanel();
      else if (id === "#selection-panel") app.clearSelection();
      else {
        $(id, root).hidden = true;
        $("#filters-toggle", root)?.setAttribute("aria-expanded", "false");
      }
      canvas.focus();
    });
  }
}
