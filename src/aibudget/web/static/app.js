// The aibudget planner. The YAML editor holds the scenario as the user wrote it; a form field
// sends its value as an override (the CLI's --set) and the server answers with the estimate and
// the YAML with that one field changed. Everything shown is read from the estimate's JSON.
(() => {
"use strict";

const $ = (id) => document.getElementById(id);
const fields = () => Array.from(document.querySelectorAll("[data-path]"));
const SAMPLES = 10000;  // as the CLI and the report: the same scenario gives the same numbers
const MAX_COMPARED = 4;
const state = {
  body: null,            // the last answer of /api/estimate
  byHand: new Set(),     // price paths the user typed in this page: kept when the accelerator changes
  compared: [],          // [{name, yaml}] to compare
  request: 0,
};

// --------------------------------------------------------------------------- formatting

function sig(v, digits = 3) {
  return Number(Number(v).toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 12 });
}
function signed(v, show) { return (v < 0 ? "\u2212" : "") + show(Math.abs(v)); }
function money(v) {
  return signed(v, (a) => {
    if (a === 0) return "$0";
    if (a < 0.005) return "<$0.01";
    for (const [suffix, scale] of [["T", 1e12], ["B", 1e9], ["M", 1e6], ["k", 1e4]]) {
      if (a >= scale) return "$" + sig(a / (suffix === "k" ? 1e3 : scale)) + suffix;
    }
    return a >= 100 ? "$" + Math.round(a).toLocaleString("en-US") : "$" + a.toFixed(2);
  });
}
function scaled(v, units, base) {
  if (v === 0) return "0 " + base;
  for (const [unit, scale] of units) if (Math.abs(v) >= scale) return sig(v / scale) + " " + unit;
  const [unit, scale] = units[units.length - 1];
  return sig(v / scale) + " " + unit;
}
const energy = (kwh) => scaled(kwh, [["TWh", 1e9], ["GWh", 1e6], ["MWh", 1e3], ["kWh", 1], ["Wh", 1e-3], ["mWh", 1e-6]], "kWh");
const carbon = (kg) => scaled(kg, [["MtCO2e", 1e9], ["ktCO2e", 1e6], ["tCO2e", 1e3], ["kgCO2e", 1], ["gCO2e", 1e-3], ["mgCO2e", 1e-6]], "kgCO2e");
function count(v) {
  const a = Math.abs(v);
  for (const [suffix, scale] of [["T", 1e12], ["B", 1e9], ["M", 1e6]]) if (a >= scale) return sig(v / scale) + suffix;
  return a >= 100 ? Math.round(v).toLocaleString("en-US") : sig(v);
}
function days(d) {
  if (d < 1) return sig(d * 24) + " hours";
  if (d >= 365) return sig(d) + " days (" + sig(d / 365.25, 2) + " years)";
  return sig(d) + " days";
}
const pct = (f) => sig(f * 100) + "%";
const years = (y) => sig(y) + (y === 1 ? " year" : " years");
const SHOW = { usd: money, energy_kwh: energy, co2e_kg: carbon };
function span(m, show) { return m.p10 === m.p90 ? "" : `${show(m.p10)}–${show(m.p90)}`; }
function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
// a bill's figure: the mean of the draws (means add up; percentiles do not), with its range
function measure(key, m) {
  const range = span(m, SHOW[key]);
  return SHOW[key](m.mean) + (range ? ` <span class="range">(${range})</span>` : "");
}
function quantity(value) {
  // 175000000000 → "175B": the way people write sizes (the server reads both)
  if (typeof value !== "number" || Math.abs(value) < 1e6) return String(value);
  for (const [suffix, scale] of [["T", 1e12], ["B", 1e9], ["M", 1e6]]) {
    if (Math.abs(value) >= scale) return String(Number((value / scale).toPrecision(6))) + suffix;
  }
  return String(value);
}
// a value as one writes it in YAML's flow style: 2.5, 175B, {low: 1.48, high: 3.9}
function written(value) {
  if (value == null) return "";
  if (Array.isArray(value)) return "[" + value.map(written).join(", ") + "]";
  if (typeof value === "object") return "{" + Object.entries(value).map(([k, v]) => `${k}: ${written(v)}`).join(", ") + "}";
  return quantity(value);
}
function shownValue(value, unit) {
  if (typeof value !== "number") return esc(value) + (unit ? " " + esc(unit) : "");
  if (unit === "USD") return money(value);
  if (unit.startsWith("USD/")) return money(value) + "/" + esc(unit.slice(4));
  if (unit === "fraction") return sig(value);
  // as the CLI: from a thousand in whole units or with a suffix (a width of 12,288 stays 12,288)
  return (Math.abs(value) >= 1e3 ? count(value) : sig(value, 4)) + (unit ? " " + esc(unit) : "");
}

function get(obj, path) {
  return path.split(".").reduce((node, key) => (node == null ? undefined : node[key]), obj);
}
const assumption = (e, name) => e.assumptions.find((a) => a.name === name);

// --------------------------------------------------------------------------- requests

async function post(path, payload) {
  return fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
}
async function answer(response) {
  try { return await response.json(); }
  catch (error) { return { error: `the server answered ${response.status} without a readable body`, problems: [] }; }
}

function busy(on) { document.body.dataset.busy = on ? "yes" : "no"; }

async function run(overrides = [], after = null) {
  const request = ++state.request;
  busy(true);
  $("status").textContent = "Estimating…";
  let response, body;
  try {
    response = await post("/api/estimate", { yaml: $("yaml").value, overrides, samples: SAMPLES });
    body = await answer(response);
  } catch (error) {
    if (request === state.request) { $("status").textContent = "The server cannot be reached: " + error.message; busy(false); }
    return false;
  }
  if (request !== state.request) return false;  // a newer request is on its way
  clearErrors();
  if (!response.ok) {
    $("status").textContent = "Not estimated: see the problem below.";
    showErrors(body, $("errors"));
    busy(false);
    return false;
  }
  state.body = body;
  $("yaml").value = body.scenario_yaml;
  fillForm(body);
  $("notices").innerHTML = after ? after(body) : "";
  await render(body);
  saveAddress(body.scenario_yaml);
  const e = body.estimate;
  const t = e.training && e.training.chips > 0 ? `, ${days(e.training.wall_clock_days.mean)} of training` : "";
  $("status").textContent = `Estimated: ${money(e.total.usd.mean)} in total${t}.`;
  busy(false);
  return true;
}

function saveAddress(yaml) {
  const params = new URLSearchParams();
  params.set("s", btoa(unescape(encodeURIComponent(yaml))));
  if (state.byHand.size) params.set("hand", Array.from(state.byHand).join(","));
  history.replaceState(null, "", "#" + params.toString());
}

// --------------------------------------------------------------------------- errors at their fields

function clearErrors() {
  $("errors").textContent = "";
  for (const el of fields()) {
    el.removeAttribute("aria-invalid");
    const described = (el.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && !id.startsWith("err-"));
    if (described.length) el.setAttribute("aria-describedby", described.join(" ")); else el.removeAttribute("aria-describedby");
  }
  for (const el of document.querySelectorAll(".field-error")) el.remove();
}

function showErrors(body, summary) {
  const unplaced = [];
  let n = 0;
  for (const p of body.problems || []) {
    const el = fields().find((f) => p.path === f.dataset.path || p.path.startsWith(f.dataset.path + "."));
    if (!el) { unplaced.push(`${p.path}: ${p.message}`); continue; }
    const label = document.querySelector(`label[for="${el.id}"]`);
    const id = "err-" + (++n);
    el.setAttribute("aria-invalid", "true");
    el.setAttribute("aria-describedby", [id, el.getAttribute("aria-describedby") || ""].join(" ").trim());
    const note = document.createElement("p");
    note.className = "field-error";
    note.id = id;
    note.dataset.for = el.dataset.path;
    note.textContent = p.message;
    el.insertAdjacentElement("afterend", note);
    unplaced.push(`${label ? label.textContent : p.path}: ${p.message}`);
  }
  summary.textContent = unplaced.join("\n") || body.error;
}

// --------------------------------------------------------------------------- the form

// the price field of a section is its hardware's: per chip-hour rented, or per chip bought
function pricePaths(e) {
  for (const el of document.querySelectorAll("[data-price]")) {
    const section = el.dataset.price;
    const owned = (assumption(e, `${section}.hardware`) || {}).value === "owned";
    el.dataset.path = owned ? `${section}.owned.price_usd_per_chip` : `${section}.cloud.price_usd_per_chip_hour`;
    document.querySelector(`label[for="${el.id}"]`).textContent = owned ? "Price per chip, bought (USD)" : "Price per chip-hour (USD)";
  }
}

function fillForm(body) {
  pricePaths(body.estimate);
  for (const el of fields()) {
    let value = get(body.scenario_as_written, el.dataset.path);
    if (value === undefined) value = get(body.scenario, el.dataset.path);
    // what the estimate used where the scenario says nothing: chosen in a list, a placeholder in a box
    const used = value == null ? assumption(body.estimate, el.dataset.path) : null;
    if (el.tagName === "SELECT") {
      el.value = written(value == null && used ? used.value : value);
      if (el.selectedIndex < 0) el.value = "";
    } else {
      el.value = written(value);
      if (!("example" in el.dataset)) el.dataset.example = el.placeholder;
      const shown = used && typeof used.value === "number"
        ? (el.dataset.price ? "catalog: " + money(used.value) : quantity(Number(used.value.toPrecision(6))))
        : used && used.value;
      el.placeholder = shown ? `${shown} (in use)` : el.dataset.example;
    }
    el.dataset.shown = el.value;
  }
  for (const section of ["training", "serving"]) {
    const info = priceOf(body.estimate, section);
    $("src-" + section).textContent = info ? `In use: ${info.text}, ${info.said}.` : "";
  }
}

// the price a section pays per chip (rented per chip-hour, or bought), and where it comes from
function priceOf(e, section) {
  for (const name of [`${section}.cloud.price_usd_per_chip_hour`, `${section}.owned.price_usd_per_chip`]) {
    const a = assumption(e, name);
    if (!a || typeof a.value !== "number") continue;
    const unit = name.endsWith("per_chip_hour") ? "per chip-hour" : "per chip, bought";
    const range = a.distribution ? `${money(a.distribution.p10)}–${money(a.distribution.p90)}` : "";
    const hand = a.source === "scenario";
    const origin = `${a.note || a.source}${a.as_of ? ", as of " + a.as_of : ""}`;
    const listing = `${(a.note || a.source).split(";")[0]}${a.as_of ? ", as of " + a.as_of : ""}`;
    const said = hand
      ? (state.byHand.has(name) ? "set by hand (here)" : "set by hand (in the scenario)")
      : `from the catalog: ${origin}`;
    const brief = hand ? said : `from the catalog: ${listing}`;
    return { name, a, hand, said, brief, origin, unit, text: `${money(a.value)} ${unit}` + (range ? ` (${range})` : "") };
  }
  return null;
}

// prices that were set for a section's accelerator and go with it when it changes
function tiedPrices(section, scenario) {
  const paths = [`${section}.cloud.price_usd_per_chip_hour`, `${section}.owned.price_usd_per_chip`];
  const serving = get(scenario, "serving");
  if (section === "training" && serving && get(scenario, "serving.accelerator") == null && get(scenario, "serving.mode") !== "api") {
    paths.push("serving.cloud.price_usd_per_chip_hour", "serving.owned.price_usd_per_chip");
  }
  return paths.filter((p) => get(scenario, p) != null);
}

async function changeAccelerator(el) {
  const section = el.dataset.accelerator;
  const scenario = state.body.scenario_as_written;
  const before = state.body.estimate;
  const was = (assumption(before, `${section}.accelerator`) || {}).value || get(scenario, `${section}.accelerator`) || "";
  const now = el.value;
  const overrides = [now === "" ? `${el.dataset.path}=null` : `${el.dataset.path}=${now}`];
  const replaced = [], kept = [];
  for (const path of tiedPrices(section, scenario)) {
    if (state.byHand.has(path)) { kept.push(path); continue; }
    replaced.push({ path, value: written(get(scenario, path)) });
    overrides.push(`${path}=null`);
  }
  await run(overrides, (body) => repriced(body, section, was, now || "the training accelerator", replaced, kept));
}

function sectionOf(path) { return path.split(".")[0]; }

function repriced(body, section, was, now, replaced, kept) {
  const e = body.estimate;
  const notes = [];
  for (const r of replaced) {
    const info = priceOf(e, sectionOf(r.path));
    const unit = r.path.endsWith("per_chip_hour") ? "per chip-hour" : "per chip";
    const priced = info && !info.hand ? `from the catalog at ${info.text} (${info.brief.replace(/^from the catalog: /, "")})` : "from the catalog";
    notes.push(`<p data-repriced="${esc(r.path)}">The scenario's ${esc(sectionOf(r.path))} price, ${esc(r.value)} USD ${unit}, was set for ${esc(was)}: `
      + `${esc(now)} is now priced ${esc(priced)}. `
      + `<button type="button" class="link" data-keep="${esc(r.path)}" data-value="${esc(r.value)}">Keep ${esc(r.value)} for ${esc(now)} instead</button></p>`);
  }
  for (const path of kept) {
    const info = priceOf(e, sectionOf(path));
    notes.push(`<p data-kept="${esc(path)}">Kept the ${esc(sectionOf(path))} price you set by hand, ${info ? esc(info.text) : ""}, for ${esc(now)}. `
      + `Clear the price field to price ${esc(now)} from the catalog.</p>`);
  }
  if (!replaced.length && !kept.length) {
    const info = priceOf(e, section);
    if (info) notes.push(`<p data-repriced="${esc(info.name)}">${esc(now)}: ${esc(info.text)}, ${esc(info.brief)}.</p>`);
  }
  return notes.join("");
}

// --------------------------------------------------------------------------- the figures

function card(key, label, value, num, range, sub, source) {
  return `<div class="card" data-figure="${key}" data-value="${num}"${source ? ` data-source="${source}"` : ""}>`
    + `<dt>${esc(label)}</dt><dd><span class="value">${esc(value)}</span>`
    + (range ? `<span class="range">p10–p90 ${esc(range)}</span>` : "")
    + (sub ? `<span class="sub">${esc(sub)}</span>` : "") + "</dd></div>";
}

function headline(e) {
  const out = [];
  const t = e.total;
  const draws = e.uncertainty && e.uncertainty.samples > 1 ? `mean of ${e.uncertainty.samples.toLocaleString("en-US")} draws` : "a point estimate";
  const pv = e.present_value_usd;
  const rate = (assumption(e, "horizon.discount_rate") || {}).value || 0;
  let sub = draws + (e.horizon_years ? `; ${years(e.horizon_years)} of operation` : "");
  if (pv && Math.abs(pv.mean - t.usd.mean) > 0.005 * Math.abs(t.usd.mean)) sub += `; present value ${money(pv.mean)}${rate ? ` at ${pct(rate)}` : ""}`;
  out.push(card("total_usd", "Total cost", money(t.usd.mean), t.usd.mean, span(t.usd, money), sub));

  const tr = e.training;
  if (tr && tr.chips > 0) {
    const acc = (assumption(e, "training.accelerator") || {}).value || "";
    out.push(card("wall_clock_days", "Training wall clock", days(tr.wall_clock_days.mean), tr.wall_clock_days.mean,
      span(tr.wall_clock_days, days), `${tr.chips.toLocaleString("en-US")} × ${acc}`));
    const billed = tr.billed_chip_hours && Math.abs(tr.billed_chip_hours.mean - tr.chip_hours.mean) > 0.005 * tr.chip_hours.mean
      ? `billed ${count(tr.billed_chip_hours.mean)} (whole instances)` : "accelerator-hours of the final run";
    out.push(card("chip_hours", "Chip-hours", count(tr.chip_hours.mean), tr.chip_hours.mean, span(tr.chip_hours, count), billed));
    const mfu = assumption(e, "training.mfu");
    let range = span(tr.mfu, pct), mfuSub = mfu && mfu.source === "scenario" ? "set in the scenario" : "the fitted model's (docs/validation.md)";
    if (!range && mfu && mfu.distribution) { range = `${pct(mfu.distribution.p10)}–${pct(mfu.distribution.p90)}`; mfuSub += "; range assumed"; }
    out.push(card("mfu", "MFU (share of peak)", pct(tr.mfu.mean), tr.mfu.mean, range, mfuSub));
    const price = priceOf(e, "training");
    if (price) out.push(priceCard("training_price", "Training price", price));
  }

  const s = e.serving || {};
  const fleet = s.chips && s.chips.mean > 0;
  if (fleet) {
    const acc = (assumption(e, "serving.accelerator") || {}).value || "";
    const chips = Math.round(s.chips.p50);
    out.push(card("fleet_chips", "Serving fleet (median)", `${chips.toLocaleString("en-US")} × ${acc}`, s.chips.p50,
      span(s.chips, (v) => Math.round(v).toLocaleString("en-US")) + (s.chips.p10 === s.chips.p90 ? "" : " chips"),
      `${Math.round(s.replicas.p50)} replicas of ${Math.round(s.chips_per_replica.p50)} chips, ${pct(s.utilisation.mean)} busy, ${money(s.usd_per_month.mean)} a month`));
    const price = priceOf(e, "serving");
    if (price) out.push(priceCard("serving_price", "Serving price", price));
  } else if (s.usd_per_month && s.usd_per_month.mean > 0) {
    const model = (assumption(e, "serving.api.model") || {}).value;
    out.push(card("fleet_chips", "Serving", model ? `API: ${model}` : "hosted API", 0, "", `${money(s.usd_per_month.mean)} a month`));
  }
  if (s.usd_per_million_input && (fleet || s.usd_per_month.mean > 0)) {
    const i = s.usd_per_million_input, o = s.usd_per_million_output;
    const ranges = [span(i, money) && `in ${span(i, money)}`, span(o, money) && `out ${span(o, money)}`].filter(Boolean).join(", ");
    out.push(card("usd_per_million_tokens", "Per million tokens", `in ${money(i.mean)} · out ${money(o.mean)}`, s.usd_per_million_tokens.mean,
      ranges, `blended ${money(s.usd_per_million_tokens.mean)}, all serving costs included`));
  }
  const eq = e.equivalents || {};
  out.push(card("energy_kwh", "Energy", energy(t.energy_kwh.mean), t.energy_kwh.mean, span(t.energy_kwh, energy),
    eq.us_household_years ? `≈ ${sig(eq.us_household_years.mean)} US household-years of electricity` : ""));
  out.push(card("co2e_kg", "Carbon", carbon(t.co2e_kg.mean), t.co2e_kg.mean, span(t.co2e_kg, carbon),
    eq.passenger_car_years ? `≈ ${sig(eq.passenger_car_years.mean)} passenger-car years` : ""));
  return out.join("");
}

function priceCard(key, label, info) {
  const a = info.a;
  const range = a.distribution ? `${money(a.distribution.p10)}–${money(a.distribution.p90)}` : "";
  return card(key, `${label} ${info.unit}`, money(a.value), a.value, range, info.brief, info.hand ? "hand" : "catalog");
}

function cashFlow(e) {
  const flow = e.cash_flow || [];
  if (!flow.length) return "";
  const rows = flow.map((row) => `<tr><td>${row.year === 0 ? "year 0 (build)" : "year " + row.year}</td><td class="n">${money(row.usd.mean)}</td><td class="n range">${span(row.usd, money)}</td></tr>`);
  const paid = flow.reduce((sum, row) => sum + row.usd.mean, 0);
  rows.push(`<tr class="total"><td>total paid</td><td class="n">${money(paid)}</td><td></td></tr>`);
  if (e.resale_usd && e.resale_usd.mean > 0) rows.push(`<tr><td>value left at the end (credit)</td><td class="n">${money(-e.resale_usd.mean)}</td><td class="n range">${span(e.resale_usd, money)}</td></tr>`);
  const rate = (assumption(e, "horizon.discount_rate") || {}).value || 0;
  if (rate || (e.resale_usd && e.resale_usd.mean > 0)) rows.push(`<tr><td>present value${rate ? " at " + pct(rate) : ""}</td><td class="n">${money(e.present_value_usd.mean)}</td><td class="n range">${span(e.present_value_usd, money)}</td></tr>`);
  return `<h3>Cash flow by year</h3><div class="table-box"><table class="cash"><thead><tr><th scope="col">Year</th><th scope="col" class="n">Paid (mean)</th><th scope="col" class="n">p10–p90</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

// a title in lines of at most n characters, for a narrow screen
function lines(text, n) {
  const out = [];
  for (const word of text.split(" ")) {
    if (out.length && (out[out.length - 1] + " " + word).length <= n) out[out.length - 1] += " " + word;
    else out.push(word);
  }
  return out;
}

// each chart's specification by its element's id, to draw again when the screen turns narrow or wide
const drawn = new Map();
async function draw(target, spec) {
  target.innerHTML = "";
  drawn.set(target.id, spec);
  if (!spec || !window.vegaEmbed) return;
  const width = target.parentElement.clientWidth;
  const narrow = width < 560;
  target.dataset.narrow = String(narrow);
  const config = Object.assign({}, spec.config || {});
  let title = spec.title;
  if (narrow && typeof title === "string") title = { text: lines(title, Math.max(24, Math.floor(width / 7.5))) };
  if (narrow) {
    config.legend = Object.assign({}, config.legend, { orient: "bottom", columns: 2 });
    config.axisY = Object.assign({}, config.axisY, { labelLimit: 120 });
    config.title = Object.assign({}, config.title, { fontSize: 12 });
  }
  const fitted = Object.assign({}, spec, { title, width: "container", autosize: { type: "fit-x", contains: "padding" }, config });
  try {
    await window.vegaEmbed(target, fitted, { actions: false, renderer: "svg" });
  } catch (error) {
    target.textContent = "This chart could not be drawn: " + error.message;
  }
}

async function render(body) {
  const e = body.estimate;
  $("scenario-name").textContent = e.name;
  $("headline").innerHTML = headline(e);
  $("cash-flow").innerHTML = cashFlow(e);
  const charts = ["bill", "cash_flow", "distribution", "tornado", "traffic"];
  await Promise.all(charts.map((name) => draw($("chart-" + name), body.charts[name])));
  const KEYS = ["usd", "energy_kwh", "co2e_kg"], NAMES = { usd: "Cost", energy_kwh: "Energy", co2e_kg: "Carbon" };
  const cells = (m) => KEYS.map((k) => `<td role="cell" class="n" data-label="${NAMES[k]}">${measure(k, m[k])}</td>`).join("");
  const rows = [`<thead role="rowgroup"><tr role="row"><th role="columnheader" scope="col">Phase</th>${KEYS.map((k) => `<th role="columnheader" scope="col" class="n">${NAMES[k]}</th>`).join("")}</tr></thead><tbody role="rowgroup">`];
  for (const phase of e.phases) {
    rows.push(`<tr role="row" class="phase"><td role="cell"><b>${esc(phase.name)}</b></td>${cells(phase)}</tr>`);
    for (const item of phase.items) rows.push(`<tr role="row" class="item"><td role="cell">${esc(item.name)}</td>${cells(item)}</tr>`);
    for (const item of phase.memo || []) {
      rows.push(`<tr role="row" class="item memo"><td role="cell" class="dim">memo: ${esc(item.name)}</td><td role="cell" class="n dim" data-label="Cost">${money(item.usd.mean)}</td><td role="cell" class="dim" colspan="2">not in the total</td></tr>`);
    }
  }
  rows.push(`<tr role="row" class="total"><td role="cell">Total</td>${cells(e.total)}</tr></tbody>`);
  $("bill").innerHTML = rows.join("");
  $("assumptions-count").textContent = `(${e.assumptions.length})`;
  $("assumptions").innerHTML =
    "<thead role='rowgroup'><tr role='row'><th role='columnheader' scope='col'>Assumption</th><th role='columnheader' scope='col' class='n'>Value</th><th role='columnheader' scope='col'>What and where from</th></tr></thead><tbody role='rowgroup'>" +
    e.assumptions.map((a) => {
      const d = a.distribution;
      const range = d ? ` <span class="range">(${shownValue(d.p10, a.unit.startsWith("USD") ? a.unit : "")}–${shownValue(d.p90, a.unit.startsWith("USD") ? a.unit : "")})</span>` : "";
      const source = a.source === "scenario" ? "your scenario" : esc(a.source) + (a.as_of ? ` (${esc(a.as_of)})` : "");
      return `<tr role="row"><td role="cell"><span class="path">${esc(a.name).replace(/([._])/g, "$1<wbr>")}</span></td><td role="cell" class="n">${shownValue(a.value, a.unit)}${range}</td><td role="cell">${esc(a.note)}${a.note ? "<br>" : ""}<span class="src">${source}</span></td></tr>`;
    }).join("") + "</tbody>";
}

// --------------------------------------------------------------------------- compare

function renderCompareList() {
  $("compare-list").innerHTML = state.compared.map((s, i) =>
    `<li><span class="name"><b>${"ABCD"[i]}</b> ${esc(s.name)}</span><button type="button" data-remove="${i}" aria-label="Remove ${esc("ABCD"[i] + ": " + s.name)} from the comparison">Remove</button></li>`).join("");
  const full = state.compared.length >= MAX_COMPARED;
  $("compare-add").disabled = full || !state.body;
  $("compare-add-example").disabled = full;
  $("compare-run").disabled = state.compared.length < 2;
  $("compare-run").textContent = state.compared.length < 2 ? "Compare (add two or more)" : `Compare ${state.compared.length} scenarios`;
}

function addToCompare(name, yaml) {
  if (state.compared.length >= MAX_COMPARED) return;
  state.compared.push({ name, yaml });
  renderCompareList();
  $("status").textContent = `Added “${name}” to the comparison (${state.compared.length} of at most ${MAX_COMPARED}).`;
}

async function runCompare() {
  busy(true);
  $("compare-errors").textContent = "";
  $("status").textContent = "Comparing…";
  const response = await post("/api/compare", { scenarios: state.compared.map((s) => ({ yaml: s.yaml })), samples: SAMPLES });
  const body = await answer(response);
  if (!response.ok) {
    const problems = (body.problems || []).map((p) => `${p.path}: ${p.message}`);
    $("compare-errors").textContent = problems.join("\n") || body.error;
    $("status").textContent = "Not compared: see the problem below.";
    busy(false);
    return;
  }
  body.estimates.forEach((e, i) => { if (state.compared[i]) state.compared[i].name = e.name; });
  renderCompareList();
  $("compare-result").innerHTML = compareTable(body) + '<div id="chart-compare" class="chart"></div>';
  await draw($("chart-compare"), body.charts.bill);
  $("status").textContent = `Compared ${body.scenarios.length} scenarios.`;
  busy(false);
}

function compareTable(c) {
  const ests = c.estimates;
  const who = ests.map((e, i) => `${"ABCD"[i]}: ${e.name}`);
  const row = (key, label, cells) => `<tr role="row" data-row="${key}"><th role="rowheader" scope="row">${esc(label)}</th>${cells.map((cell, i) => `<td role="cell" class="n"${Array.isArray(cell) ? ` data-value="${cell[1]}"` : ""}><span class="who">${"ABCD"[i]}</span>${Array.isArray(cell) ? cell[0] : cell}</td>`).join("")}</tr>`;
  // a cell: the mean with its p10–p90, and the mean as data-value
  const fig = (m, show) => [show(m.mean) + (span(m, show) ? ` <span class="range">(${span(m, show)})</span>` : ""), m.mean];
  const trained = (e) => e.training && e.training.chips > 0;
  const fleet = (e) => e.serving && e.serving.chips && e.serving.chips.mean > 0;
  const dash = "<span class='dim'>—</span>";
  const rows = [row("total_usd", "Total cost", ests.map((e) => fig(e.total.usd, money)))];
  if (ests.some((e) => Math.abs(e.present_value_usd.mean - e.total.usd.mean) > 0.005 * Math.abs(e.total.usd.mean))) {
    rows.push(row("present_value_usd", "Present value", ests.map((e) => fig(e.present_value_usd, money))));
  }
  if (ests.some(trained)) {
    rows.push(row("training_hardware", "Training hardware", ests.map((e) => trained(e) ? esc(`${e.training.chips.toLocaleString("en-US")} × ${(assumption(e, "training.accelerator") || {}).value}`) : dash)));
    rows.push(row("wall_clock_days", "Training wall clock", ests.map((e) => trained(e) ? fig(e.training.wall_clock_days, days) : dash)));
    rows.push(row("chip_hours", "Chip-hours", ests.map((e) => trained(e) ? fig(e.training.chip_hours, count) : dash)));
    rows.push(row("mfu", "MFU", ests.map((e) => trained(e) ? [pct(e.training.mfu.mean), e.training.mfu.mean] : dash)));
    rows.push(row("training_price", "Training price", ests.map((e) => { const p = trained(e) && priceOf(e, "training"); return p ? `${esc(p.text)}<br><span class="range">${p.hand ? "set by hand" : "catalog"}</span>` : dash; })));
  }
  if (ests.some(fleet)) {
    rows.push(row("fleet_chips", "Serving fleet (median)", ests.map((e) => fleet(e) ? esc(`${Math.round(e.serving.chips.p50)} × ${(assumption(e, "serving.accelerator") || {}).value}`) : dash)));
  }
  if (ests.some((e) => e.serving && e.serving.usd_per_million_input)) {
    const tokens = (key) => ests.map((e) => e.serving && e.serving[key] ? fig(e.serving[key], money) : dash);
    rows.push(row("usd_per_million_input", "Per million input tokens", tokens("usd_per_million_input")));
    rows.push(row("usd_per_million_output", "Per million output tokens", tokens("usd_per_million_output")));
  }
  rows.push(row("energy_kwh", "Energy", ests.map((e) => fig(e.total.energy_kwh, energy))));
  rows.push(row("co2e_kg", "Carbon", ests.map((e) => fig(e.total.co2e_kg, carbon))));
  const vs = [dash, ...c.versus.map((v) => fig(v.ratio.usd, (r) => sig(r) + "×"))];
  rows.push(row("ratio_usd", "Cost ÷ A's", vs));
  rows.push(row("a_costs_less", "A costs less in", [dash, ...c.versus.map((v) => [`${pct(v.probability_baseline_costs_less)} of draws`, v.probability_baseline_costs_less])]));
  const head = `<thead role="rowgroup"><tr role="row"><th role="columnheader" scope="col">Figure</th>${who.map((w) => `<th role="columnheader" scope="col">${esc(w)}</th>`).join("")}</tr></thead>`;
  const key = `<ol class="compare-key">${who.map((w) => `<li>${esc(w)}</li>`).join("")}</ol>`;
  return `${key}<div class="table-box"><table id="compare-table" class="side" role="table">${head}<tbody role="rowgroup">${rows.join("")}</tbody></table></div>`
    + `<p class="dim">Means, with p10–p90 in brackets; every scenario is estimated over the same ${c.samples.toLocaleString("en-US")} paired draws, so the ratios and the share of draws compare like with like.</p>`;
}

// --------------------------------------------------------------------------- start

async function loadExample(name) {
  busy(true);
  const response = await fetch("/api/examples/" + encodeURIComponent(name));
  $("yaml").value = await response.text();
  state.byHand.clear();
  await run();
}

function download(name, type, content) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([content], { type }));
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

async function init() {
  const accelerators = await (await fetch("/api/catalog/accelerators")).json();
  const options = accelerators.map((a) => `<option value="${esc(a.name)}">${esc(a.name)}</option>`).join("");
  $("f-accelerator").innerHTML = `<option value="">— none —</option>` + options;
  $("f-serving-accelerator").innerHTML = `<option value="">same as training</option>` + options;
  const names = await (await fetch("/api/examples")).json();
  const examples = names.map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join("");
  $("example").innerHTML = `<option value="" disabled>your own scenario</option>` + examples;
  $("compare-example").innerHTML = examples;

  for (const el of fields()) {
    el.addEventListener("change", () => {
      if (el.value === el.dataset.shown) return;
      if (el.dataset.accelerator) return changeAccelerator(el);
      if (el.dataset.price) {
        if (el.value.trim() === "") state.byHand.delete(el.dataset.path); else state.byHand.add(el.dataset.path);
      }
      run(el.value.trim() === "" ? [`${el.dataset.path}=null`] : [`${el.dataset.path}=${el.value.trim()}`]);
    });
  }
  $("notices").addEventListener("click", (event) => {
    const keep = event.target.closest("[data-keep]");
    if (!keep) return;
    state.byHand.add(keep.dataset.keep);
    run([`${keep.dataset.keep}=${keep.dataset.value}`], (body) => {
      const info = priceOf(body.estimate, sectionOf(keep.dataset.keep));
      return `<p data-kept="${esc(keep.dataset.keep)}">Kept ${esc(keep.dataset.value)} USD as the ${esc(sectionOf(keep.dataset.keep))} price${info ? " (" + esc(info.said) + ")" : ""}.</p>`;
    });
  });
  $("example").addEventListener("change", () => loadExample($("example").value));
  $("apply-yaml").addEventListener("click", () => run());
  $("download-yaml").addEventListener("click", () => download("scenario.yaml", "text/yaml", $("yaml").value));
  $("upload").addEventListener("change", async () => {
    const file = $("upload").files[0];
    if (!file) return;
    busy(true);
    $("yaml").value = await file.text();
    $("upload").value = "";
    $("example").value = "";
    state.byHand.clear();
    await run();
  });
  $("download-report").addEventListener("click", async () => {
    $("status").textContent = "Writing the report…";
    const response = await post("/api/report", { yaml: $("yaml").value, samples: SAMPLES });
    if (!response.ok) { clearErrors(); $("status").textContent = ""; return showErrors(await answer(response), $("errors")); }
    download("aibudget-report.html", "text/html", await response.text());
    $("status").textContent = "Report downloaded.";
  });
  $("share").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); $("status").textContent = "Link copied: it holds the scenario."; }
    catch (error) { $("status").textContent = "Copy this page's address to share it: it holds the scenario."; }
  });
  $("compare-add").addEventListener("click", () => state.body && addToCompare(state.body.estimate.name, state.body.scenario_yaml));
  $("compare-add-example").addEventListener("click", async () => {
    const name = $("compare-example").value;
    busy(true);
    const response = await fetch("/api/examples/" + encodeURIComponent(name));
    addToCompare(name, await response.text());
    busy(false);
  });
  $("compare-list").addEventListener("click", (event) => {
    const remove = event.target.closest("[data-remove]");
    if (!remove) return;
    state.compared.splice(Number(remove.dataset.remove), 1);
    renderCompareList();
    $("compare-add").focus();
  });
  $("compare-run").addEventListener("click", runCompare);

  const params = new URLSearchParams(location.hash.slice(1));
  const shared = params.get("s");
  for (const path of (params.get("hand") || "").split(",").filter(Boolean)) state.byHand.add(path);
  if (shared) {
    $("example").value = "";
    $("yaml").value = decodeURIComponent(escape(atob(shared)));
    await run();
  } else {
    $("example").value = "gpt3-175b";
    await loadExample("gpt3-175b");
  }
  renderCompareList();
  if (window.matchMedia("(min-width: 900px)").matches) $("assumptions-box").open = true;
  document.body.dataset.ready = "yes";
}

let resizing = null;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    for (const [id, spec] of drawn) {
      const target = $(id);
      if (target && spec && String(target.parentElement.clientWidth < 560) !== target.dataset.narrow) draw(target, spec);
    }
  }, 150);
});

init();
})();
