// WebGL drawing with regl: batches of textured quads (a few draw calls per atlas sheet), single
// images, solid placeholders and selection frames. Positions are world units; the camera turns them into
// CSS pixels and the vertex shader into clip space.
import createREGL from "regl";

const PLACE = `
uniform vec2 centre;
uniform float scale;
uniform vec2 viewport;
uniform float iconSize;
uniform float minPx;
vec4 place(vec2 pos, vec2 halfSize, vec2 corner, float growPx) {
  // Never smaller than minPx on screen, so a work stays visible at the overview.
  float k = max(1.0, minPx / (iconSize * scale));
  vec2 hs = halfSize * iconSize * k * scale + growPx;
  vec2 s = (pos - centre) * scale + (corner * 2.0 - 1.0) * hs;
  return vec4(s.x * 2.0 / viewport.x, -s.y * 2.0 / viewport.y, 0.0, 1.0);
}
`;

const DIM = `
uniform float dimStrength;
vec3 dimmed(vec3 c, float d) {
  float l = dot(c, vec3(0.299, 0.587, 0.114));
  return mix(c, vec3(l) * 0.25 + vec3(0.07), d * dimStrength);
}
`;

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{ onLost?: () => void }} [options]
 * @returns {any}
 */
export function createRenderer(canvas, { onLost } = {}) {
  /** @type {any} regl's typings want every prop declared up front: these draw commands are checked by the browser tests */
  let regl;
  try {
    regl = createREGL({
      canvas,
      optionalExtensions: ["EXT_texture_filter_anisotropic"],
      attributes: { antialias: false, alpha: false, preserveDrawingBuffer: true, powerPreference: "high-performance" },
    });
  } catch (err) {
    return { error: err };
  }
  const gl = regl._gl;
  const maxTexture = gl.getParameter(gl.MAX_TEXTURE_SIZE);
  const anisotropic = regl.hasExtension("EXT_texture_filter_anisotropic");
  canvas.addEventListener("webglcontextlost", (e) => {
    e.preventDefault();
    onLost?.();
  });

  const corners = regl.buffer([0, 0, 1, 0, 0, 1, 1, 1]);
  const common = {
    primitive: "triangle strip",
    count: 4,
    depth: { enable: false },
    uniforms: {
      centre: regl.prop("centre"),
      scale: regl.prop("scale"),
      viewport: regl.prop("viewport"),
      iconSize: regl.prop("iconSize"),
      minPx: regl.prop("minPx"),
    },
  };

  // Batches of quads as plain indexed triangles, not instances: software WebGL (SwiftShader, and
  // some old drivers) runs an instanced draw one instance at a time, which made 100,000 works cost
  // seconds per frame there. Each vertex: position (the work's centre), offset (corner × half size,
  // in icon sizes), texture coordinate; dim in a buffer of its own (it changes with filters).
  const QUADS_PER_DRAW = 16384; // 65,536 vertices: 16-bit indices
  const indexData = new Uint16Array(QUADS_PER_DRAW * 6);
  for (let q = 0; q < QUADS_PER_DRAW; q++) {
    const b = q * 4;
    indexData.set([b, b + 1, b + 2, b + 2, b + 1, b + 3], q * 6);
  }
  const quadIndex = regl.elements({ data: indexData, primitive: "triangles", type: "uint16" });
  const STRIDE = 28; // pos (2), depth (1), offset (2), uv (2) floats
  const quadAttributes = {
    pos: (c, p) => ({ buffer: p.geom, offset: p.base * 4 * STRIDE, stride: STRIDE, size: 3 }),
    offset: (c, p) => ({ buffer: p.geom, offset: p.base * 4 * STRIDE + 12, stride: STRIDE }),
    uv: (c, p) => ({ buffer: p.geom, offset: p.base * 4 * STRIDE + 20, stride: STRIDE }),
    dim: (c, p) => ({ buffer: p.dim, offset: p.base * 16, stride: 4 }),
    prevPos: (c, p) => ({ buffer: p.prev, offset: p.base * 4 * 8, stride: 8 }),
  };
  // Depth: nearer for sharper levels and for works later in atlas order, so overlaps look the same at
  // every zoom, and drawing front to back lets the depth test skip hidden pixels (stacks of works).
  const QUAD_VERT = `precision highp float;
attribute vec3 pos; attribute vec2 offset; attribute vec2 uv; attribute float dim; attribute vec2 prevPos;
uniform vec2 centre; uniform float scale; uniform vec2 viewport; uniform float iconSize; uniform float minPx;
uniform vec2 depthRange; uniform float morph;
varying vec2 vUv; varying float vDim;
void main() {
  float k = max(1.0, minPx / (iconSize * scale));
  // A layout switch: from the previous position to this one as morph goes from 0 to 1.
  vec2 s = (mix(prevPos, pos.xy, morph) - centre) * scale + offset * iconSize * k * scale;
  float z = mix(depthRange.x, depthRange.y, pos.z) * 2.0 - 1.0;
  // dim 2 = covered by the work's own sharper image: no triangle at all.
  gl_Position = dim > 1.5 ? vec4(2.0, 2.0, 2.0, 1.0) : vec4(s.x * 2.0 / viewport.x, -s.y * 2.0 / viewport.y, z, 1.0);
  vUv = uv;
  vDim = dim;
}`;
  const quadCommon = {
    vert: QUAD_VERT,
    depth: { enable: true, func: "less", mask: true },
    attributes: quadAttributes,
    elements: quadIndex,
    count: regl.prop("count"),
    uniforms: {
      ...common.uniforms, dimStrength: regl.prop("dimStrength"), depthRange: regl.prop("depthRange"),
      morph: (c, p) => (p.morph === undefined ? 1 : p.morph),
    },
  };
  const drawQuadsTextured = regl({
    ...quadCommon,
    frag: `precision mediump float;
uniform sampler2D tex; varying vec2 vUv; varying float vDim;
${DIM}
void main() { gl_FragColor = vec4(dimmed(texture2D(tex, vUv).rgb, vDim), 1.0); }`,
    uniforms: { ...quadCommon.uniforms, tex: regl.prop("tex") },
  });
  const drawQuadsSolid = regl({
    ...quadCommon,
    frag: `precision mediump float;
uniform vec3 colour; varying float vDim;
${DIM}
void main() { gl_FragColor = vec4(dimmed(colour, vDim), 1.0); }`,
    uniforms: { ...quadCommon.uniforms, colour: regl.prop("colour") },
  });

  /**
   * n quads: pos (2n), half (2n, fractions of the icon size), uv (4n: u0 v0 u1 v1, or null: solid),
   * order (n numbers in [0, 1): larger = drawn over smaller). Quads are stored in reverse so that a
   * draw runs front to back.
   */
  function quadBatch(pos, half, uv, n, order = null) {
    const geom = new Float32Array(n * 4 * 7);
    const corners = [[0, 0], [1, 0], [0, 1], [1, 1]];
    for (let q = 0; q < n; q++) {
      const at = n - 1 - q; // reversed
      const depth = 1 - (order ? order[q] : q / Math.max(1, n));
      for (let c = 0; c < 4; c++) {
        const [cx, cy] = corners[c];
        const o = (at * 4 + c) * 7;
        geom[o] = pos[2 * q];
        geom[o + 1] = pos[2 * q + 1];
        geom[o + 2] = depth;
        geom[o + 3] = (cx * 2 - 1) * half[2 * q];
        geom[o + 4] = (cy * 2 - 1) * half[2 * q + 1];
        if (uv) {
          geom[o + 5] = cx ? uv[4 * q + 2] : uv[4 * q];
          geom[o + 6] = cy ? uv[4 * q + 3] : uv[4 * q + 1];
        }
      }
    }
    const geomBuffer = regl.buffer({ data: geom, usage: "static" });
    const prevData = new Float32Array(n * 4 * 2);
    for (let v = 0; v < n * 4; v++) {
      prevData[2 * v] = geom[v * 7];
      prevData[2 * v + 1] = geom[v * 7 + 1];
    }
    const prevBuffer = regl.buffer({ data: prevData, usage: "dynamic" });
    const dimData = new Float32Array(n * 4);
    const dimBuffer = regl.buffer({ data: dimData, usage: "dynamic" });
    const four = new Float32Array(4);
    return {
      n,
      /** dim per quad, in the caller's order (values: 0 normal, 1 dimmed, 2 hidden). */
      setDims(values) {
        for (let q = 0; q < n; q++) dimData.fill(values[q], (n - 1 - q) * 4, (n - q) * 4);
        dimBuffer.subdata(dimData);
      },
      setDim(q, value) {
        four.fill(value);
        dimData.set(four, (n - 1 - q) * 4);
        dimBuffer.subdata(four, (n - 1 - q) * 16);
      },
      /**
       * New positions (2n, the caller's order); the previous ones, as drawn at `morph` t, are kept for the
       * vertex shader to move from.
       */
      moveTo(next, t = 1) {
        for (let q = 0; q < n; q++) {
          const at = n - 1 - q;
          for (let c = 0; c < 4; c++) {
            const v = at * 4 + c, o = v * 7;
            prevData[2 * v] += (geom[o] - prevData[2 * v]) * t;
            prevData[2 * v + 1] += (geom[o + 1] - prevData[2 * v + 1]) * t;
            geom[o] = next[2 * q];
            geom[o + 1] = next[2 * q + 1];
          }
        }
        geomBuffer.subdata(geom);
        prevBuffer.subdata(prevData);
      },
      /** Draws quads [first, first + count) of the caller's order, front to back. */
      draw(props, first = 0, count = n, depthRange = [0.05, 0.95]) {
        const end = n - first; // reversed positions [n - first - count, n - first)
        for (let start = n - first - count; start < end; start += QUADS_PER_DRAW) {
          const m = Math.min(QUADS_PER_DRAW, end - start);
          (uv ? drawQuadsTextured : drawQuadsSolid)({ ...props, geom: geomBuffer, dim: dimBuffer, prev: prevBuffer, base: start, count: m * 6, depthRange });
        }
      },
      destroy() {
        geomBuffer.destroy();
        dimBuffer.destroy();
        prevBuffer.destroy();
      },
    };
  }

  const drawImage = regl({
    ...common,
    vert: `precision highp float;
attribute vec2 corner; uniform vec2 pos; uniform vec2 halfSize; uniform float depth; varying vec2 vUv;
${PLACE}
void main() { gl_Position = place(pos, halfSize, corner, 0.0); gl_Position.z = depth * 2.0 - 1.0; vUv = corner; }`,
    depth: { enable: true, func: "less", mask: true },
    frag: `precision mediump float;
uniform sampler2D tex; uniform float dim; varying vec2 vUv;
${DIM}
void main() { gl_FragColor = vec4(dimmed(texture2D(tex, vUv).rgb, dim), 1.0); }`,
    attributes: { corner: corners },
    uniforms: {
      ...common.uniforms,
      pos: regl.prop("pos"),
      halfSize: regl.prop("half"),
      tex: regl.prop("tex"),
      dim: regl.prop("dim"),
      dimStrength: regl.prop("dimStrength"),
      depth: (c, p) => p.depth || 0,
    },
  });

  // A frame of widthPx around a work (hover, selection, keyboard focus).
  const drawFrame = regl({
    ...common,
    vert: `precision highp float;
attribute vec2 corner; uniform vec2 pos; uniform vec2 halfSize; uniform float widthPx;
varying vec2 vLocal; varying vec2 vHalf;
${PLACE}
void main() {
  float k = max(1.0, minPx / (iconSize * scale));
  vHalf = halfSize * iconSize * k * scale + widthPx;
  vLocal = (corner * 2.0 - 1.0) * vHalf;
  gl_Position = place(pos, halfSize, corner, widthPx);
}`,
    frag: `precision highp float;
uniform vec4 colour; uniform float widthPx; varying vec2 vLocal; varying vec2 vHalf;
void main() {
  vec2 inner = vHalf - widthPx;
  if (abs(vLocal.x) < inner.x && abs(vLocal.y) < inner.y) discard;
  gl_FragColor = colour;
}`,
    attributes: { corner: corners },
    uniforms: {
      ...common.uniforms,
      pos: regl.prop("pos"),
      halfSize: regl.prop("half"),
      widthPx: regl.prop("widthPx"),
      colour: regl.prop("colour"),
    },
  });

  // The lens (map/lens.js): a full-canvas quad that, by `part`, 0 makes the depth nearest outside the circle
  // (so the magnified pass that follows draws only inside it), 1 clears the inside to the background with the
  // depth farthest, 2 draws the rim. Blending keeps the picture where a part draws no colour (alpha 0).
  const drawLensPart = regl({
    vert: `precision highp float;
attribute vec2 corner; uniform float z;
void main() { gl_Position = vec4(corner * 2.0 - 1.0, z, 1.0); }`,
    frag: `precision highp float;
uniform vec2 centrePx; uniform float radiusPx; uniform float rimPx; uniform float part; uniform vec4 colour;
void main() {
  float d = distance(gl_FragCoord.xy, centrePx);
  if (part < 0.5) { if (d < radiusPx) discard; gl_FragColor = vec4(0.0); }
  else if (part < 1.5) { if (d >= radiusPx) discard; gl_FragColor = colour; }
  else { if (d >= radiusPx || d < radiusPx - rimPx) discard; gl_FragColor = colour; }
}`,
    attributes: { corner: corners },
    primitive: "triangle strip",
    count: 4,
    depth: { enable: true, func: "always", mask: true },
    blend: { enable: true, func: { src: "src alpha", dst: "one minus src alpha" } },
    uniforms: {
      z: regl.prop("z"),
      centrePx: regl.prop("centrePx"),
      radiusPx: regl.prop("radiusPx"),
      rimPx: regl.prop("rimPx"),
      part: regl.prop("part"),
      colour: regl.prop("colour"),
    },
  });

  function sheetTexture(image) {
    const pot = (v) => (v & (v - 1)) === 0;
    const mip = pot(image.width) && pot(image.height);
    return regl.texture({
      data: image,
      min: mip ? "linear mipmap linear" : "linear",
      mag: "linear",
      mipmap: mip ? "nice" : false,
      wrap: "clamp",
      anisotropic: anisotropic && mip ? 4 : 1,
    });
  }

  function imageTexture(image) {
    return regl.texture({ data: image, min: "linear", mag: "linear", wrap: "clamp" });
  }

  return {
    regl,
    gl,
    maxTexture,
    buffer: (data, usage = "static") => regl.buffer({ data, usage }),
    sheetTexture,
    imageTexture,
    clear(colour = [0.106, 0.106, 0.114, 1]) {
      regl.poll();
      regl.clear({ color: colour, depth: 1 });
    },
    quadBatch,
    drawImage,
    drawFrame,
    drawLensPart,
    destroy: () => regl.destroy(),
  };
}
