// WebGL drawing with regl: instanced textured quads (one draw call per atlas sheet), single images,
// solid placeholders and selection frames. Positions are world units; the camera turns them into
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

export function createRenderer(canvas, { onLost } = {}) {
  let regl;
  try {
    regl = createREGL({
      canvas,
      extensions: ["ANGLE_instanced_arrays"],
      optionalExtensions: ["EXT_texture_filter_anisotropic", "OES_element_index_uint"],
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

  const drawSheet = regl({
    ...common,
    vert: `precision highp float;
attribute vec2 corner; attribute vec2 pos; attribute vec2 halfSize; attribute vec4 uv; attribute float dim;
varying vec2 vUv; varying float vDim;
${PLACE}
void main() {
  gl_Position = place(pos, halfSize, corner, 0.0);
  vUv = mix(uv.xy, uv.zw, corner);
  vDim = dim;
}`,
    frag: `precision mediump float;
uniform sampler2D tex; varying vec2 vUv; varying float vDim;
${DIM}
void main() { gl_FragColor = vec4(dimmed(texture2D(tex, vUv).rgb, vDim), 1.0); }`,
    attributes: {
      corner: corners,
      pos: { buffer: regl.prop("pos"), divisor: 1 },
      halfSize: { buffer: regl.prop("half"), divisor: 1 },
      uv: { buffer: regl.prop("uv"), divisor: 1 },
      dim: { buffer: regl.prop("dim"), divisor: 1 },
    },
    uniforms: { ...common.uniforms, tex: regl.prop("tex"), dimStrength: regl.prop("dimStrength") },
    instances: regl.prop("n"),
  });

  const drawSolid = regl({
    ...common,
    vert: `precision highp float;
attribute vec2 corner; attribute vec2 pos; attribute vec2 halfSize; attribute float dim;
varying float vDim;
${PLACE}
void main() { gl_Position = place(pos, halfSize, corner, 0.0); vDim = dim; }`,
    frag: `precision mediump float;
uniform vec3 colour; varying float vDim;
${DIM}
void main() { gl_FragColor = vec4(dimmed(colour, vDim), 1.0); }`,
    attributes: {
      corner: corners,
      pos: { buffer: regl.prop("pos"), divisor: 1 },
      halfSize: { buffer: regl.prop("half"), divisor: 1 },
      dim: { buffer: regl.prop("dim"), divisor: 1 },
    },
    uniforms: { ...common.uniforms, colour: regl.prop("colour"), dimStrength: regl.prop("dimStrength") },
    instances: regl.prop("n"),
  });

  const drawImage = regl({
    ...common,
    vert: `precision highp float;
attribute vec2 corner; uniform vec2 pos; uniform vec2 halfSize; varying vec2 vUv;
${PLACE}
void main() { gl_Position = place(pos, halfSize, corner, 0.0); vUv = corner; }`,
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
    frag: `precision mediump float;
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
    drawSheet,
    drawSolid,
    drawImage,
    drawFrame,
    destroy: () => regl.destroy(),
  };
}

/** Decodes an image fetched with CORS, as an ImageBitmap where the browser can (off the main thread). */
export async function loadImage(url, { signal, onBytes } = {}) {
  const response = await fetch(url, { mode: "cors", credentials: "omit", signal });
  if (!response.ok) throw new Error(`${response.status} for ${url}`);
  const blob = await response.blob();
  onBytes?.(blob.size);
  if (globalThis.createImageBitmap) {
    try {
      return await createImageBitmap(blob, { premultiplyAlpha: "none", colorSpaceConversion: "none" });
    } catch {
      // Fall through to an <img> (older Safari cannot make bitmaps from WebP blobs).
    }
  }
  const img = new Image();
  const objectUrl = URL.createObjectURL(blob);
  try {
    img.src = objectUrl;
    await img.decode();
    return img;
  } finally {
    setTimeout(() => URL.revokeObjectURL(objectUrl), 1000);
  }
}

/** Runs at most `limit` tasks at once, highest priority (lowest number) first. */
export class TaskQueue {
  constructor(limit = 6) {
    this.limit = limit;
    this.running = 0;
    this.waiting = [];
  }

  push(priority, task) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ priority, task, resolve, reject });
      this._next();
    });
  }

  reprioritise(fn) {
    for (const item of this.waiting) item.priority = fn(item);
  }

  clear(predicate = () => true) {
    const keep = [];
    for (const item of this.waiting) {
      if (predicate(item)) item.reject(new DOMException("dropped", "AbortError"));
      else keep.push(item);
    }
    this.waiting = keep;
  }

  _next() {
    while (this.running < this.limit && this.waiting.length) {
      let best = 0;
      for (let i = 1; i < this.waiting.length; i++) if (this.waiting[i].priority < this.waiting[best].priority) best = i;
      const item = this.waiting.splice(best, 1)[0];
      this.running++;
      Promise.resolve()
        .then(item.task)
        .then(item.resolve, item.reject)
        .finally(() => {
          this.running--;
          this._next();
        });
    }
  }
}
