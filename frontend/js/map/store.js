// The map page's one store of state. Panels, input handling, URL sync and the frame loop subscribe to it
// and react to the keys that changed; none of them keeps a copy of another's state. The split follows
// regl-scatterplot and deck.gl: the app owns the state, the scene (scene.js) only reads it to draw.

/**
 * @typedef {object} Points  The map's points as loaded: positions in map units and the lookups built from them.
 * @property {number} n
 * @property {Int32Array} ids  point index -> artwork id (face id on a faces map)
 * @property {Float32Array} xs
 * @property {Float32Array} ys
 * @property {Map<number, number>} pointOf  id -> point index
 * @property {Map<number, number>} pointOfWork  artwork id -> (first) point index
 * @property {boolean} faces  the points are faces, not works
 * @property {import("../lib/spatial.js").GridIndex} index
 * @property {number} iconSize  the largest thumbnail's longest side, in map units
 * @property {Float32Array} sizes  per point, its thumbnail's longest side as a share of iconSize (density.js)
 * @property {Int32Array | null} cluster  per point, its region's label (-1: none)
 * @property {number[]} bbox  [x0, y0, x1, y1] of the drawn thumbnails (the points grown by half an icon)
 */

/**
 * @typedef {object} MapState
 * @property {string} slug  the map shown
 * @property {Points | null} points
 * @property {{ cx: number, cy: number, scale: number, width: number, height: number } | null} view
 * @property {number} hover  point under the pointer, or -1
 * @property {number} selected  point whose details are open, or -1
 * @property {boolean} keyboardFocus  the map is driven by keys: the work at the centre gets a frame
 * @property {Record<string, string>} filters  the filters applied (as in the URL)
 * @property {Uint8Array | null} match  per point, 1 = matches the filters; null = no filter
 * @property {number[]} selectionList  points inside the drawn box or lasso
 * @property {Uint8Array | null} selection  per point, 1 = selected; null = no selection
 * @property {number} infoVersion  bumped when work details arrive (their sizes shape the frames)
 * @property {boolean} ready  the overview is fully drawn
 * @property {string} status  the status line ("" hides it)
 * @property {{ message: string, showList: boolean, showMaps?: boolean } | null} error  a failure that stops the map
 * @property {import("./lensdraw.js").Lens | null} lens  the magnifying lens (lens.js), or null
 * @property {string} layout  the layout shown: "tsne", "grid", "timeline" or "group" (layouts.js)
 * @property {import("./layouts.js").Region[]} regions  the layout's named bands or blocks
 */

/**
 * @template S
 * @typedef {object} Store
 * @property {S} state  read it freely; change it only through update()
 * @property {(patch: Partial<S>) => void} update
 * @property {(fn: (state: S, changed: Set<string>) => void) => () => void} subscribe  returns an unsubscribe function
 */

/**
 * A plain store: update() merges a patch and tells every subscriber which keys changed (by identity, so
 * typed arrays and objects must be replaced, not mutated, to be noticed).
 * @template {object} S
 * @param {S} initial
 * @returns {Store<S>}
 */
export function createStore(initial) {
  /** @type {Set<(state: S, changed: Set<string>) => void>} */
  const listeners = new Set();
  /** @type {Store<S>} */
  const store = {
    state: /** @type {S} */ ({ .../** @type {any} */ (initial) }),
    update(patch) {
      const changed = new Set();
      for (const [key, value] of Object.entries(patch)) {
        if (/** @type {any} */ (store.state)[key] !== value) changed.add(key);
      }
      if (!changed.size) return;
      store.state = { .../** @type {any} */ (store.state), ...patch };
      for (const fn of [...listeners]) fn(store.state, changed);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  return store;
}

/** True when any of `keys` is among the changed ones. */
export function touched(/** @type {Set<string>} */ changed, /** @type {string[]} */ ...keys) {
  return keys.some((k) => changed.has(k));
}
