// The lens (issue #16): the works under the pointer shown enlarged in a round lens, without zooming the
// whole map (a fisheye's use without its distortion). This module is its DOM side: the toolbar's toggle,
// the mouse that moves it and the long press that holds it on a touch screen; it only writes the store's
// `lens`, and the scene draws it (lensdraw.js).
//
// On by default only for touch: there it appears after a long press, which nothing else uses, so it never
// gets in the way. With a mouse it would follow every movement over the map, hide the works beside the
// pointer and compete with the tooltip, so a visitor turns it on when they want it.
import { $ } from "../lib/dom.js";
import { touched } from "./store.js";

export const LENS_ZOOM = 3;
const LONG_PRESS_MS = 450;
const STILL_PX = 8; // a finger that moves further before the long press is panning

/** The lens for a pointer at (x, y): radius from the canvas size; on a touch screen it sits above the finger. */
export function lensAt(/** @type {number} */ x, /** @type {number} */ y, /** @type {number} */ width, /** @type {number} */ height, touch = false) {
  const r = Math.round(Math.max(56, Math.min(110, Math.min(width, height) * 0.16)));
  // Above the finger (which would hide the centre), or below it near the top edge.
  const cy = !touch ? y : y - r - 28 >= r ? y - r - 28 : y + r + 28;
  return { x, y, cx: x, cy, r, zoom: LENS_ZOOM };
}

/** @param {import("./app.js").MapApp} app */
export function setupLens(app) {
  const { root, store, canvas, camera } = app;
  const button = $("#lens-toggle", root);
  let on = globalThis.matchMedia ? globalThis.matchMedia("(pointer: coarse)").matches : false;
  const local = (/** @type {PointerEvent} */ e) => {
    const rect = canvas.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  };
  const show = (/** @type {number} */ x, /** @type {number} */ y, touch = false) => {
    const lens = lensAt(x, y, camera.width, camera.height, touch);
    // The tooltip moves out of the lens's way (map-phone.css).
    root.style.setProperty("--lens-r", `${lens.r}px`);
    root.classList.add("has-lens");
    store.update({ lens });
  };
  const hide = () => {
    root.classList.remove("has-lens");
    store.update({ lens: null });
  };
  const setOn = (/** @type {boolean} */ value) => {
    on = value;
    button?.setAttribute("aria-pressed", String(on));
    canvas.dataset.lens = on ? "on" : "off";
    if (!on) hide();
  };
  setOn(on);
  button?.addEventListener("click", () => setOn(!on));

  canvas.addEventListener("pointermove", (e) => {
    if (!on || e.pointerType !== "mouse") return;
    if (e.buttons) hide(); // dragging the map: the lens would only get in the way
    else {
      const [x, y] = local(e);
      show(x, y);
    }
  });
  canvas.addEventListener("pointerleave", (e) => {
    if (e.pointerType === "mouse") hide();
  });
  const touch = holdOnLongPress(canvas, local, { isOn: () => on, show: (x, y) => show(x, y, true), hide });
  // The lens shows the view as it is: it goes while the map moves under it by itself (a flight, a glide).
  store.subscribe((state, changed) => {
    if (touched(changed, "view") && state.lens && !touch.holding() && camera.animating) hide();
  });
}

/**
 * A long press holds the lens; the finger then moves it (and not the map) until it lifts. Listens on the
 * canvas's parent in the capture phase, so it sees the pointer before the map's controls do.
 * @param {HTMLCanvasElement} canvas
 * @param {(e: PointerEvent) => number[]} local
 * @param {{ isOn: () => boolean, show: (x: number, y: number) => void, hide: () => void }} lens
 */
function holdOnLongPress(canvas, local, { isOn, show, hide }) {
  const stage = /** @type {HTMLElement} */ (canvas.parentElement);
  /** @type {{ id: number, x: number, y: number, timer: ReturnType<typeof setTimeout> } | null} */
  let press = null;
  let held = -1; // the touch pointer holding the lens
  const cancelPress = () => {
    if (press) clearTimeout(press.timer);
    press = null;
  };
  stage.addEventListener("pointerdown", (e) => {
    if (!isOn() || e.pointerType === "mouse" || e.target !== canvas || held >= 0) return;
    if (press) {
      cancelPress(); // a second finger: a pinch, not a long press
      return;
    }
    const [x, y] = local(e);
    const id = e.pointerId;
    press = { id, x, y, timer: setTimeout(() => { press = null; held = id; show(x, y); }, LONG_PRESS_MS) };
  }, { capture: true });
  stage.addEventListener("pointermove", (e) => {
    const [x, y] = local(e);
    if (press && e.pointerId === press.id && Math.hypot(x - press.x, y - press.y) > STILL_PX) cancelPress();
    if (e.pointerId !== held) return;
    e.stopPropagation(); // the map stays where it is while the lens moves
    show(x, y);
  }, { capture: true });
  const release = (/** @type {PointerEvent} */ e) => {
    if (press && e.pointerId === press.id) cancelPress();
    if (e.pointerId !== held) return;
    held = -1;
    hide();
  };
  stage.addEventListener("pointerup", release, { capture: true });
  stage.addEventListener("pointercancel", release, { capture: true });
  canvas.addEventListener("contextmenu", (e) => { if (press || held >= 0) e.preventDefault(); });
  return { holding: () => held >= 0 };
}
