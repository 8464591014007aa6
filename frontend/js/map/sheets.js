// On a phone the panels (work, filters, selection, search results) are bottom sheets (map-phone.css): they
// slide up over the map and a swipe down dismisses them, like the native ones; each also gets a close button.
// On a desktop the same panels stay side panels and nothing here changes how they behave.
import { $, el } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { touched } from "./store.js";

/** A swipe further down than this many CSS pixels, or a quick flick, dismisses a sheet. */
export const DISMISS_PX = 80;
const FLICK_PX_PER_MS = 0.6;

/** Whether the page is laid out for a phone (the breakpoint of map-phone.css). */
export function isPhone() {
  return globalThis.matchMedia ? globalThis.matchMedia("(max-width: 700px)").matches : false;
}

/**
 * Where a swipe of `dy` pixels in `ms` milliseconds leaves a sheet: dismissed, or back in place.
 * @param {number} dy  downwards movement, CSS pixels
 * @param {number} ms
 */
export function swipeDismisses(dy, ms) {
  return dy > DISMISS_PX || (dy > 24 && dy / Math.max(ms, 1) > FLICK_PX_PER_MS);
}

/**
 * Lets a sheet be swiped down: it follows the finger while it is at the top of its scroll, and on release
 * either goes (`dismiss`) or springs back.
 * @param {HTMLElement} sheet
 * @param {() => void} dismiss
 */
export function makeSwipeable(sheet, dismiss) {
  /** @type {{ y: number, at: number, id: number, dy: number } | null} */
  let drag = null;
  const reset = () => {
    sheet.style.transform = "";
    sheet.classList.remove("is-dragged");
  };
  sheet.addEventListener("touchstart", (e) => {
    if (!isPhone() || e.touches.length !== 1) return;
    // Inside scrolled content a swipe down scrolls back first; the handle always drags.
    const onHandle = /** @type {HTMLElement} */ (e.target).closest?.(".sheet-handle");
    if (!onHandle && sheet.scrollTop > 0) return;
    const touch = e.touches[0];
    drag = { y: touch.clientY, at: e.timeStamp, id: touch.identifier, dy: 0 };
  }, { passive: true });
  sheet.addEventListener("touchmove", (e) => {
    if (!drag) return;
    const touch = [...e.touches].find((one) => one.identifier === drag?.id);
    if (!touch) return;
    drag.dy = touch.clientY - drag.y;
    if (drag.dy <= 0) {
      reset();
      return;
    }
    e.preventDefault(); // the sheet moves, not the page
    sheet.classList.add("is-dragged");
    sheet.style.transform = `translateY(${drag.dy}px)`;
  }, { passive: false });
  const end = (/** @type {TouchEvent} */ e) => {
    if (!drag) return;
    const { dy, at } = drag;
    drag = null;
    reset();
    if (e.type === "touchend" && swipeDismisses(dy, e.timeStamp - at)) dismiss();
  };
  sheet.addEventListener("touchend", end);
  sheet.addEventListener("touchcancel", end);
}

/** @param {import("./app.js").MapApp} app */
export function setupSheets(app) {
  const { root, canvas } = app;
  const closeFilters = () => {
    $("#filters-panel", root).hidden = true;
    $("#filters-toggle", root)?.setAttribute("aria-expanded", "false");
  };
  const closeResults = () => {
    const list = $("#map-search-results", root);
    list.hidden = true;
    $("#map-search", root)?.setAttribute("aria-expanded", "false");
  };
  /** @type {[string, () => void][]} */
  const sheets = [
    ["#work-panel", () => app.closePanel()],
    ["#filters-panel", closeFilters],
    ["#selection-panel", () => app.clearSelection()],
    ["#map-search-results", closeResults],
  ];
  for (const [selector, close] of sheets) {
    const sheet = $(selector, root);
    if (!sheet) continue;
    const dismiss = () => {
      close();
      canvas.focus({ preventScroll: true });
    };
    sheet.classList.add("sheet");
    // The grip says "this can be pulled down"; it is decoration for touch, the close button is the control.
    // (Not in the search results: a listbox holds options only, and the list is refilled as the visitor types.)
    if (sheet.tagName !== "UL") {
      sheet.prepend(el("div", { class: "sheet-handle", "aria-hidden": "true" }));
      if (!$(".close", sheet)) {
        sheet.prepend(el("button", { type: "button", class: "close sheet-close", "aria-label": t("close"), text: "×", onclick: dismiss }));
      }
    }
    makeSwipeable(sheet, dismiss);
  }
  keepSelectedInView(app);
  // The site's header folds into the map's toolbar on a phone: its menu button shows it over the map.
  const menu = $("#site-menu-toggle", root);
  menu?.addEventListener("click", () => {
    const open = document.body.classList.toggle("site-menu-open");
    menu.setAttribute("aria-expanded", String(open));
  });
}

/** On a phone the work's sheet covers the lower part of the map: the map glides so the work shows above it. */
function keepSelectedInView(/** @type {import("./app.js").MapApp} */ app) {
  const { store, camera, canvas, root } = app;
  store.subscribe((state, changed) => {
    if (!touched(changed, "selected") || state.selected < 0 || !isPhone()) return;
    const p = state.selected;
    const panel = $("#work-panel", root);
    // Once the sheet is open (the panel opens when the work's details arrive).
    const check = (/** @type {number} */ tries) => {
      if (store.state.selected !== p) return;
      if (panel.hidden) {
        if (tries > 0) setTimeout(() => check(tries - 1), 100);
        return;
      }
      // Where the sheet ends up (offsetTop leaves out the slide-up's transform), in the canvas's pixels.
      const free = root.getBoundingClientRect().top + panel.offsetTop - canvas.getBoundingClientRect().top;
      const [, sy] = camera.toScreen(app.xs[p], app.ys[p]);
      if (free < 80 || (sy > 24 && sy < free - 24)) return;
      camera.flyTo(camera.cx, app.ys[p] - (free / 2 - camera.height / 2) / camera.scale, camera.scale, { duration: 300 });
    };
    check(30);
  });
}
