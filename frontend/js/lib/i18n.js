// Strings come translated from the page (<script type="application/json" id="i18n">, built by Django's gettext).
let strings = {};

export function loadStrings(doc = globalThis.document) {
  const el = doc && doc.getElementById("i18n");
  if (el) {
    try {
      strings = JSON.parse(el.textContent || "{}");
    } catch {
      strings = {};
    }
  }
  return strings;
}

export function setStrings(value) {
  strings = value || {};
}

function fill(text, vars) {
  return String(text).replace(/\{(\w+)\}/g, (m, name) => (vars && name in vars ? String(vars[name]) : m));
}

/** t("key", {n: 3}) – the key itself is shown when a string is missing, so a gap is visible, not blank. */
export function t(key, vars) {
  const value = strings[key];
  if (Array.isArray(value)) return fill(value[vars && Number(vars.n) === 1 ? 0 : 1], vars);
  return fill(value === undefined ? key : value, vars);
}

export function formatNumber(n, lang = globalThis.document?.documentElement?.lang || "en") {
  try {
    return new Intl.NumberFormat(lang).format(n);
  } catch {
    return String(n);
  }
}
