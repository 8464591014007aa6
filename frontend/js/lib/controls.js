// Pan and zoom by mouse, wheel, touch (pinch) and keyboard, on one element, driving a Camera.
// In "select" mode a drag draws a box or lasso instead of panning (handlers.onSelect*).

const KEY_PAN = 0.12; // share of the viewport one arrow key press moves

export function attachControls(el, camera, handlers = {}) {
  const pointers = new Map();
  let drag = null; // {x, y, moved, t}
  let pinch = null; // {dist, mx, my}
  let mode = "pan"; // "pan" | "box" | "lasso"
  let velocity = null;

  const local = (e) => {
    const r = el.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };

  function onPointerDown(e) {
    if (e.button !== undefined && e.button > 0 && e.pointerType === "mouse") return;
    el.setPointerCapture?.(e.pointerId);
    const [x, y] = local(e);
    pointers.set(e.pointerId, { x, y });
    camera.stop();
    velocity = null;
    if (pointers.size === 1) {
      drag = { x, y, sx: x, sy: y, moved: false, t: performance.now(), last: performance.now() };
      if (mode !== "pan") handlers.onSelectStart?.(mode, x, y);
    } else if (pointers.size === 2) {
      if (mode !== "pan") handlers.onSelectCancel?.();
      drag = null;
      const [a, b] = [...pointers.values()];
      pinch = { dist: Math.hypot(a.x - b.x, a.y - b.y), mx: (a.x + b.x) / 2, my: (a.y + b.y) / 2 };
    }
    e.preventDefault();
  }

  function onPointerMove(e) {
    const [x, y] = local(e);
    if (!pointers.has(e.pointerId)) {
      if (e.pointerType === "mouse") handlers.onHover?.(x, y);
      return;
    }
    pointers.set(e.pointerId, { x, y });
    if (pinch && pointers.size >= 2) {
      const [a, b] = [...pointers.values()];
      const dist = Math.hypot(a.x - b.x, a.y - b.y);
      const mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2;
      camera.pan(mx - pinch.mx, my - pinch.my);
      if (pinch.dist > 0 && dist > 0) camera.zoomAt(dist / pinch.dist, mx, my);
      pinch = { dist, mx, my };
      return;
    }
    if (!drag) return;
    if (Math.hypot(x - drag.sx, y - drag.sy) > 5) drag.moved = true;
    if (mode !== "pan") {
      handlers.onSelectMove?.(mode, x, y);
    } else if (drag.moved) {
      const now = performance.now();
      const dt = Math.max(1, now - drag.last);
      velocity = { vx: (x - drag.x) / dt, vy: (y - drag.y) / dt };
      camera.pan(x - drag.x, y - drag.y);
      drag.last = now;
      el.classList.add("is-dragging");
    }
    drag.x = x;
    drag.y = y;
  }

  function onPointerUp(e) {
    if (!pointers.has(e.pointerId)) return;
    pointers.delete(e.pointerId);
    const [x, y] = local(e);
    if (pinch) {
      if (pointers.size < 2) pinch = null;
      drag = null;
      return;
    }
    if (drag) {
      if (mode !== "pan") {
        if (drag.moved) handlers.onSelectEnd?.(mode, x, y);
        else handlers.onSelectCancel?.();
      } else if (!drag.moved) {
        handlers.onClick?.(x, y, e);
      } else if (velocity && performance.now() - drag.last < 60) {
        glide(velocity);
      }
    }
    drag = null;
    el.classList.remove("is-dragging");
  }

  // A short glide after a flick, so panning feels continuous.
  function glide(v) {
    let { vx, vy } = v;
    let last = performance.now();
    const step = () => {
      const now = performance.now();
      const dt = now - last;
      last = now;
      vx *= Math.pow(0.992, dt);
      vy *= Math.pow(0.992, dt);
      if (Math.hypot(vx, vy) < 0.02 || pointers.size) return;
      camera.pan(vx * dt, vy * dt);
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  function onWheel(e) {
    e.preventDefault();
    const [x, y] = local(e);
    let dy = e.deltaY;
    if (e.deltaMode === 1) dy *= 16;
    else if (e.deltaMode === 2) dy *= 400;
    // Trackpad pinch arrives as ctrl+wheel with small deltas: zoom faster for it.
    const factor = Math.exp(-dy * (e.ctrlKey ? 0.01 : 0.0022));
    camera.zoomAt(Math.max(0.25, Math.min(4, factor)), x, y);
  }

  function onDblClick(e) {
    const [x, y] = local(e);
    const [wx, wy] = camera.toWorld(x, y);
    const factor = e.shiftKey ? 0.5 : 2;
    const scale = camera.scale * factor;
    camera.flyTo(wx - (x - camera.width / 2) / scale, wy - (y - camera.height / 2) / scale, scale, { duration: 300 });
  }

  function onKeyDown(e) {
    if (e.altKey || e.metaKey || e.ctrlKey) return;
    const w = camera.width, h = camera.height;
    const fast = e.shiftKey ? 3 : 1;
    let handled = true;
    switch (e.key) {
      case "ArrowLeft": camera.pan(w * KEY_PAN * fast, 0); break;
      case "ArrowRight": camera.pan(-w * KEY_PAN * fast, 0); break;
      case "ArrowUp": camera.pan(0, h * KEY_PAN * fast); break;
      case "ArrowDown": camera.pan(0, -h * KEY_PAN * fast); break;
      case "+": case "=": zoomCentre(1.5); break;
      case "-": case "_": zoomCentre(1 / 1.5); break;
      case "0": case "Home": handlers.onReset?.(); break;
      case "Enter": case " ": handlers.onActivateCentre?.(); break;
      case "Escape": handlers.onEscape?.(); break;
      default: handled = false;
    }
    if (handled) {
      e.preventDefault();
      handlers.onKeyboardMove?.(e.key);
    }
  }

  function zoomCentre(factor) {
    const scale = camera.scale * factor;
    camera.flyTo(camera.cx, camera.cy, scale, { duration: 200 });
  }

  function onLeave() {
    handlers.onHoverEnd?.();
  }

  el.addEventListener("pointerdown", onPointerDown);
  el.addEventListener("pointermove", onPointerMove);
  el.addEventListener("pointerup", onPointerUp);
  el.addEventListener("pointercancel", onPointerUp);
  el.addEventListener("pointerleave", onLeave);
  el.addEventListener("wheel", onWheel, { passive: false });
  el.addEventListener("dblclick", onDblClick);
  el.addEventListener("keydown", onKeyDown);

  return {
    setMode(next) {
      mode = next;
      el.dataset.mode = next;
    },
    get mode() {
      return mode;
    },
    zoomCentre,
  };
}
