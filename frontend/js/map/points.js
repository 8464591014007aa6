// The map's points as the API sends them (/maps/{slug}/points/), turned into typed arrays and lookups,
// and picking: which drawn work lies under a screen point.
import { GridIndex } from "../lib/spatial.js";
import { densityLayout } from "./density.js";

/** Thumbnails never shrink below this many CSS pixels, so every work stays visible at the overview. */
export const MIN_ICON_PX = 1.5;

/**
 * @param {{ ids: number[], x: number[], y: number[], scale?: number, subject?: string, artworks?: number[], cluster?: number[] }} points
 * @returns {import("./store.js").Points}
 */
export function makePoints(points) {
  const n = points.ids.length;
  const scale = points.scale || 32767;
  const xs = new Float32Array(n);
  const ys = new Float32Array(n);
  const pointOf = new Map();
  // On a faces map the points are faces: ids are face ids, and `artworks` names each face's work.
  const faces = points.subject === "faces";
  const pointOfWork = faces ? new Map() : pointOf;
  for (let i = 0; i < n; i++) {
    xs[i] = points.x[i] / scale;
    ys[i] = points.y[i] / scale;
    pointOf.set(points.ids[i], i);
    if (faces && !pointOfWork.has(points.artworks[i])) pointOfWork.set(points.artworks[i], i);
  }
  const ids = Int32Array.from(points.ids);
  // Each work as large as its neighbours leave room for, none hiding another (density.js); works too close
  // together are moved apart first, so the positions drawn are these, not the API's.
  const { iconSize, sizes } = densityLayout(xs, ys, ids);
  const index = new GridIndex(xs, ys);
  // The drawn extent: a thumbnail reaches half its size beyond its point (the first view fits this box).
  const bbox = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const m = (sizes[i] * iconSize) / 2;
    bbox[0] = Math.min(bbox[0], xs[i] - m);
    bbox[1] = Math.min(bbox[1], ys[i] - m);
    bbox[2] = Math.max(bbox[2], xs[i] + m);
    bbox[3] = Math.max(bbox[3], ys[i] + m);
  }
  if (!n) bbox.splice(0, 4, -1, -1, 1, 1);
  const cluster = points.cluster ? Int32Array.from(points.cluster) : null;
  return { n, ids, xs, ys, pointOf, pointOfWork, faces, index, iconSize, sizes, bbox, cluster };
}

/**
 * The work drawn under a screen point, or -1 (within `slackPx` when icons are tiny).
 * @param {import("./store.js").Points} points
 * @param {import("../lib/camera.js").Camera} camera
 * @param {(p: number) => number[]} halfOf  a work's half width and height, in icon sizes
 * @param {number} sx
 * @param {number} sy
 * @param {number} [slackPx]
 */
export function pickAt(points, camera, halfOf, sx, sy, slackPx = 4) {
  const { xs, ys, iconSize, index } = points;
  const [wx, wy] = camera.toWorld(sx, sy);
  const drawn = Math.max(iconSize, MIN_ICON_PX / camera.scale);
  const radius = drawn * 0.75 + slackPx / camera.scale;
  let best = -1, bestD = Infinity;
  index.forEachInRect(wx - radius, wy - radius, wx + radius, wy + radius, (i) => {
    const [hx, hy] = halfOf(i);
    const dx = Math.abs(xs[i] - wx), dy = Math.abs(ys[i] - wy);
    const slack = slackPx / camera.scale;
    if (dx <= hx * drawn + slack && dy <= hy * drawn + slack) {
      const d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = i; }
    }
  });
  return best;
}
