// Work details (title, artist, image sizes and URLs) from /maps/{slug}/works/, asked for in batches: hovers,
// the work panel, the selection list and the single images all ask at once, and one request answers them.
import { getJSON, query } from "../lib/api.js";

const INFO_BATCH = 200;

export class WorkDetails {
  /**
   * @param {string} url  the map's /works/ endpoint
   * @param {() => void} onArrive  called after each batch (the details shape the frames: image sizes)
   * @param {Record<string, string>} [params]  sent with every request (the curator view's flag)
   */
  constructor(url, onArrive, params = {}) {
    this.url = url;
    this.params = params;
    this.onArrive = onArrive;
    /** @type {Map<number, any>} artwork id -> details */
    this.info = new Map();
    /** @type {Map<number, (() => void)[]>} */
    this.waiting = new Map();
    /** @type {Set<number>} */
    this.queue = new Set();
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.busy = false;
  }

  get(/** @type {number} */ id) {
    return this.info.get(id);
  }

  /** Resolves once every id's details have arrived (or their request failed). */
  request(/** @type {number[]} */ ids) {
    const waits = [];
    for (const id of ids) {
      if (this.info.has(id)) continue;
      if (!this.waiting.has(id)) {
        this.waiting.set(id, []);
        this.queue.add(id);
      }
      waits.push(new Promise((resolve) => this.waiting.get(id)?.push(() => resolve(undefined))));
    }
    if (this.queue.size && !this.timer) this.timer = setTimeout(() => this.flush(), 30);
    return Promise.all(waits);
  }

  async flush() {
    this.timer = null;
    if (this.busy) {
      this.timer = setTimeout(() => this.flush(), 50);
      return;
    }
    const batch = [...this.queue].slice(0, INFO_BATCH);
    for (const id of batch) this.queue.delete(id);
    if (!batch.length) return;
    this.busy = true;
    try {
      const data = await getJSON(`${this.url}${query({ ...this.params, ids: batch.join(",") })}`);
      for (const work of data.works) this.info.set(work.id, work);
    } catch (err) {
      console.warn("work details failed", err);
    } finally {
      this.busy = false;
      for (const id of batch) {
        for (const resolve of this.waiting.get(id) || []) resolve();
        this.waiting.delete(id);
      }
      this.onArrive();
      if (this.queue.size) this.timer = setTimeout(() => this.flush(), 0);
    }
  }
}
