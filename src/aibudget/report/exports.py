"""An estimate in the forms people file: a Hugging Face model card's ``co2_eq_emissions``, the
compute and energy items of the EU General-Purpose AI Code of Practice's Model Documentation
Form, a Software Carbon Intensity (SCI, ISO/IEC 21031:2024) score per functional unit, the JSON
contract and the bill's lines as CSV.

Every field is read from an :class:`~aibudget.estimation.Estimate`; nothing is recomputed but
the arithmetic each standard defines (grams from kilograms, MWh from kWh, SCI's division by R).
A field aibudget cannot know says "not estimated by aibudget", never a guess. docs/exports.md
gives each standard's wording, version and address, and the boundary and method used here.

``model_card``, ``eu_gpai`` and ``sci`` return the fields as plain data (ranges as
``{mean, p10, p50, p90}``); :func:`render` writes any format as the text the CLI prints.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aibudget import catalog
from aibudget._errors import ScenarioError, UnknownNameError
from aibudget._files import csv_cell
from aibudget._record import record
from aibudget._version import __version__
from aibudget.estimation.contract import Estimate, mean_of, summarize
from aibudget.model.compute import FORWARD_FLOPS_PER_PARAM
from aibudget.units import parse_quantity

__all__ = [
    "EU_GPAI_FORM",
    "FORMATS",
    "HF_MODEL_CARD",
    "SCI_SPEC",
    "TRAINING_TYPES",
    "FunctionalUnit",
    "bill_csv",
    "eu_gpai",
    "model_card",
    "parse_functional_unit",
    "render",
    "sci",
]

Array = NDArray[np.float64]

#: The formats :func:`render` writes, as ``aibudget export --format`` names them.
FORMATS = ("model-card", "eu-gpai", "sci", "json", "csv")
#: The values the Hugging Face Hub documents for ``co2_eq_emissions.training_type``.
TRAINING_TYPES = ("pre-training", "fine-tuning")

#: The standards, as cited in every export and in docs/exports.md.
HF_MODEL_CARD = (
    "Hugging Face Hub documentation, 'Displaying carbon emissions for your model' "
    "(https://huggingface.co/docs/hub/model-cards-co2, as read 2026-12-02)"
)
EU_GPAI_FORM = (
    "General-Purpose AI Code of Practice, Transparency chapter, Model Documentation Form "
    "(published 2025-07-10; https://digital-strategy.ec.europa.eu/en/policies/contents-code-gpai)"
    ", for Article 53(1)(a) and Annex XI 2(d)-(e) of Regulation (EU) 2024/1689"
)
SCI_SPEC = (
    "Software Carbon Intensity (SCI) specification, ISO/IEC 21031:2024, Green Software "
    "Foundation (https://github.com/Green-Software-Foundation/sci, SPEC.md version 1.1.0)"
)

#: Kilograms to grams, kWh to MWh, hours per day, days per month (365.25 / 12).
_G_PER_KG = 1000.0
_KWH_PER_MWH = 1000.0
_HOURS_PER_DAY = 24.0
_DAYS_PER_MONTH = 365.25 / 12
#: Article 51(2) of the AI Act: high-impact capabilities are presumed above this many FLOPs.
_SYSTEMIC_RISK_FLOPS = 1e25
#: The form's training-time ranges (months) for national competent authorities.
_TIME_RANGES = ((1.0, "less than 1 month"), (3.0, "1-3 months"), (6.0, "3-6 months"))
_NOT_ESTIMATED = "not estimated by aibudget"


class _Range(dict[str, float]):
    """A measure's ``{mean, p10, p50, p90}``: a plain dict, written on one line in YAML."""


def _range(values: Array | float) -> _Range:
    return _Range(summarize(values))


# --------------------------------------------------------------------------- formatting


def _sig(value: float, digits: int = 2) -> str:
    """``value`` to ``digits`` significant figures, as a form wants it: 2,100, 0.40, 21 or
    3.2 × 10^23 (powers of ten outside 10^-3 … 10^6)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    power = int(exponent)
    if -3 <= power < 6:
        decimals = max(0, digits - 1 - power)
        return f"{float(mantissa) * 10.0**power:,.{decimals}f}"
    return f"{mantissa} × 10^{power}"


def _spread(r: Mapping[str, float], unit: str, digits: int = 2) -> str:
    """``mean unit (p10 low, p90 high)``, or the one value when nothing is uncertain."""
    text = f"{_sig(r['mean'], digits)} {unit}"
    if r["p10"] == r["p90"]:
        return text
    return f"{text} (p10 {_sig(r['p10'], digits)}, p90 {_sig(r['p90'], digits)})"


def _draws(est: Estimate) -> str:
    if est.samples <= 1:
        return "the point estimate (every assumption at its median)"
    return f"the mean of {est.samples:,} Monte Carlo draws (seed {est.seed})"


def _estimated_by(est: Estimate) -> str:
    return (
        f"aibudget {__version__}, scenario {est.name!r}: modelled, not measured; "
        f"{_draws(est)}, p10-p90 beside it"
    )


def _hardware(est: Estimate) -> str:
    t = est.scenario.training
    assert t is not None
    chips = round(float(np.median(est.training.chips)))
    return f"{chips} x {t.accelerator}"


def _value(est: Estimate, name: str) -> float | None:
    try:
        value = est.assumption(name).value
    except KeyError:
        return None
    return float(value) if isinstance(value, int | float) else None


def _inputs_text(est: Estimate, figure: str) -> tuple[str, str]:
    """An explained figure's formula and its inputs with their values ("N = model.params
    (1.75e+11)")."""
    for e in est.explanations:
        if e.figure == figure:
            parts = []
            for symbol, name in e.inputs:
                value = _value(est, name)
                parts.append(
                    f"{symbol} = {name}" + (f" ({value:.4g})" if value is not None else "")
                )
            return e.formula, ", ".join(parts)
    return "", ""


def _location(est: Estimate) -> str:
    """Where the training electricity came from: the grid table's place, or what is known."""
    for name in ("energy.location", "energy.location [training]"):
        try:
            code = est.assumption(name).value
        except KeyError:
            continue
        try:
            row = catalog.grid_intensity(str(code))
        except UnknownNameError:
            return str(code)
        return f"{row.name}, {row.code}" if "(" in row.name else f"{row.name} ({row.code})"
    grid = _value(est, "energy.grid_gco2e_per_kwh")
    return "not given in the scenario" + (
        f" (its grid intensity, {grid:g} gCO2e/kWh, is given directly)" if grid else ""
    )


# --------------------------------------------------------------------------- model card


def _training_type(est: Estimate, given: str | None) -> tuple[str, str]:
    """The model card's training_type and why: as given, else from training.method."""
    t = est.scenario.training
    assert t is not None
    if given is not None:
        if given not in TRAINING_TYPES:
            raise ScenarioError(
                f"--training-type {given!r} is not one of {', '.join(TRAINING_TYPES)} "
                "(the values the Hugging Face Hub documents)"
            )
        return given, "as given"
    if t.method == "lora":
        return "fine-tuning", "training.method is lora"
    return "pre-training", "training.method is full (pass --training-type fine-tuning if not)"


def _training_only(est: Estimate, what: str) -> None:
    if est.scenario.training is None:
        raise ScenarioError(
            f"{est.name!r} has no training section: {what} describes a training run, and this "
            "scenario only serves a model"
        )


def model_card(est: Estimate, training_type: str | None = None) -> dict[str, Any]:
    """The Hugging Face model card's ``co2_eq_emissions`` metadata for the scenario's final
    training run: ``emissions`` in grams CO2e (the training phase's mean, three significant
    figures), ``source``, ``training_type`` (``training_type`` or, by default, fine-tuning for
    ``training.method: lora`` and pre-training otherwise), ``geographical_location`` and
    ``hardware_used``. Raises :class:`~aibudget.ScenarioError` for a scenario without training."""
    _training_only(est, "a model card's co2_eq_emissions")
    grams = _range(est.phase("training").measure("co2e_kg") * _G_PER_KG)
    kind, _ = _training_type(est, training_type)
    source = (
        f"aibudget {__version__} estimate (modelled, not measured): the final training run, "
        "chip-hours × power per chip × PUE × location-based grid intensity; "
        f"{_draws(est)}"
        + (
            f", p10 {_sig(grams['p10'], 3)} g, p90 {_sig(grams['p90'], 3)} g"
            if est.samples > 1
            else ""
        )
    )
    return {
        "co2_eq_emissions": {
            "emissions": float(f"{grams['mean']:.3g}"),
            "source": source,
            "training_type": kind,
            "geographical_location": _location(est),
            "hardware_used": _hardware(est),
        }
    }


def _render_model_card(est: Estimate, training_type: str | None) -> str:
    block = model_card(est, training_type)
    _, why = _training_type(est, training_type)
    experiments = mean_of(est.phase("experiments").measure("co2e_kg"))
    tonnes = _range(est.phase("training").measure("co2e_kg") / _G_PER_KG)
    lines = [
        f"co2_eq_emissions of {est.name}, estimated by aibudget {__version__}. Paste into the "
        "model card's README.md metadata, between its two --- lines. Fields as documented by "
        + HF_MODEL_CARD
        + ".",
        f"emissions: grams CO2e of the final training run; {_spread(tonnes, 'tCO2e', 3)}.",
        f"training_type: {why}.",
    ]
    if experiments > 0:
        lines.append(
            f"Not included: experiments before the final run, {_sig(experiments / 1e3, 3)} "
            "tCO2e (aibudget export --format csv lists them)."
        )
    embodied = mean_of(est.phase("training").measure("embodied_co2e_kg"))
    if embodied > 0:
        lines.append(
            f"Not included: the hardware's embodied (manufacturing) carbon for the run, "
            f"{_sig(embodied / 1e3, 3)} tCO2e (aibudget export --format sci adds it)."
        )
    return _comment(*lines) + _yaml(block)


# --------------------------------------------------------------------------- EU GPAI


def _time_range(days: float) -> str:
    months = days / _DAYS_PER_MONTH
    for limit, label in _TIME_RANGES:
        if months < limit:
            return label
    return "more than 6 months"


def _training_items(est: Estimate) -> dict[str, Any]:
    t = est.training
    days, flops = _range(t.wall_clock_days), _range(t.flops)
    chip_days = _range(np.asarray(t.chip_hours) / _HOURS_PER_DAY)
    facility = np.asarray(t.energy_kwh) / _KWH_PER_MWH
    it = np.asarray(t.chip_hours) * np.asarray(t.system_power_w_per_chip) / 1e6
    mwh, it_mwh = _range(facility), _range(it)
    pue = _value(est, "energy.pue")
    flops_formula, flops_inputs = _inputs_text(est, "training.flops")
    power_formula, power_inputs = _inputs_text(est, "training.system_power_w_per_chip")
    ranges = list(dict.fromkeys((_time_range(days["p10"]), _time_range(days["p90"]))))
    hardware = _hardware(est)
    experiments_mwh = mean_of(est.phase("experiments").measure("energy_kwh")) / 1e3
    order = math.floor(math.log10(flops["mean"])) if flops["mean"] > 0 else 0
    energy: dict[str, Any] = {
        "item": "Amount of energy used for training",
        "unit": "MWh",
        "value_mwh": mwh,
        "reported": _spread(mwh, "MWh"),
        "boundary": "the whole facility: the accelerators, their servers' share of host power "
        "(CPUs, memory, networking: the server power ratio) and the data centre's overhead "
        f"(PUE{f' {pue:g}' if pue else ''}); the IT equipment alone is it_equipment_mwh",
        "it_equipment_mwh": it_mwh,
        "measurement_methodology": "estimated, not measured: energy = chip-hours × power per "
        f"chip × PUE, power per chip = {power_formula} ({power_inputs}); chip-hours from the "
        "training computation at the MFU. No delegated act under Article 53(5) yet sets a "
        "method.",
    }
    if experiments_mwh > 0:
        energy["not_included"] = (
            f"experiments before the final run (ablations, failed runs, restarts): "
            f"{_sig(experiments_mwh)} MWh, billed under 'experiments'"
        )
    return {
        "training_time": {
            "item": "Training time",
            "wall_clock_days": days,
            "hardware_days": chip_days,
            "hardware": hardware,
            "duration_range": _time_range(days["mean"])
            + (f" (p10 to p90: {' to '.join(ranges)})" if len(ranges) > 1 else ""),
            "reported": f"{_spread(days, 'days')} of wall clock on {hardware}: "
            f"{_spread(chip_days, 'chip-days')}",
            "methodology": "chip-hours = training FLOPs / (chips' dense peak FLOP/s × MFU); "
            "wall clock = chip-hours / chips / 24",
        },
        "amount_of_computation_used_for_training": {
            "item": "Amount of computation used for training",
            "unit": "FLOPs",
            "value_flops": flops,
            "reported": _spread(flops, "FLOPs"),
            "order_of_magnitude": f"10^{order} FLOPs",
            "methodology": f"counted from the architecture: {flops_formula} ({flops_inputs}); "
            "the final training run only",
            "note": f"Article 51(2) presumes high-impact capabilities above 10^25 FLOPs of "
            f"cumulative training computation; this run's {_sig(flops['mean'])} FLOPs are "
            + ("above" if flops["mean"] > _SYSTEMIC_RISK_FLOPS else "below")
            + " it (cumulative computation, with earlier models and experiments, "
            + _NOT_ESTIMATED
            + ")",
        },
        "amount_of_energy_used_for_training": energy,
    }


def _served_active_params(est: Estimate) -> float | None:
    """The served model's active parameters, as the serving model takes them."""
    s, m = est.scenario.serving, est.scenario.model
    if s is None or s.mode == "api" or m is None:
        return None
    if s.active_params is not None:
        return float(s.active_params)
    if s.params is not None:
        return float(s.params)
    return float(m.active_params if m.active_params is not None else m.params)


def _inference_item(est: Estimate) -> dict[str, Any]:
    item = "Benchmarked amount of computation used for inference"
    s = est.scenario.serving
    active = _served_active_params(est)
    if s is None or active is None:
        why = "the scenario has no serving section" if s is None else "a hosted API's model"
        return {"item": item, "value": f"{_NOT_ESTIMATED} ({why})"}
    per_token = FORWARD_FLOPS_PER_PARAM * active
    tokens = float(s.input_tokens_per_request + s.output_tokens_per_request)
    per_request = per_token * tokens
    assert est.serving is not None  # a serving section that is not an API
    chips = round(float(np.median(est.serving.chips_per_replica)))
    accelerator = s.accelerator or (est.scenario.training and est.scenario.training.accelerator)
    return {
        "item": item,
        "unit": "FLOPs",
        "flops_per_token": per_token,
        "flops_per_request": per_request,
        "reported": f"{_sig(per_token)} FLOPs per token; {_sig(per_request)} FLOPs per request "
        f"of {s.input_tokens_per_request:g} input and {s.output_tokens_per_request:g} output "
        "tokens",
        "measurement_methodology": f"calculated, not benchmarked: {FORWARD_FLOPS_PER_PARAM:g} × "
        f"active parameters ({active:.3g}) per token, the forward pass's matrix multiplies "
        "(attention over the context is left out); the task: one request at the scenario's "
        f"median tokens; the hardware: one replica of {chips} x {accelerator}",
    }


def eu_gpai(est: Estimate) -> dict[str, Any]:
    """The compute and energy items of the Code of Practice's Model Documentation Form: training
    time, computation used for training (FLOPs), energy used for training (MWh, with its
    boundary and method) and computation used for inference (FLOPs per token and per request)
    where the scenario serves a model of its own. Every range is ``{mean, p10, p50, p90}``; an
    item aibudget cannot know says so."""
    out: dict[str, Any] = {
        "form": EU_GPAI_FORM,
        "scenario": est.name,
        "estimated_by": _estimated_by(est),
    }
    if est.scenario.training is None:
        out["training"] = f"{_NOT_ESTIMATED} (the scenario has no training section)"
    else:
        out.update(_training_items(est))
    out["benchmarked_amount_of_computation_used_for_inference"] = _inference_item(est)
    out["not_estimated_by_aibudget"] = [
        "every item outside computational resources and energy consumption (general "
        "information, model properties, distribution and licences, use, integration, the "
        "training process, the data used for training, testing and validation): aibudget "
        "estimates compute, time, energy, carbon and cost only",
    ]
    return out


# --------------------------------------------------------------------------- SCI

_UNIT_WORDS = {
    "request": "request",
    "requests": "request",
    "token": "token",
    "tokens": "token",
    "training run": "training run",
    "training runs": "training run",
    "run": "training run",
    "runs": "training run",
}
_SCALE_WORDS = {"a": 1.0, "one": 1.0, "thousand": 1e3, "million": 1e6, "billion": 1e9}
_PER_HELP = (
    "write a number and a unit, e.g. '1000 requests', '1 request', '1M tokens', "
    "'million tokens' or 'training run' (units: request, token, training run)"
)


@record
class FunctionalUnit:
    """SCI's R: ``size`` of ``unit`` (request, token or training run), e.g. 1,000 requests."""

    size: float
    unit: str

    @property
    def label(self) -> str:
        if self.unit == "training run":
            return "training run"
        count = f"{self.size:,.0f}" if self.size == int(self.size) else f"{self.size:g}"
        return f"{count} {self.unit}{'' if self.size == 1 else 's'}"


def parse_functional_unit(text: str) -> FunctionalUnit:
    """Read ``--per``: '1000 requests', '1 request', '1M tokens', 'million tokens', '1,000
    requests', 'training run'. Raises :class:`~aibudget.ScenarioError` naming the valid forms."""
    words = " ".join(str(text).split())
    match = re.fullmatch(
        r"(?:per\s+)?(?P<count>.*?)\s*(?P<unit>training runs?|runs?|requests?|tokens?)",
        words,
        re.IGNORECASE,
    )
    if match is None:
        raise ScenarioError(f"--per {text!r} names no functional unit; {_PER_HELP}")
    count = match["count"].strip()
    if count == "":
        size = 1.0
    elif count.lower() in _SCALE_WORDS:
        size = _SCALE_WORDS[count.lower()]
    else:
        try:
            size = parse_quantity(count)
        except ValueError:
            raise ScenarioError(f"--per {text!r}: {count!r} is not a number; {_PER_HELP}") from None
    unit = _UNIT_WORDS[match["unit"].lower()]
    if not size > 0:
        raise ScenarioError(f"--per {text!r}: the count must be above 0; {_PER_HELP}")
    if unit == "training run" and size != 1:
        raise ScenarioError(f"--per {text!r}: SCI per training run counts one run; {_PER_HELP}")
    return FunctionalUnit(size, unit)


#: The phases inside SCI's boundary, by functional unit.
_BOUNDARY = {
    "training run": ("data", "training", "experiments"),
    "request": ("data", "training", "experiments", "people", "deployment", "maintenance"),
    "token": ("data", "training", "experiments", "people", "deployment", "maintenance"),
}


def _has_measure(est: Estimate, key: str) -> bool:
    return any(key in item.measures for phase in est.phases for item in phase.items)


def _functional_units(est: Estimate, per: FunctionalUnit) -> tuple[Array, str]:
    """R: the functional units the boundary's emissions are spread over, and what was counted."""
    if per.unit == "training run":
        _training_only(est, "SCI per training run")
        return np.ones(1), "one final training run (with its data and experiments)"
    f = est.serving
    if f is None:
        served = np.zeros(1)
    else:
        served = f.requests_over_horizon if per.unit == "request" else f.tokens_over_horizon
    if f is None or float(np.min(served)) <= 0:
        raise ScenarioError(
            f"{est.name!r} serves no {per.unit}s (no serving section, or no traffic): SCI per "
            f"{per.unit} needs serving.requests_per_day above 0; use --per 'training run' for "
            "the training alone"
        )
    what = "requests" if per.unit == "request" else "input and output tokens"
    return served / per.size, f"{what} served over the {est.horizon_years:g}-year horizon"


def sci(est: Estimate, per: FunctionalUnit | str | None = None) -> dict[str, Any]:
    """The Software Carbon Intensity per functional unit ``per`` (default: 1,000 requests when
    the scenario serves, else one training run): SCI = ((E × I) + M) per R, per component (the
    bill's phases inside the boundary) and summed. E is the boundary's energy (kWh), I the
    location-based grid intensity it was drawn at (gCO2e/kWh; the estimate's carbon is
    location-based), M the embodied emissions of its hardware (gCO2e) where the estimate carries
    ``embodied_co2e_kg``, else "not estimated" and left out of the score, and R the functional
    units over the horizon. Each figure is summarised over the same draws."""
    if per is None:
        per = "1000 requests" if est.serving and est.scenario.serving else "training run"
    unit = per if isinstance(per, FunctionalUnit) else parse_functional_unit(per)
    r, counted = _functional_units(est, unit)
    has_m = _has_measure(est, "embodied_co2e_kg")
    components = []
    total_e = total_o = total_m = np.zeros(1)
    for name in _BOUNDARY[unit.unit]:
        phase = est.phase(name)
        e = np.asarray(phase.measure("energy_kwh"), float)
        o = np.asarray(phase.measure("co2e_kg"), float) * _G_PER_KG
        m = np.asarray(phase.measure("embodied_co2e_kg"), float) * _G_PER_KG
        if not (np.any(e > 0) or np.any(o > 0) or np.any(m > 0)):
            continue
        total_e, total_o, total_m = total_e + e, total_o + o, total_m + m
        components.append(_component(name, e, o, m if has_m else None, r))
    score = (total_o + (total_m if has_m else 0.0)) / r
    label = unit.label
    out: dict[str, Any] = {
        "standard": SCI_SPEC,
        "formula": "SCI = ((E × I) + M) per R",
        "scenario": est.name,
        "estimated_by": _estimated_by(est),
        "functional_unit": label,
        "unit": f"gCO2e per {label}",
        "sci": _range(score),
        "reported": _spread(_range(score), f"gCO2e per {label}", 3)
        + ("" if has_m else ", operational only (M not estimated)"),
        "E_kwh": _range(total_e),
        "I_gco2e_per_kwh": _intensity(total_o, total_e),
        "M_gco2e": _range(total_m) if has_m else "not estimated",
        "R": {"functional_units": _range(r), "counted": counted},
        "components": components,
        "boundary": "the phases of the bill listed in components: every line with energy "
        + (
            "(data work, the final run, experiments before it, serving and retraining over the "
            "horizon), the training amortised over the units served"
            if unit.unit != "training run"
            else "(data work, the final training run and the experiments before it)"
        )
        + "; E includes the data centre's overhead (PUE), as SCI asks",
        "method": "calculation (models), not measurement: E = each line's modelled energy "
        "(chip-hours × power per chip × PUE for accelerators, core-hours × W per core × PUE for "
        "data cleaning, Wh per token for a hosted API; aibudget estimate --explain shows each); "
        "I = the location-based grid intensity of each line (no market-based measures, as SCI "
        "requires); "
        + (
            "M = each line's embodied_co2e_kg (the hardware's manufacturing emissions amortised "
            "over its service life, time- and resource-share)"
            if has_m
            else "M is not estimated by this version of aibudget, so the score is (E × I) per R "
            "and understates SCI by the hardware's embodied emissions"
        ),
    }
    return out


def _intensity(o: Array, e: Array) -> _Range | str:
    """I = O / E per draw: the energy-weighted grid intensity (one value when every line of
    every draw is on one grid, its rounding noise removed)."""
    if not np.all(e > 0):
        return "no energy in the boundary"
    ratio = o / e
    if np.allclose(ratio, ratio.flat[0], rtol=1e-12, atol=0):
        return _range(float(f"{float(np.mean(ratio)):.12g}"))
    return _range(ratio)


def _component(name: str, e: Array, o: Array, m: Array | None, r: Array) -> dict[str, Any]:
    return {
        "component": name,
        "E_kwh": _range(e),
        "I_gco2e_per_kwh": _intensity(o, e),
        "M_gco2e": _range(m) if m is not None else "not estimated",
        "sci": _range((o + (m if m is not None else 0.0)) / r),
    }


# --------------------------------------------------------------------------- CSV and JSON

#: Units of the measures line items carry.
_UNITS = {
    "usd": "USD",
    "energy_kwh": "kWh",
    "co2e_kg": "kgCO2e",
    "chip_hours": "chip-hours",
    "embodied_co2e_kg": "kgCO2e",
    "water_l": "L",
    "co2e_market_kg": "kgCO2e",
}
CSV_COLUMNS = ("phase", "item", "kind", "measure", "unit", "mean", "p10", "p50", "p90")


def bill_csv(est: Estimate) -> str:
    """The bill's lines as CSV, one row per line and measure: phase, item, kind (``item``, or
    ``memo`` for capital shown beside the bill and never summed), measure, unit, mean, p10, p50,
    p90. Every cell goes through :func:`~aibudget._files.csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for phase in est.phases:
        for kind, items in (("item", phase.items), ("memo", phase.memo)):
            for item in items:
                for measure, values in item.measures.items():
                    s = summarize(values)
                    unit = _UNITS.get(measure, measure.rsplit("_", 1)[-1])
                    row = (phase.name, item.name, kind, measure, unit, *s.values())
                    writer.writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue()


# --------------------------------------------------------------------------- rendering


def _comment(*paragraphs: str) -> str:
    """YAML comment lines, each paragraph wrapped at 98 columns."""
    import textwrap

    return "".join(
        "".join(f"# {line}\n" for line in textwrap.wrap(p, 96, break_on_hyphens=False))
        for p in paragraphs
    )


def _yaml(data: Any) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def flow(dumper: yaml.SafeDumper, value: _Range) -> yaml.Node:
        return dumper.represent_mapping("tag:yaml.org,2002:map", dict(value), flow_style=True)

    Dumper.add_representer(_Range, flow)
    text: str = yaml.dump(
        data,
        Dumper=Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return text


def render(
    est: Estimate,
    form: str,
    *,
    per: FunctionalUnit | str | None = None,
    training_type: str | None = None,
) -> str:
    """``est`` as the text of ``form`` (one of :data:`FORMATS`): YAML for model-card, eu-gpai
    and sci, the JSON contract for json, the bill's lines for csv."""
    if form not in FORMATS:
        raise ScenarioError(f"unknown export format {form!r}; use one of {', '.join(FORMATS)}")
    if per is not None and form != "sci":
        raise ScenarioError(
            f"--per sets SCI's functional unit; it applies to --format sci, not {form}"
        )
    if training_type is not None and form != "model-card":
        raise ScenarioError(f"--training-type applies to --format model-card, not {form}")
    if form == "model-card":
        return _render_model_card(est, training_type)
    if form == "eu-gpai":
        head = _comment(
            f"The compute and energy items of the {EU_GPAI_FORM}, for {est.name}.",
            "Each item's 'reported' line is written to the precision the form asks; ranges are "
            "{mean, p10, p50, p90}.",
        )
        return head + _yaml({"model_documentation_form": eu_gpai(est)})
    if form == "sci":
        return _yaml({"software_carbon_intensity": sci(est, per)})
    if form == "json":
        return json.dumps(est.to_dict(), indent=2, ensure_ascii=False) + "\n"
    return bill_csv(est)
