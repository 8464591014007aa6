// The map's URL: which map, the view (centre in map coordinates, zoom as log2 of the scale over the
// scale that fits the whole map), the layout, the selected work and the filters. Any view can be shared.
export const FILTER_KEYS = ["year_min", "year_max", "artist", "classification", "object"];

export function parseState(search) {
  const q = new URLSearchParams(search);
  const num = (name) => {
    const raw = q.get(name);
    if (raw === null || raw.trim() === "") return null;
    const v = Number(raw);
    return Number.isFinite(v) ? v : null;
  };
  const layout = q.get("layout");
  const state = {
    map: q.get("map") || null, x: num("x"), y: num("y"), z: num("z"), sel: null, filters: {},
    layout: layout && /^[a-z]{1,20}$/.test(layout) ? layout : null,
  };
  const sel = num("sel");
  if (sel !== null && Number.isInteger(sel)) state.sel = sel;
  for (const key of FILTER_KEYS) {
    const value = (q.get(key) || "").trim();
    if (value) state.filters[key] = value.slice(0, 200);
  }
  return state;
}

export function stateToSearch(state) {
  const q = new URLSearchParams();
  if (state.map) q.set("map", state.map);
  if (state.layout && state.layout !== "tsne") q.set("layout", state.layout);
  if (state.x !== null && state.x !== undefined) q.set("x", state.x.toFixed(5));
  if (state.y !== null && state.y !== undefined) q.set("y", state.y.toFixed(5));
  if (state.z !== null && state.z !== undefined) q.set("z", state.z.toFixed(3));
  if (state.sel !== null && state.sel !== undefined) q.set("sel", String(state.sel));
  for (const key of FILTER_KEYS) {
    const value = state.filters && state.filters[key];
    if (value) q.set(key, value);
  }
  // The curator view stays on as the view moves; the server decides who gets it.
  if (state.curator) q.set("curator", "1");
  const s = q.toString();
  return s ? `?${s}` : "";
}
