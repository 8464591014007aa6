// The decades timeline: for each decade, its most typical works and its outliers, each linking to its
// place on the map (from GET /api/v1/decades/?map=).
import { ApiError, getJSON, query } from "./lib/api.js";
import { el } from "./lib/dom.js";
import { formatNumber, loadStrings, t } from "./lib/i18n.js";
import { stateToSearch } from "./lib/urlstate.js";

function workLink(config, item) {
  const w = item.artwork;
  const alt = [w.title, w.artist, w.date].filter(Boolean).join(", ");
  const href = `${config.mapUrl}${stateToSearch({ map: config.map, sel: w.id, filters: {} })}`;
  return el(
    "li",
    { class: "decade-work" },
    el(
      "a",
      { href, title: `${alt} — ${t("showOnMap")}` },
      w.images && w.images.thumb ? el("img", { src: w.images.thumb, alt, loading: "lazy", width: "96", height: "96" }) : el("span", { class: "no-thumb", text: w.title }),
      el("span", { class: "visually-hidden", text: `${alt}. ${t("showOnMap")}` }),
    ),
    el("a", { class: "work-page", href: config.workUrl.replace("__acc__", encodeURIComponent(w.accession_number)), text: w.title }),
  );
}

async function main() {
  loadStrings();
  const root = document.getElementById("decades");
  const configEl = document.getElementById("decades-config");
  if (!root || !configEl) return;
  const config = JSON.parse(configEl.textContent);
  let data;
  try {
    data = await getJSON(`${config.api}decades/${query({ map: config.map })}`);
  } catch (err) {
    root.replaceChildren(el("p", { class: "hint", text: err instanceof ApiError && err.status === 404 ? t("noDecades") : t("similarFailed") }));
    root.removeAttribute("aria-busy");
    return;
  }
  if (!data.decades.length) {
    root.replaceChildren(el("p", { class: "hint", text: t("noDecades") }));
    root.removeAttribute("aria-busy");
    return;
  }
  root.replaceChildren(
    el(
      "ol",
      { class: "decade-list" },
      ...data.decades.map((d) =>
        el(
          "li",
          { class: "decade", id: `d${d.decade}` },
          el("h2", {}, el("span", { class: "decade-name", text: t("decadeHeading", { decade: d.decade }) }), " ",
            el("span", { class: "decade-count", text: t("decadeCount", { n: formatNumber(d.count) }) })),
          el(
            "div",
            { class: "decade-groups" },
            el("div", { class: "decade-group" }, el("h3", { text: t("typical") }),
              el("ul", { class: "decade-works typical" }, ...d.typical.map((item) => workLink(config, item)))),
            d.outliers.length
              ? el("div", { class: "decade-group" }, el("h3", { text: t("outliers") }),
                  el("ul", { class: "decade-works outliers" }, ...d.outliers.map((item) => workLink(config, item))))
              : null,
          ),
        ),
      ),
    ),
  );
  root.removeAttribute("aria-busy");
}

main();
