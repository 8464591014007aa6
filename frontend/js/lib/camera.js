// A 2D camera: centre (world units) and scale (CSS pixels per world unit), with smooth fly-to.
// World y grows downwards, like the screen.

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

export class Camera {
  constructor({ width = 1, height = 1, minScale = 1e-6, maxScale = 1e9 } = {}) {
    this.cx = 0;
    this.cy = 0;
    this.scale = 1;
    this.width = width;
    this.height = height;
    this.minScale = minScale;
    this.maxScale = maxScale;
    this.onChange = null;
    /** Optional (sx, sy) => the deepest scale for a zoom at that screen point (below maxScale), or null. */
    this.zoomLimit = null;
    /** Optional (sx, sy, factor) => called when a zoom at (sx, sy) asks to go `factor` past that limit. */
    this.onZoomPast = null;
    this._anim = null;
  }

  resize(width, height) {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.changed();
  }

  changed() {
    if (this.onChange) this.onChange(this);
  }

  set(cx, cy, scale, { silent = false } = {}) {
    this.cx = cx;
    this.cy = cy;
    this.scale = clamp(scale, this.minScale, this.maxScale);
    if (!silent) this.changed();
  }

  toScreen(x, y) {
    return [(x - this.cx) * this.scale + this.width / 2, (y - this.cy) * this.scale + this.height / 2];
  }

  toWorld(sx, sy) {
    return [(sx - this.width / 2) / this.scale + this.cx, (sy - this.height / 2) / this.scale + this.cy];
  }

  /** The visible world rectangle, grown by `margin` world units. */
  bounds(margin = 0) {
    const hw = this.width / 2 / this.scale + margin, hh = this.height / 2 / this.scale + margin;
    return [this.cx - hw, this.cy - hh, this.cx + hw, this.cy + hh];
  }

  fitScale(bbox, padding = 0.06) {
    const w = Math.max(bbox[2] - bbox[0], 1e-9), h = Math.max(bbox[3] - bbox[1], 1e-9);
    return Math.min(this.width / w, this.height / h) * (1 - padding * 2);
  }

  fit(bbox, padding = 0.06) {
    this.stop();
    this.set((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, this.fitScale(bbox, padding));
  }

  pan(dxPx, dyPx) {
    this.stop();
    this.set(this.cx - dxPx / this.scale, this.cy - dyPx / this.scale, this.scale);
  }

  /** Zooms by `factor` keeping the world point under (sx, sy) where it is on screen. */
  zoomAt(factor, sx, sy) {
    this.stop();
    const [wx, wy] = this.toWorld(sx, sy);
    const found = this.zoomLimit ? this.zoomLimit(sx, sy) : null;
    // A limit below the current scale stops zooming in, never pulls the view out.
    const limit = found ? Math.min(this.maxScale, Math.max(found, this.minScale, Math.min(this.scale, this.maxScale))) : this.maxScale;
    if (factor > 1 && this.scale * factor > limit && this.onZoomPast) this.onZoomPast(sx, sy, (this.scale * factor) / Math.max(limit, this.scale));
    const scale = clamp(this.scale * factor, this.minScale, limit);
    this.set(wx - (sx - this.width / 2) / scale, wy - (sy - this.height / 2) / scale, scale);
  }

  stop() {
    if (this._anim) {
      cancelAnimationFrame(this._anim.raf);
      this._anim = null;
    }
  }

  get animating() {
    return this._anim !== null;
  }

  /** Flies to (cx, cy, scale): zooms out on the way when the jump is long (van Wijk & Nuij, simplified). */
  flyTo(cx, cy, scale, { duration = 700, now = () => performance.now() } = {}) {
    this.stop();
    scale = clamp(scale, this.minScale, this.maxScale);
    if (this.zoomLimit && scale > this.scale) {
      // The limit of the work that will be at the centre (picked where it is on screen now).
      const found = this.zoomLimit(...this.toScreen(cx, cy));
      if (found) scale = Math.min(scale, Math.max(found, this.scale));
    }
    const from = { cx: this.cx, cy: this.cy, ls: Math.log(this.scale) };
    const to = { cx, cy, ls: Math.log(scale) };
    const distPx = Math.hypot(cx - from.cx, cy - from.cy) * Math.min(this.scale, scale);
    const view = Math.max(this.width, this.height);
    const bump = distPx > view ? Math.log(distPx / view) : 0; // how far to zoom out mid-flight
    const reduced = globalThis.matchMedia && globalThis.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (reduced || duration <= 0) {
      this.set(cx, cy, scale);
      return Promise.resolve();
    }
    const start = now();
    return new Promise((resolve) => {
      const step = () => {
        const t = clamp((now() - start) / duration, 0, 1);
        const e = t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2;
        const ls = from.ls + (to.ls - from.ls) * e - bump * Math.sin(Math.PI * e);
        // Move the centre in proportion to the screen distance covered, so the target never races past.
        this.set(from.cx + (to.cx - from.cx) * e, from.cy + (to.cy - from.cy) * e, Math.exp(ls));
        if (t < 1) {
          this._anim.raf = requestAnimationFrame(step);
        } else {
          this._anim = null;
          resolve();
        }
      };
      this._anim = { raf: requestAnimationFrame(step) };
    });
  }
}
