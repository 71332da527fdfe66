/* Punk ML web app: browse the Punk API v2 and predict a recipe's IBU with POST /v2/ibu.
 *
 * Plain JavaScript, no build step, no network beyond this server. Every text that comes from
 * the API is written with textContent (never innerHTML) so a beer's fields cannot inject markup.
 * Views are chosen by the URL hash: #/?filters (search), #/beer/ID, #/recipe[?from=ID].
 */
"use strict";

const API = "/v2";
const PER_PAGE = 24;
// The numeric filters of GET /v2/beers: an "above" (NAME_gt) and "below" (NAME_lt) pair each;
// their fieldsets are built from this list (rangeFieldset).
const RANGE_FILTERS = [["abv", "ABV (% vol.)"], ["ibu", "IBU (bitterness)"], ["ebc", "EBC (colour)"]];
const FILTERS = [
  "beer_name", "hops", "malt", "yeast", "food",
  ...RANGE_FILTERS.flatMap(([name]) => [`${name}_gt`, `${name}_lt`]),
  "brewed_after", "brewed_before",
];
// A beer's facts, in the beer page's order; a card shows those marked `card`.
const BEER_FACTS = [
  { term: "ABV", text: (beer) => fmt(beer.abv, 1, "%"), card: true },
  { term: "IBU (recipe)", text: (beer) => fmt(beer.ibu, 0), card: true },
  { term: "OG", text: (beer) => fmt(beer.target_og, 0) },
  { term: "FG", text: (beer) => fmt(beer.target_fg, 0) },
  { term: "EBC", text: (beer) => fmt(beer.ebc, 0), card: true },
  { term: "pH", text: (beer) => fmt(beer.ph, 1) },
  { term: "Volume", text: (beer) => fmt(beer.volume && beer.volume.value, 0, "l") },
  { term: "First brewed", text: (beer) => beer.first_brewed || "n/a", card: true },
];
const STAGE_ADD = {
  "first-wort": "First Wort", whirlpool: "Whirlpool", "dry-hop": "Dry Hop", mash: "Mash",
};
// Beer colour by SRM (EBC / 1.97), the usual brewing colour chart, interpolated between stops.
const SRM_COLOURS = [
  [1, [255, 230, 153]], [3, [255, 202, 90]], [5, [251, 177, 35]], [8, [234, 143, 0]],
  [12, [207, 105, 0]], [16, [181, 76, 0]], [20, [155, 50, 0]], [25, [123, 26, 0]],
  [30, [94, 11, 0]], [40, [54, 8, 10]],
];

// POST /v2/ibu refuses bodies above 8 MiB; a file that large is refused here before sending.
const MAX_RECIPE_FILE_BYTES = 8 * 1024 * 1024;
// The width below which the filter form folds away (the CSS media query says the same).
const SMALL_SCREEN = window.matchMedia("(max-width: 700px)");
// Above this the recipe's IBU is an entry error (the cleaning flags it), not a bitterness.
const IMPLAUSIBLE_IBU = 300;
const UNITS = { grams: "g", kilograms: "kg", litres: "l" };

let uid = 0;
let namesLoaded = false;

/* ---------- small helpers ---------- */

function $(selector, root = document) {
  return root.querySelector(selector);
}

/** Create an element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style") Object.assign(node.style, value); // CSSOM: allowed by the CSP
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fmt(value, digits = 1, unit = "") {
  if (value === null || value === undefined || Number.isNaN(value)) return "n/a";
  const rounded = String(Number(Number(value).toFixed(digits)));
  return unit ? `${rounded} ${unit}` : rounded;
}

function ebcColour(ebc) {
  if (ebc === null || ebc === undefined) return "#ccc";
  const srm = Math.max(1, Math.min(40, ebc / 1.97));
  for (let i = 1; i < SRM_COLOURS.length; i += 1) {
    const [s1, c1] = SRM_COLOURS[i];
    if (srm <= s1) {
      const [s0, c0] = SRM_COLOURS[i - 1];
      const t = (srm - s0) / (s1 - s0);
      const rgb = c0.map((c, k) => Math.round(c + t * (c1[k] - c)));
      return `rgb(${rgb.join(",")})`;
    }
  }
  return "rgb(54,8,10)";
}

/** Fetch JSON from the API; throw an Error whose message is the API's own explanation. */
async function api(path, options = {}) {
  const { headers = {}, ...rest } = options;
  const response = await fetch(API + path, {
    headers: { Accept: "application/json", "Content-Type": "application/json", ...headers },
    ...rest,
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = new Error(describeError(response.status, body));
    error.status = response.status;
    throw error;
  }
  return body;
}

function describeError(status, body) {
  if (status === 503) {
    return "No promoted model: run `punkml train` and `punkml models promote VERSION`.";
  }
  if (status === 429) return "Too many requests: wait a little and try again.";
  if (body && Array.isArray(body.data) && body.data.length) {
    return body.data.map((d) => `${d.param}: ${d.msg}`).join("; ");
  }
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => `${fieldName(d.loc || [])}: ${d.msg}`).join("; ");
  }
  if (body && typeof body.detail === "string") return body.detail;
  if (body && body.message) return body.message;
  return `The server answered ${status}.`;
}

/** ["body", 2, "HOPS", "HOP", 0, "AMOUNT"] → "recipes[2].HOPS.HOP[0].AMOUNT", as the CLI says. */
function fieldName(loc) {
  const parts = loc.filter((part) => part !== "body");
  let name = typeof parts[0] === "number" ? "recipes" : "";
  for (const part of parts) {
    if (typeof part === "number") name += `[${part}]`;
    else name += name ? `.${part}` : String(part);
  }
  return name || "body";
}

function predictionOf(body) {
  const list = Array.isArray(body) ? body : (body && body.predictions) || [body];
  return list[0];
}

/* ---------- routing ---------- */

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query) };
}

function showView(name) {
  for (const view of document.querySelectorAll(".view")) {
    view.hidden = view.id !== `view-${name}`;
  }
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  if (location.hash && !location.hash.startsWith("#/")) return; // an in-page anchor, not a view
  const { path, params } = parseHash();
  const beerMatch = path.match(/^\/beer\/(\d+)$/);
  if (beerMatch) {
    showView("beer");
    await showBeer(Number(beerMatch[1]));
  } else if (path === "/recipe") {
    showView("recipe");
    document.title = "Predict IBU · Punk ML";
    await openRecipe(params.get("from"));
  } else {
    showView("search");
    document.title = "Beers · Punk ML";
    await search(params);
  }
}

/* ---------- search ---------- */

function formToParams(form) {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value.replace(/\s+/g, "_"));
  }
  return params;
}

function paramsToForm(form, params) {
  for (const name of FILTERS) {
    form.elements[name].value = (params.get(name) || "").replace(/_/g, " ");
  }
}

async function search(params) {
  const form = $("#search-form");
  paramsToForm(form, params);
  showActiveFilters(params);
  const page = Math.max(1, Number(params.get("page")) || 1);
  const query = new URLSearchParams(params);
  query.set("page", String(page));
  query.set("per_page", String(PER_PAGE));
  const status = $("#search-status");
  const results = $("#results");
  status.textContent = "Searching…";
  status.classList.remove("error");
  let beers = [];
  try {
    beers = await api(`/beers?${query}`);
  } catch (error) {
    results.replaceChildren();
    status.textContent = `Search failed: ${error.message}`;
    status.classList.add("error");
    setPager(page, false);
    return;
  }
  results.replaceChildren(...beers.map(beerCard));
  const first = (page - 1) * PER_PAGE + 1;
  status.textContent = beers.length
    ? `Showing beers ${first}–${first + beers.length - 1}${beers.length === PER_PAGE ? "" : " (last page)"}.`
    : "No beer matches these filters.";
  setPager(page, beers.length === PER_PAGE);
}

function setPager(page, hasNext) {
  $("#prev-page").disabled = page <= 1;
  $("#next-page").disabled = !hasNext;
  $("#page-label").textContent = `Page ${page}`;
  $("#prev-page").dataset.page = String(page - 1);
  $("#next-page").dataset.page = String(page + 1);
}

function goToPage(page) {
  const { params } = parseHash();
  params.set("page", String(page));
  location.hash = `#/?${params}`;
}

function beerCard(beer) {
  return el(
    "li",
    { class: "card" },
    swatch(beer, "swatch"),
    el(
      "div",
      { class: "card-body" },
      el("h2", {}, el("a", { href: `#/beer/${beer.id}`, text: beer.name })),
      el("p", { class: "tagline", text: beer.tagline || "" }),
      facts(beer, BEER_FACTS.filter((item) => item.card), "facts"),
    ),
  );
}

/** A bar in the beer's colour (decorative: the EBC is also given as text). */
function swatch(beer, css) {
  return el("span", { class: css, style: { background: ebcColour(beer.ebc) }, "aria-hidden": "true" });
}

function facts(beer, items, css) {
  return el(
    "dl",
    { class: css },
    items.map(({ term, text }) => el("div", {}, el("dt", { text: term }), el("dd", { text: text(beer) }))),
  );
}

/** The form's fieldset of one RANGE_FILTERS entry: two number inputs, "above" and "below". */
function rangeFieldset([name, legend]) {
  const bound = (param, label) => [
    el("label", { for: `f-${param}`, text: label }),
    el("input", { id: `f-${param}`, name: param, type: "number", min: "0", step: "any", inputmode: "decimal" }),
  ];
  return el(
    "fieldset",
    { class: "range" },
    el("legend", { text: legend }),
    bound(`${name}_gt`, "above"),
    bound(`${name}_lt`, "below"),
  );
}

/* ---------- one beer ---------- */

async function showBeer(id) {
  const article = $("#beer");
  article.setAttribute("aria-busy", "true");
  article.replaceChildren(el("p", { class: "status", text: "Loading…" }));
  let beer;
  try {
    [beer] = await api(`/beers/${id}`);
  } catch (error) {
    article.replaceChildren(
      el("h1", { id: "beer-name", tabindex: "-1", text: "Beer not found" }),
      el("p", { class: "error", text: error.message }),
    );
    article.setAttribute("aria-busy", "false");
    $("#beer-name").focus();
    return;
  }
  document.title = `${beer.name} · Punk ML`;
  const predictionBox = el("div", { id: "beer-prediction", class: "prediction", "aria-live": "polite" });
  article.replaceChildren(
    el(
      "header",
      { class: "beer-head" },
      swatch(beer, "swatch big"),
      el(
        "div",
        {},
        el("h1", { id: "beer-name", tabindex: "-1", text: beer.name }),
        el("p", { class: "tagline", text: beer.tagline || "" }),
      ),
    ),
    facts(beer, BEER_FACTS, "facts wide"),
    el("h2", { text: "Bitterness" }),
    predictionBox,
    el("p", { class: "description", text: beer.description || "" }),
    recipeTables(beer),
    el(
      "p",
      {},
      el("a", { class: "button", href: `#/recipe?from=${beer.id}`, text: "Try this recipe in the predictor" }),
    ),
  );
  article.setAttribute("aria-busy", "false");
  $("#beer-name").focus();
  predictionBox.replaceChildren(el("p", { class: "status", text: "Predicting…" }));
  try {
    const prediction = predictionOf(await api("/ibu", { method: "POST", body: JSON.stringify([beer]) }));
    predictionBox.replaceChildren(...predictionView(prediction, beer.ibu));
  } catch (error) {
    predictionBox.replaceChildren(el("p", { class: "error", text: error.message }));
  }
}

function recipeTables(beer) {
  const ingredients = beer.ingredients || {};
  const malts = ingredients.malt || [];
  const hops = ingredients.hops || [];
  const amount = (a) => (a ? `${fmt(a.value, 2)} ${UNITS[a.unit] || a.unit}` : "n/a");
  return el(
    "div",
    { class: "recipe-tables" },
    el(
      "section",
      { class: "malts", "aria-labelledby": "malt-title" },
      el("h2", { id: "malt-title", text: "Malts" }),
      table(["Malt", "Amount"], malts.map((m) => [m.name, amount(m.amount)])),
    ),
    el(
      "section",
      { class: "hops", "aria-labelledby": "hop-title" },
      el("h2", { id: "hop-title", text: "Hops" }),
      table(
        ["Hop", "Amount", "Added", "Attribute"],
        hops.map((h) => [h.name, amount(h.amount), h.add, h.attribute]),
      ),
    ),
    el(
      "section",
      { class: "yeast", "aria-labelledby": "yeast-title" },
      el("h2", { id: "yeast-title", text: "Yeast and food" }),
      el("p", { text: ingredients.yeast || "n/a" }),
      el("ul", { class: "food" }, (beer.food_pairing || []).map((f) => el("li", { text: f }))),
    ),
  );
}

function table(headers, rows) {
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map((row) => el("tr", {}, row.map((cell) => el("td", { text: cell ?? "" }))))),
  );
}

/** The legend entry of the recipe's own IBU; an implausible one is named, not drawn. */
function legendActual(actual) {
  if (actual === null || actual === undefined) return null;
  if (actual >= IMPLAUSIBLE_IBU) {
    return el("span", {}, `recipe's IBU: ${fmt(actual, 0)} (implausible, not drawn)`);
  }
  const key = el("span", { class: "key actual-key", "aria-hidden": "true" });
  return el("span", {}, key, ` recipe's IBU: ${fmt(actual, 0)}`);
}

/** The prediction: a sentence for every reader, and a scale with the interval for the eyes. */
function predictionView(prediction, actual) {
  const { ibu_pred: pred, ibu_low: low, ibu_high: high } = prediction;
  const top = Math.max(100, Math.ceil(Math.max(high || 0, actual && actual < IMPLAUSIBLE_IBU ? actual : 0) / 20) * 20);
  const pct = (v) => `${Math.max(0, Math.min(100, (100 * v) / top))}%`;
  const scale = el(
    "div",
    { class: "scale", "aria-hidden": "true" },
    el("span", { class: "band", style: { left: pct(low), width: `calc(${pct(high)} - ${pct(low)})` } }),
    el("span", { class: "point", style: { left: pct(pred) } }),
    actual !== null && actual !== undefined && actual < IMPLAUSIBLE_IBU
      ? el("span", { class: "actual", style: { left: pct(actual) } })
      : null,
    el("span", { class: "tick start", text: "0" }),
    el("span", { class: "tick end", text: `${top} IBU` }),
  );
  const parts = [
    el(
      "p",
      { class: "headline" },
      el("span", { class: "value", "data-testid": "ibu-pred", text: fmt(pred, 0) }),
      // held_out false: the model trained on this beer, so the API gave its out-of-fold answer.
      prediction.held_out === false ? " IBU predicted without this beer" : " IBU predicted",
    ),
    prediction.held_out === false
      ? el("p", {
          class: "held-out",
          "data-testid": "held-out",
          text:
            "The model was trained on this beer, so this is the prediction of a model fitted " +
            "without it and its near-duplicates (its out-of-fold prediction), not a remembered " +
            "label.",
        })
      : null,
    el(
      "p",
      { class: "interval", "data-testid": "ibu-interval" },
      `90% interval: ${fmt(low, 0)} to ${fmt(high, 0)} IBU`,
    ),
    scale,
    el(
      "p",
      { class: "legend" },
      el("span", {}, el("span", { class: "key band-key", "aria-hidden": "true" }), " interval"),
      el("span", {}, el("span", { class: "key point-key", "aria-hidden": "true" }), " prediction"),
      legendActual(actual),
    ),
    el("p", { class: "model" }, `Model version ${prediction.model_version || "unknown"}`),
  ];
  if (prediction.warnings && prediction.warnings.length) {
    parts.push(
      el("p", { class: "warnings-title", text: "Defaults and fallbacks used:" }),
      el(
        "ul",
        { class: "warnings", "data-testid": "ibu-warnings" },
        prediction.warnings.map((warning) => el("li", { text: warning })),
      ),
    );
  }
  return parts.filter((part) => part !== null);
}

/* ---------- recipe form ---------- */

function addRow(kind, values = {}) {
  const template = $(`#${kind}-row`);
  const row = template.content.firstElementChild.cloneNode(true);
  uid += 1;
  for (const input of row.querySelectorAll("[data-id]")) {
    input.id = `${input.dataset.id}-${uid}`;
  }
  for (const label of row.querySelectorAll("[data-for]")) {
    label.htmlFor = `${label.dataset.for}-${uid}`;
  }
  for (const [name, value] of Object.entries(values)) {
    const input = row.querySelector(`[name="${name}"]`);
    if (input && value !== null && value !== undefined) input.value = String(value);
  }
  const remove = row.querySelector("[data-remove]");
  remove.setAttribute("aria-label", `Remove this ${kind}`);
  remove.addEventListener("click", () => {
    const list = row.parentElement;
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    (next ? next.querySelector("input") : $(`#add-${kind}`)).focus();
    if (list) list.dispatchEvent(new Event("change"));
  });
  if (kind === "hop") {
    const stage = row.querySelector('[name="hop_stage"]');
    const minutes = row.querySelector('[name="hop_minutes"]');
    const sync = () => {
      minutes.disabled = stage.value !== "boil";
    };
    stage.addEventListener("change", sync);
    sync();
  }
  $(`#${kind}-rows`).append(row);
  return row;
}

function resetRecipe() {
  $("#malt-rows").replaceChildren();
  $("#hop-rows").replaceChildren();
  addRow("malt", { malt_name: "Maris Otter Extra Pale", malt_kg: 4.5 });
  addRow("malt", { malt_name: "Caramalt", malt_kg: 0.3 });
  addRow("hop", { hop_name: "Simcoe", hop_grams: 20, hop_stage: "boil", hop_minutes: 60 });
  addRow("hop", { hop_name: "Citra", hop_grams: 40, hop_stage: "boil", hop_minutes: 10 });
  addRow("hop", { hop_name: "Citra", hop_grams: 100, hop_stage: "dry-hop" });
  for (const input of document.querySelectorAll('#view-recipe [name="hop_stage"]')) {
    input.dispatchEvent(new Event("change"));
  }
}

/** The stage and minutes of one of the API's free-text additions, for the form's select. */
function stageOf(add) {
  const text = String(add || "").toLowerCase();
  const minutes = text.match(/^\s*(\d+(?:\.\d+)?)/);
  if (minutes) return ["boil", Number(minutes[1])];
  if (/dry|fv|ferment|day/.test(text)) return ["dry-hop", null];
  if (/first wort/.test(text)) return ["first-wort", null];
  if (/mash/.test(text)) return ["mash", null];
  if (/whirlpool|whp|steep/.test(text)) return ["whirlpool", null];
  if (/middle|mid/.test(text)) return ["boil", 30];
  if (/end|flame|knock/.test(text)) return ["boil", 0];
  return ["boil", 60];
}

function fillRecipe(beer) {
  const form = $("#recipe-form");
  clearRecipeOutput(); // the last prediction belongs to another recipe
  form.elements.name.value = beer.name;
  form.elements.target_og.value = beer.target_og ?? "";
  form.elements.target_fg.value = beer.target_fg ?? "";
  form.elements.abv.value = beer.abv ?? "";
  form.elements.ebc.value = beer.ebc ?? "";
  form.elements.volume.value = (beer.volume && beer.volume.value) ?? 20;
  form.elements.boil_volume.value = (beer.boil_volume && beer.boil_volume.value) ?? 25;
  form.elements.yeast.value = (beer.ingredients && beer.ingredients.yeast) || "";
  $("#malt-rows").replaceChildren();
  $("#hop-rows").replaceChildren();
  for (const malt of beer.ingredients.malt || []) {
    const kg = malt.amount.unit === "grams" ? malt.amount.value / 1000 : malt.amount.value;
    addRow("malt", { malt_name: malt.name, malt_kg: kg });
  }
  for (const hop of beer.ingredients.hops || []) {
    const [stage, minutes] = stageOf(hop.add);
    const grams = hop.amount.unit === "kilograms" ? hop.amount.value * 1000 : hop.amount.value;
    const alpha = String(hop.attribute || "").match(/(\d+(?:\.\d+)?)\s*%/);
    const row = addRow("hop", {
      hop_name: hop.name,
      hop_grams: grams,
      hop_stage: stage,
      hop_minutes: minutes,
      hop_alpha: alpha ? alpha[1] : null,
    });
    row.querySelector('[name="hop_stage"]').dispatchEvent(new Event("change"));
  }
}

async function openRecipe(fromId) {
  loadNames();
  const form = $("#recipe-form");
  if (fromId) {
    try {
      const [beer] = await api(`/beers/${Number(fromId)}`);
      fillRecipe(beer);
    } catch (error) {
      $("#recipe-error").textContent = `Could not load beer ${fromId}: ${error.message}`;
    }
  } else if (!$("#hop-rows").children.length) {
    resetRecipe();
  }
  $("#recipe-title").setAttribute("tabindex", "-1");
  $("#recipe-title").focus();
  return form;
}

function numberOrNull(input) {
  const text = input.value.trim();
  if (text === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : NaN;
}

/** Read and check the form; return the recipe in the Punk API v2 shape, or a list of problems. */
function readRecipe(form) {
  const problems = [];
  const number = (input, label) => {
    const value = numberOrNull(input);
    const min = input.min === "" ? -Infinity : Number(input.min);
    const max = input.max === "" ? Infinity : Number(input.max);
    input.removeAttribute("aria-invalid");
    if (Number.isNaN(value) || (value !== null && (value < min || value > max))) {
      problems.push({ input, message: `${label} must be a number between ${input.min} and ${input.max}.` });
      input.setAttribute("aria-invalid", "true");
      return null;
    }
    if (value === null && input.required) {
      problems.push({ input, message: `${label} is required.` });
      input.setAttribute("aria-invalid", "true");
    }
    return value;
  };
  const text = (input, label) => {
    const value = input.value.trim();
    input.removeAttribute("aria-invalid");
    if (!value && input.required) {
      problems.push({ input, message: `${label} is required.` });
      input.setAttribute("aria-invalid", "true");
    }
    return value;
  };
  const og = number(form.elements.target_og, "Original gravity");
  const fg = number(form.elements.target_fg, "Final gravity");
  let abv = number(form.elements.abv, "ABV");
  const ebc = number(form.elements.ebc, "EBC");
  const volume = number(form.elements.volume, "Batch volume");
  const boil = number(form.elements.boil_volume, "Boil volume");
  if (abv === null && og !== null && fg !== null) abv = Math.round(((og - fg) * 131.25) / 10) / 100;
  const malts = [...document.querySelectorAll("#malt-rows .row")].map((row, i) => ({
    name: text(row.querySelector('[name="malt_name"]'), `Malt ${i + 1}'s name`),
    amount: {
      value: number(row.querySelector('[name="malt_kg"]'), `Malt ${i + 1}'s kilograms`),
      unit: "kilograms",
    },
  }));
  const hops = [...document.querySelectorAll("#hop-rows .row")].map((row, i) => {
    const stage = row.querySelector('[name="hop_stage"]').value;
    const minutes = number(row.querySelector('[name="hop_minutes"]'), `Hop ${i + 1}'s boil minutes`);
    const alpha = number(row.querySelector('[name="hop_alpha"]'), `Hop ${i + 1}'s alpha acid`);
    const boilMinutes = minutes ?? 60;
    const add = stage === "boil" ? String(boilMinutes) : STAGE_ADD[stage];
    let role = "aroma";
    if (stage === "boil" || stage === "first-wort") role = boilMinutes >= 30 ? "bittering" : "flavour";
    return {
      name: text(row.querySelector('[name="hop_name"]'), `Hop ${i + 1}'s name`),
      amount: {
        value: number(row.querySelector('[name="hop_grams"]'), `Hop ${i + 1}'s grams`),
        unit: "grams",
      },
      add,
      attribute: alpha === null ? role : `${role}, ${alpha}% alpha`,
    };
  });
  if (!hops.length) problems.push({ input: $("#add-hop"), message: "Add at least one hop." });
  const attenuation = og !== null && fg !== null && og > 1000 ? Math.round((100 * (og - fg)) / (og - 1000)) : null;
  const beer = {
    id: 1,
    name: form.elements.name.value.trim() || "My recipe",
    abv,
    ibu: null,
    target_og: og,
    target_fg: fg,
    ebc,
    srm: ebc === null ? null : Math.round((ebc / 1.97) * 10) / 10,
    ph: null,
    attenuation_level: attenuation,
    volume: { value: volume, unit: "litres" },
    boil_volume: { value: boil ?? volume, unit: "litres" },
    method: { mash_temp: [], fermentation: null, twist: null },
    ingredients: { malt: malts, hops, yeast: form.elements.yeast.value.trim() || null },
  };
  return { beer, problems };
}

async function submitRecipe(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = $("#recipe-error");
  const output = $("#prediction");
  errorBox.textContent = "";
  const { beer, problems } = readRecipe(form);
  if (problems.length) {
    errorBox.textContent = problems.map((p) => p.message).join(" ");
    problems[0].input.focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  output.replaceChildren(el("p", { class: "status", text: "Predicting…" }));
  try {
    const prediction = predictionOf(await api("/ibu", { method: "POST", body: JSON.stringify(beer) }));
    output.replaceChildren(
      el("h2", { text: `Prediction for ${beer.name}` }),
      ...predictionView(prediction, null),
    );
  } catch (error) {
    output.replaceChildren();
    errorBox.textContent = `Prediction failed: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

/** Remove the last answer and every error mark: they describe a recipe no longer in the form. */
function clearRecipeOutput() {
  $("#prediction").replaceChildren();
  $("#recipe-error").textContent = "";
  $("#file-error").textContent = "";
  for (const input of document.querySelectorAll('#view-recipe [aria-invalid="true"]')) {
    input.removeAttribute("aria-invalid");
  }
}

/** After the form's own reset (default values back): default rows, no answer, no file. */
function afterRecipeReset() {
  resetRecipe();
  $("#file-form").reset();
  clearRecipeOutput();
  if (parseHash().params.has("from")) history.replaceState(null, "", "#/recipe");
  $("#r-name").focus();
}

/** The body's format by content, as the server tells it: BeerXML starts with "<". */
function recipeContentType(text) {
  return text.replace(/^\uFEFF/, "").trimStart().startsWith("<") ? "application/xml" : "application/json";
}

async function submitFile(event) {
  event.preventDefault();
  const text = $("#r-file-text").value;
  const errorBox = $("#file-error");
  const output = $("#prediction");
  errorBox.textContent = "";
  if (!text.trim()) {
    errorBox.textContent = "Choose a file or paste a recipe first.";
    $("#r-file-text").focus();
    return;
  }
  const button = event.currentTarget.querySelector('button[type="submit"]');
  button.disabled = true;
  output.replaceChildren(el("p", { class: "status", text: "Predicting…" }));
  try {
    const body = await api("/ibu", {
      method: "POST",
      body: text,
      headers: { "Content-Type": recipeContentType(text) },
    });
    output.replaceChildren(
      ...body.predictions.flatMap((prediction) => [
        el("h2", { text: `Prediction for ${prediction.name}` }),
        ...predictionView(prediction, null),
      ]),
    );
    output.scrollIntoView({ block: "nearest" }); // the answer is below the recipe form
  } catch (error) {
    output.replaceChildren();
    errorBox.textContent = `Prediction failed: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

/** An uploaded file is shown in the text box (so it can be read and edited), then predicted. */
async function loadRecipeFile(event) {
  const [file] = event.currentTarget.files;
  if (!file) return;
  if (file.size > MAX_RECIPE_FILE_BYTES) {
    $("#file-error").textContent = `${file.name} is larger than 8 MiB, the server's limit.`;
    return;
  }
  $("#r-file-text").value = await file.text();
  $("#file-form").requestSubmit();
}

/* ---------- the filter form on small screens ---------- */

function setFiltersOpen(open) {
  $("#search-form").classList.toggle("open", open);
  $("#filters-toggle").setAttribute("aria-expanded", String(open));
}

function showActiveFilters(params) {
  const active = FILTERS.filter((name) => params.get(name)).length;
  $("#filters-toggle").textContent = active ? `Filters (${active} active)` : "Filters";
}

/** Hop, malt and yeast names for the form's suggestions, read once from the API's pages. */
async function loadNames() {
  if (namesLoaded) return;
  namesLoaded = true;
  const hops = new Set();
  const malts = new Set();
  const yeasts = new Set();
  try {
    for (let page = 1; page <= 10; page += 1) {
      const beers = await api(`/beers?page=${page}&per_page=80`);
      for (const beer of beers) {
        const ing = beer.ingredients || {};
        for (const h of ing.hops || []) hops.add(h.name);
        for (const m of ing.malt || []) malts.add(m.name);
        if (ing.yeast) yeasts.add(ing.yeast);
      }
      if (beers.length < 80) break;
    }
  } catch {
    return; // suggestions are a convenience; the form works without them
  }
  const fill = (id, names) =>
    $(id).replaceChildren(...[...names].sort().map((name) => el("option", { value: name })));
  fill("#hop-names", hops);
  fill("#malt-names", malts);
  fill("#yeast-names", yeasts);
}

/* ---------- wiring ---------- */

function init() {
  const form = $("#search-form");
  $("#range-filters").replaceWith(...RANGE_FILTERS.map(rangeFieldset));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    if (SMALL_SCREEN.matches) setFiltersOpen(false); // make room for the results
    const params = formToParams(form);
    const target = `#/?${params}`;
    if (location.hash === target) route();
    else location.hash = target;
  });
  form.addEventListener("reset", () => {
    setTimeout(() => {
      location.hash = "#/";
    });
  });
  $("#prev-page").addEventListener("click", (e) => goToPage(Number(e.currentTarget.dataset.page)));
  $("#next-page").addEventListener("click", (e) => goToPage(Number(e.currentTarget.dataset.page)));
  $("#add-malt").addEventListener("click", () => addRow("malt").querySelector("input").focus());
  $("#add-hop").addEventListener("click", () => addRow("hop").querySelector("input").focus());
  $("#recipe-form").addEventListener("submit", submitRecipe);
  // The reset event comes before the form's own reset: finish after it.
  $("#recipe-form").addEventListener("reset", () => setTimeout(afterRecipeReset));
  $("#file-form").addEventListener("submit", submitFile);
  $("#r-file").addEventListener("change", loadRecipeFile);
  $("#filters-toggle").addEventListener("click", () => {
    const open = $("#filters-toggle").getAttribute("aria-expanded") !== "true";
    setFiltersOpen(open);
    if (open) $("#f-beer_name").focus();
  });
  // The skip link moves focus without touching the hash (the hash names the view).
  $(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    $("#main").focus();
  });
  window.addEventListener("hashchange", route);
  route();
}

document.addEventListener("DOMContentLoaded", init);
