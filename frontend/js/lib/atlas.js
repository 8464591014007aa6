// The thumbnail atlases made by maps/atlas/: parsing the index and laying out each level.
// Work i (in atlas order) sits in sheet floor(i / perSheet), cell i % perSheet, row by row; its image
// is fitted into the cell less a gutter exactly as fit() in maps/atlas/packing.py does.

export function fit(w, h, box) {
  w = Math.max(1, w | 0);
  h = Math.max(1, h | 0);
  const longest = Math.max(w, h);
  return [
    Math.max(1, Math.min(box, Math.floor((w * box) / longest + 0.5))),
    Math.max(1, Math.min(box, Math.floor((h * box) / longest + 0.5))),
  ];
}

export function parseIndex(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 8 || String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]) !== "ATL1") {
    throw new Error("not an atlas index");
  }
  const n = new DataView(buffer).getUint32(4, true);
  if (bytes.length < 8 + 6 * n) throw new Error("atlas index is truncated");
  const ids = new Int32Array(buffer.slice(8, 8 + 4 * n));
  const widths = bytes.subarray(8 + 4 * n, 8 + 5 * n);
  const heights = bytes.subarray(8 + 5 * n, 8 + 6 * n);
  return { n, ids, widths, heights };
}

/** The rectangle (pixels of its sheet) of work i at one level. */
export function imageRect(i, aw, ah, cell, columns, pad = 1) {
  const perSheet = columns * columns;
  const sheet = Math.floor(i / perSheet);
  const within = i - sheet * perSheet;
  const row = Math.floor(within / columns), col = within - row * columns;
  const inner = cell - 2 * pad;
  const [w, h] = fit(aw, ah, inner);
  return { sheet, x: col * cell + pad + ((inner - w) >> 1), y: row * cell + pad + ((inner - h) >> 1), w, h };
}

/**
 * Per-sheet instance arrays for one level: position (world), half size (fraction of the icon size),
 * texture rectangle (0–1 of the sheet) and the point index each instance draws.
 * pointOf(i) maps atlas position i to the point index (or -1 when the work is not on the map now).
 */
export function layoutLevel(level, index, xs, ys, pointOf, pad = 1) {
  const sheets = [];
  for (const sheet of level.sheets) {
    const count = sheet.count;
    const pos = new Float32Array(count * 2);
    const half = new Float32Array(count * 2);
    const uv = new Float32Array(count * 4);
    const points = new Int32Array(count);
    const order = new Float32Array(count); // atlas position / total: the same z-order at every level
    let k = 0;
    for (let j = 0; j < count; j++) {
      const i = sheet.first + j;
      const p = pointOf(i);
      if (p < 0) continue;
      const aw = index.widths[i], ah = index.heights[i];
      const r = imageRect(i, aw, ah, level.cell, level.columns, pad);
      const longest = Math.max(aw, ah) || 1;
      pos[2 * k] = xs[p];
      pos[2 * k + 1] = ys[p];
      half[2 * k] = (0.5 * aw) / longest;
      half[2 * k + 1] = (0.5 * ah) / longest;
      // Half a texel inside the image, so linear filtering stays within it.
      uv[4 * k] = (r.x + 0.5) / sheet.width;
      uv[4 * k + 1] = (r.y + 0.5) / sheet.height;
      uv[4 * k + 2] = (r.x + r.w - 0.5) / sheet.width;
      uv[4 * k + 3] = (r.y + r.h - 0.5) / sheet.height;
      points[k] = p;
      order[k] = i / Math.max(1, index.n);
      k++;
    }
    sheets.push({
      ...sheet,
      n: k,
      chunks: chunkBounds(pos, k),
      pos: pos.subarray(0, 2 * k),
      half: half.subarray(0, 2 * k),
      uv: uv.subarray(0, 4 * k),
      points: points.subarray(0, k),
      order: order.subarray(0, k),
    });
  }
  return sheets;
}

/**
 * Which atlas level a view needs: the smallest whose cells hold the icon at its size on screen
 * (device pixels), else the most detailed one.
 */
export function levelFor(cells, iconDevicePx, pad = 1) {
  for (let l = 0; l < cells.length; l++) {
    if (cells[l] - 2 * pad >= iconDevicePx * 0.9) return l;
  }
  return cells.length - 1;
}

/** The derivative ("thumb", "medium", "large") to load for an icon of this many device pixels, or null. */
export function derivativeFor(iconDevicePx, sizes, atlasTopPx) {
  if (iconDevicePx <= atlasTopPx * 1.15) return null;
  let choice = null;
  for (const [name, px] of sizes) {
    if (px <= atlasTopPx) continue;
    choice = name;
    if (px >= iconDevicePx * 0.9) break;
  }
  return choice;
}

export function bboxIntersects(a, b) {
  return a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];
}

export const CHUNK = 512;

/** Bounding boxes of consecutive runs of CHUNK instances (compact, thanks to the Hilbert order). */
export function chunkBounds(pos, n, size = CHUNK) {
  const out = [];
  for (let start = 0; start < n; start += size) {
    const end = Math.min(n, start + size);
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let k = start; k < end; k++) {
      const x = pos[2 * k], y = pos[2 * k + 1];
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    out.push({ start, end, bbox: [x0, y0, x1, y1] });
  }
  return out;
}

/** [first, count] ranges of the chunks that meet the view, neighbouring ones merged (fewer draw calls). */
export function visibleRanges(chunks, view) {
  const ranges = [];
  for (const chunk of chunks) {
    if (!bboxIntersects(chunk.bbox, view)) continue;
    const last = ranges[ranges.length - 1];
    if (last && last[0] + last[1] === chunk.start) last[1] += chunk.end - chunk.start;
    else ranges.push([chunk.start, chunk.end - chunk.start]);
  }
  return ranges;
}
