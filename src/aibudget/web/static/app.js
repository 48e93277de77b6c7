// The aibudget planner: the YAML editor holds the scenario; a form field sends its value as an
// override (the CLI's --set) and the server answers with the estimate and the scenario's YAML.
(() => {
"use strict";

const $ = (id) => document.getElementById(id);
const fields = () => Array.from(document.querySelectorAll("[data-path]"));
const samples = 10000;  // as the CLI and the report: the same scenario gives the same numbers
let lastRequest = 0;

function money(v) {
  if (Math.abs(v) >= 1e9) return "$" + (v / 1e9).toPrecision(3) + "B";
  if (Math.abs(v) >= 1e6) return "$" + (v / 1e6).toPrecision(3) + "M";
  if (Math.abs(v) >= 1e4) return "$" + (v / 1e3).toPrecision(3) + "k";
  return "$" + v.toLocaleString("en-US", { maximumFractionDigits: 2 });
}
function energy(kwh) {
  for (const [unit, scale] of [["GWh", 1e6], ["MWh", 1e3]]) {
    if (Math.abs(kwh) >= scale) return (kwh / scale).toPrecision(3) + " " + unit;
  }
  return kwh.toPrecision(3) + " kWh";
}
function carbon(kg) {
  if (Math.abs(kg) >= 1e3) return (kg / 1e3).toPrecision(3) + " tCO2e";
  return kg.toPrecision(3) + " kgCO2e";
}
const SHOW = { usd: money, energy_kwh: energy, co2e_kg: carbon };
// a bill's figure: the mean of the draws (means add up; percentiles do not), with its range
function measure(key, m) {
  const show = SHOW[key];
  if (m.p10 === m.p90) return show(m.mean);
  return `${show(m.mean)} <span class="range">(${show(m.p10)}–${show(m.p90)})</span>`;
}
function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function get(obj, path) {
  return path.split(".").reduce((node, key) => (node == null ? undefined : node[key]), obj);
}

function clearErrors() {
  $("errors").textContent = "";
  for (const el of fields()) el.classList.remove("invalid");
  for (const el of document.querySelectorAll(".field-error")) el.remove();
}

function showErrors(body) {
  const unplaced = [];
  for (const p of body.problems || []) {
    const el = fields().find((f) => p.path === f.dataset.path || p.path.startsWith(f.dataset.path + "."));
    if (el) {
      el.classList.add("invalid");
      const note = document.createElement("div");
      note.className = "field-error";
      note.dataset.for = el.dataset.path;
      note.textContent = p.message;
      el.insertAdjacentElement("afterend", note);
    } else {
      unplaced.push(`${p.path}: ${p.message}`);
    }
  }
  if (unplaced.length || !(body.problems || []).length) $("errors").textContent = unplaced.join("\n") || body.error;
}

async function post(path, payload) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  return response;
}

async function run(overrides = []) {
  const request = ++lastRequest;
  $("status").textContent = "estimating…";
  const response = await post("/api/estimate", { yaml: $("yaml").value, overrides, samples });
  const body = await response.json();
  if (request !== lastRequest) return;  // a newer request is on its way
  clearErrors();
  if (!response.ok) {
    $("status").textContent = "";
    showErrors(body);
    return;
  }
  $("yaml").value = body.scenario_yaml;
  fillForm(body.scenario);
  render(body);
  location.hash = "s=" + encodeURIComponent(btoa(unescape(encodeURIComponent(body.scenario_yaml))));
  $("status").textContent = "";
}

function quantity(value) {
  // 175000000000 → "175B": the way people write sizes (the server reads both)
  if (typeof value !== "number" || Math.abs(value) < 1e6) return String(value);
  for (const [suffix, scale] of [["T", 1e12], ["B", 1e9], ["M", 1e6]]) {
    if (Math.abs(value) >= scale) {
      const n = value / scale;
      return (Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(6)))) + suffix;
    }
  }
  return String(value);
}

function fillForm(scenario) {
  for (const el of fields()) {
    const value = get(scenario, el.dataset.path);
    el.value = value == null ? "" : (typeof value === "object" ? JSON.stringify(value) : quantity(value));
    if (value == null && el.dataset.default) el.value = el.dataset.default;  // the field's default
    el.dataset.shown = el.value;
  }
}

function render(body) {
  const e = body.estimate;
  const totals = $("totals");
  totals.dataset.usd = e.total.usd.mean;
  totals.innerHTML = ["usd", "energy_kwh", "co2e_kg"]
    .map((k) => `<div data-measure="${k}"><span class="dim">${{ usd: "Total cost", energy_kwh: "Energy", co2e_kg: "Carbon" }[k]}</span><b>${SHOW[k](e.total[k].mean)}</b><span class="range">p10–p90 ${SHOW[k](e.total[k].p10)}–${SHOW[k](e.total[k].p90)}</span></div>`)
    .join("");
  for (const name of ["bill", "distribution", "tornado", "traffic"]) {
    const target = $("chart-" + name);
    target.innerHTML = "";
    const spec = body.charts[name];
    if (spec && window.vegaEmbed) window.vegaEmbed(target, spec, { actions: false, renderer: "svg" });
  }
  const rows = ["<tr><th>Phase</th><th class='n'>Cost</th><th class='n'>Energy</th><th class='n'>Carbon</th></tr>"];
  for (const phase of e.phases) {
    rows.push(`<tr><td><b>${esc(phase.name)}</b></td>${["usd", "energy_kwh", "co2e_kg"].map((k) => `<td class="n">${measure(k, phase[k])}</td>`).join("")}</tr>`);
    for (const item of phase.items) {
      rows.push(`<tr><td>&nbsp;&nbsp;${esc(item.name)}</td>${["usd", "energy_kwh", "co2e_kg"].map((k) => `<td class="n">${measure(k, item[k])}</td>`).join("")}</tr>`);
    }
    for (const item of phase.memo || []) {
      rows.push(`<tr class="memo"><td class="dim">&nbsp;&nbsp;memo: ${esc(item.name)}</td><td class="n dim">${money(item.usd.mean)}</td><td class="dim" colspan="2">not in the total</td></tr>`);
    }
  }
  rows.push(`<tr><td colspan="4" class="dim">Each figure is the mean of the draws, so lines add up to their phase and phases to the total; ranges are each figure's own p10–p90.</td></tr>`);
  $("bill").innerHTML = rows.join("");
  $("assumptions").innerHTML =
    "<tr><th>Assumption</th><th class='n'>Value</th><th>What and where from</th></tr>" +
    e.assumptions
      .map((a) => {
        const range = a.distribution ? ` <span class="range">(${a.distribution.p10.toPrecision(3)}–${a.distribution.p90.toPrecision(3)})</span>` : "";
        const source = a.source === "scenario" ? "your scenario" : esc(a.source) + (a.as_of ? ` (${esc(a.as_of)})` : "");
        return `<tr><td>${esc(a.name)}</td><td class="n">${esc(a.value)} ${esc(a.unit)}${range}</td><td>${esc(a.note)}<br><span class="src">${source}</span></td></tr>`;
      })
      .join("");
}

async function loadExample(name) {
  const response = await fetch("/api/examples/" + encodeURIComponent(name));
  $("yaml").value = await response.text();
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
  const select = document.querySelector('[data-path="training.accelerator"]');
  select.innerHTML = accelerators.map((a) => `<option value="${esc(a.name)}">${esc(a.name)}</option>`).join("");
  const names = await (await fetch("/api/examples")).json();
  $("example").innerHTML = names.map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join("");
  $("example").value = "gpt3-175b";

  for (const el of fields()) {
    el.addEventListener("change", () => {
      if (el.value === el.dataset.shown) return;
      run(el.value === "" ? [`${el.dataset.path}=null`] : [`${el.dataset.path}=${el.value}`]);
    });
  }
  $("example").addEventListener("change", () => loadExample($("example").value));
  $("apply-yaml").addEventListener("click", () => run());
  $("download-yaml").addEventListener("click", () => download("scenario.yaml", "text/yaml", $("yaml").value));
  $("upload").addEventListener("change", async () => {
    const file = $("upload").files[0];
    if (!file) return;
    $("yaml").value = await file.text();
    $("upload").value = "";
    await run();
  });
  $("download-report").addEventListener("click", async () => {
    const response = await post("/api/report", { yaml: $("yaml").value, samples });
    if (!response.ok) return showErrors(await response.json());
    download("aibudget-report.html", "text/html", await response.text());
  });
  $("share").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); $("status").textContent = "link copied"; }
    catch (error) { $("status").textContent = "copy this page's address to share it"; }
  });

  const shared = new URLSearchParams(location.hash.slice(1)).get("s");
  if (shared) {
    $("yaml").value = decodeURIComponent(escape(atob(shared)));
    await run();
  } else {
    await loadExample("gpt3-175b");
  }
  document.body.dataset.ready = "yes";
}

init();
})();
