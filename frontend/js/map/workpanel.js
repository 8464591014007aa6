// The work's details: the tooltip while hovering and the panel of the selected work (opened once its details
// arrive, closed when the selection goes back to -1).
import { $, el } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { touched } from "./store.js";

/**
 * @param {import("./app.js").MapApp} app
 * @returns {{ showTooltip: (p: number, x: number, y: number) => Promise<void>, hideTooltip: () => void }}
 */
export function setupWorkPanel(app) {
  const { root, store, details } = app;
  const tooltip = $("#map-tooltip", root);
  const panel = $("#work-panel", root);

  const hideTooltip = () => {
    if (tooltip) tooltip.hidden = true;
  };

  const fillTooltip = (/** @type {any} */ info) => {
    tooltip.replaceChildren(
      el("span", { class: "tip-title", text: info.title }),
      info.artist ? el("span", { class: "tip-artist", text: info.artist }) : null,
      info.date ? el("span", { class: "tip-date", text: info.date }) : null,
    );
  };

  /** Shows the tooltip of point p near the pointer at (x, y), unless p's own panel already tells more. */
  const showTooltip = async (/** @type {number} */ p, /** @type {number} */ x, /** @type {number} */ y) => {
    if (p === store.state.selected) {
      hideTooltip();
      return;
    }
    tooltip.hidden = false;
    const place = () => {
      const w = tooltip.offsetWidth, h = tooltip.offsetHeight;
      const left = x + 16 + w > app.camera.width ? x - w - 12 : x + 16;
      const top = y + 16 + h > app.camera.height ? y - h - 12 : y + 16;
      tooltip.style.transform = `translate(${Math.max(4, left)}px, ${Math.max(4, top)}px)`;
    };
    const { ids, xs, ys, index } = app.points;
    const id = ids[p];
    const info = details.get(id);
    if (info) {
      fillTooltip(info);
      place();
      return;
    }
    tooltip.replaceChildren(el("span", { class: "tip-title", text: "…" }));
    place();
    // Fetch this work with its neighbours, so the next hovers answer at once.
    const near = index.kNearest(xs[p], ys[p], 60).map((i) => ids[i]);
    await details.request([id, ...near]);
    if (store.state.hover === p && store.state.selected !== p && details.get(id)) {
      fillTooltip(details.get(id));
      place();
    }
  };

  const openPanel = (/** @type {any} */ info) => {
    if (!info) return;
    const body = $(".panel-body", panel);
    const alt = [info.title, info.artist, info.date].filter(Boolean).join(", ");
    const img = info.images && (info.images.medium || info.images.thumb);
    body.replaceChildren(
      img ? el("img", { src: img, alt, class: "panel-image", loading: "eager" }) : null,
      el("h2", { id: "work-panel-title", tabindex: "-1", text: info.title }),
      el(
        "dl",
        {},
        ...(info.artist ? [el("dt", { text: t("artist") }), el("dd", { text: info.artist })] : []),
        ...(info.date ? [el("dt", { text: t("date") }), el("dd", { text: info.date })] : []),
        ...(info.classification_label ? [el("dt", { text: t("classification") }), el("dd", { text: info.classification_label })] : []),
        el("dt", { text: t("accession") }), el("dd", { text: info.accession_number }),
      ),
      info.page ? el("p", {}, el("a", { class: "button primary", href: info.page, "data-testid": "open-work-page", text: t("openWork") })) : null,
    );
    panel.hidden = false;
    root.classList.add("has-panel");
    $("#work-panel-title", panel).focus({ preventScroll: true });
  };

  store.subscribe(async (state, changed) => {
    if (touched(changed, "view") || (touched(changed, "hover") && state.hover < 0)) hideTooltip();
    if (!touched(changed, "selected")) return;
    const p = state.selected;
    // The panel takes the tooltip's place (on a phone the tooltip would sit over the panel).
    if (p >= 0) hideTooltip();
    if (p < 0) {
      panel.hidden = true;
      root.classList.remove("has-panel");
      return;
    }
    const id = app.ids[p];
    await details.request([id]);
    if (store.state.selected === p) openPanel(details.get(id));
  });

  return { showTooltip, hideTooltip };
}
