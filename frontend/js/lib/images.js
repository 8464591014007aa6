// Fetching images for the GPU: decoding (off the main thread where the browser can) and a priority queue
// that keeps the requests nearest the centre of the view first.

/** Decodes an image fetched with CORS, as an ImageBitmap where the browser can (off the main thread). */
/**
 * @param {string} url
 * @param {{ signal?: AbortSignal, onBytes?: (bytes: number) => void }} [options]
 * @returns {Promise<ImageBitmap | HTMLImageElement>}
 */
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

  /** Drops the waiting tasks for which `predicate` holds (all by default); their promises reject. */
  clear(/** @type {(item: any) => boolean} */ predicate = () => true) {
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
