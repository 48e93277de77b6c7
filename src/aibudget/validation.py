"""Predictions against published training runs: ``aibudget validate``.

Each run of a CSV in the schema of ``catalog/data/reference_runs.csv`` is predicted from its
inputs alone (parameters, tokens or FLOPs, the accelerator, the chips, and the PUE and grid
factor the publisher used, which describe the place, not the outcome), never from its own
published chip-hours, wall clock, MFU, energy or cost. Energy is also predicted from the
published chip-hours, which separates the power model's error from the throughput model's.

Three configurations are scored on the same runs:

* ``baseline``: 6·N·D at a fixed 40% MFU (chip-hours only);
* ``defaults``: the sourced defaults of ``constants.csv`` (each with its range);
* ``calibrated``: MFU by accelerator family and average power by kind fitted on the *other*
  runs (leave-one-out, so every figure is out of sample), with the fit's residual spread.

A row that cannot be used, or a measure that cannot be predicted, is listed with its reason.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from aibudget import catalog
from aibudget._errors import AibudgetError, DoesNotFitError, ScenarioError, UnknownNameError
from aibudget._files import MAX_RUNS_BYTES, read_user_text
from aibudget.calibration import Fit, Observation, fit
from aibudget.estimation import Estimate, estimate, summarize
from aibudget.units import SECONDS_PER_HOUR

__all__ = [
    "CONFIGURATIONS",
    "MEASURES",
    "Run",
    "Validation",
    "energy_basis",
    "map_hardware",
    "read_runs",
    "validate",
]

#: What a run's prediction is scored on.
MEASURES = (
    "chip_hours",
    "wall_clock_days",
    "energy_kwh",
    "energy_kwh_from_published_chip_hours",
    "co2e_kg",
    "usd",
)
#: The configurations scored, in the order reported: 6·N·D at 40% MFU; the sourced defaults;
#: MFU fitted on the other runs (the catalog's calibrated default); and MFU and power both
#: fitted (tried, and reported, but not adopted: it does worse out of sample).
CONFIGURATIONS = ("baseline", "defaults", "calibrated", "calibrated_power")
#: The baseline's fixed MFU.
BASELINE_MFU = 0.4
#: PUE assumed where the publisher gives none (large GPU clouds and AI colocation).
DEFAULT_PUE_KEY = "pue.cloud"
#: Columns a runs file must have.
REQUIRED_COLUMNS = (
    "row_id",
    "run_key",
    "name",
    "params_total_count",
    "training_tokens_count",
    "hardware",
    "num_chips",
    "chip_hours",
)


# --------------------------------------------------------------------------- reading


def _number(text: str | None) -> float | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def map_hardware(text: str) -> tuple[str | None, str]:
    """A free-text hardware name ("A100-40GB (AWS SageMaker P4d)") → a catalog accelerator, or
    None with the reason it could not be mapped."""
    raw = (text or "").strip()
    if not raw:
        return None, "no hardware given"
    bare = re.sub(r"\([^)]*\)", " ", raw)
    if re.search(r"\band\b|\bthen\b|/", bare, re.I):
        return None, f"more than one kind of accelerator ({raw!r})"
    bare = " ".join(bare.split())
    try:
        return catalog.accelerator(bare).name, ""
    except UnknownNameError as error:
        hint = f" (closest: {', '.join(error.suggestions)})" if error.suggestions else ""
        return None, f"{bare!r} is not in the catalog{hint}"


def energy_basis(scope: str) -> tuple[str | None, str]:
    """What a published energy counts, from its scope text: ``system`` (measured system power
    with host, times PUE), ``system_before_pue``, ``gpu_measured`` (accelerator power only,
    times PUE) or ``gpu_tdp`` (accelerator-hours × TDP × PUE, a formula of the publisher's);
    None with the reason when it cannot be compared."""
    text = (scope or "").lower()
    if not text.strip():
        return None, "the energy's scope is not stated"
    if "development" in text or "ablation" in text:
        return None, "the energy covers development runs, not the final run"
    if "dynamic" in text:
        return None, "dynamic accelerator energy only (no idle, host or PUE)"
    if "before pue" in text:
        return "system_before_pue", ""
    if "gpu only" in text or "gpu power measured" in text:
        return "gpu_measured", ""
    if "tdp" in text:
        return "gpu_tdp", ""
    if "system power" in text or "kwh x pue" in text:
        return "system", ""
    return None, f"the energy's scope is not recognised ({scope!r})"


@dataclass(frozen=True)
class Run:
    """One published run: its inputs, what was published, and why any of it cannot be used."""

    row_id: str
    run_key: str
    name: str
    year: int | None
    params: float | None  # active parameters (the N of 6·N·D)
    params_total: float | None
    tokens: float | None
    flops: float | None
    hardware: str
    accelerator: str | None
    chips: float | None
    pue: float | None
    grid_g_per_kwh: float | None
    usd_per_chip_hour: float | None
    basis: str | None
    published: Mapping[str, float | None]
    reasons: Mapping[str, str]  # measure → why it is not predicted ("" key: the whole run)
    notes: str = ""
    source_url: str = ""
    source_kind: str = ""

    @property
    def work_flops(self) -> float | None:
        """The run's FLOPs: 6·N·D from its inputs, or its published FLOPs without tokens."""
        if self.params is not None and self.tokens is not None:
            return 6.0 * self.params * self.tokens
        return self.flops


def _run(row: Mapping[str, str]) -> Run:
    total = _number(row.get("params_total_count"))
    active = _number(row.get("params_active_count")) or total
    tokens = _number(row.get("training_tokens_count"))
    flops = _number(row.get("training_flops"))
    accelerator, hardware_reason = map_hardware(row.get("hardware", ""))
    basis, basis_reason = energy_basis(row.get("energy_scope", ""))
    grid = _number(row.get("grid_intensity_kg_per_kwh_used"))
    published: dict[str, float | None] = {
        "chip_hours": _number(row.get("chip_hours")),
        "wall_clock_days": _number(row.get("wall_clock_days")),
        "energy_kwh": (e * 1000.0) if (e := _number(row.get("energy_mwh"))) else None,
        "co2e_kg": (c * 1000.0) if (c := _number(row.get("co2e_tonnes"))) else None,
        "usd": _number(row.get("reported_cost_usd")),
    }
    published["energy_kwh_from_published_chip_hours"] = published["energy_kwh"]
    year_text = (row.get("year") or "").strip()[:4]
    run = Run(
        row_id=row.get("row_id", ""),
        run_key=row.get("run_key", ""),
        name=row.get("name", ""),
        year=int(year_text) if year_text.isdigit() else None,
        params=active,
        params_total=total,
        tokens=tokens,
        flops=flops,
        hardware=row.get("hardware", ""),
        accelerator=accelerator,
        chips=_number(row.get("num_chips")),
        pue=_number(row.get("pue_used")),
        grid_g_per_kwh=grid * 1000.0 if grid is not None else None,
        usd_per_chip_hour=_number(row.get("usd_per_chip_hour")),
        basis=basis,
        published=published,
        reasons={},
        notes=row.get("notes", ""),
        source_url=row.get("source_url", ""),
        source_kind=row.get("source_kind", ""),
    )
    return _with_reasons(run, hardware_reason, basis_reason)


def _with_reasons(run: Run, hardware_reason: str, basis_reason: str) -> Run:
    reasons: dict[str, str] = {}
    acc = catalog.accelerator(run.accelerator) if run.accelerator else None
    if acc is None:
        reasons["chip_hours"] = hardware_reason
    elif run.work_flops is None:
        reasons["chip_hours"] = "neither parameters and tokens nor FLOPs are published"
    if "chip_hours" in reasons:
        reasons["wall_clock_days"] = reasons["chip_hours"]
    elif run.chips is None:
        reasons["wall_clock_days"] = "the number of chips is not published"
    power = ""
    if acc is not None and acc.tdp_w is None:
        power = f"{acc.name} has no published power figure"
    for measure in ("energy_kwh", "energy_kwh_from_published_chip_hours"):
        if acc is None:
            reasons[measure] = hardware_reason
        elif power:
            reasons[measure] = power
        elif run.published["energy_kwh"] is not None and run.basis is None:
            reasons[measure] = basis_reason
    if "energy_kwh" not in reasons and "chip_hours" in reasons:
        reasons["energy_kwh"] = reasons["chip_hours"]
    if run.published["chip_hours"] is None:
        reasons.setdefault("energy_kwh_from_published_chip_hours", "no published chip-hours")
    if run.grid_g_per_kwh is None:
        reasons["co2e_kg"] = "the publisher's grid factor is not given"
    elif "energy_kwh" in reasons:
        reasons["co2e_kg"] = reasons["energy_kwh"]
    if run.usd_per_chip_hour is None:
        reasons["usd"] = "no rate per chip-hour is stated for the published cost"
    elif "chip_hours" in reasons:
        reasons["usd"] = reasons["chip_hours"]
    if run.source_kind.startswith("third_party"):
        reasons[""] = "a third-party estimate, not a figure the run's authors published"
    elif not any(run.published[m] is not None and m not in reasons for m in MEASURES):
        unmet = [
            f"{m}: {reasons[m]}" for m in MEASURES if run.published[m] is not None and m in reasons
        ]
        reasons[""] = (
            "; ".join(unmet)
            if unmet
            else "publishes no outcome to compare (chip-hours, days, energy, CO2e or a priced cost)"
        )
    return dataclasses.replace(run, reasons=reasons)


def read_runs(source: str | Path | None = None) -> list[Run]:
    """The runs of a CSV file (``None``: the packaged reference runs). A file that is not in
    the schema raises :class:`~aibudget.ScenarioError` naming the missing columns."""
    if source is None:
        text = resources.files("aibudget.catalog").joinpath("data", "reference_runs.csv")
        content, where = text.read_text("utf-8"), "reference_runs.csv"
    else:
        path = Path(source)
        content = read_user_text(path, what="runs file", max_bytes=MAX_RUNS_BYTES)
        where = str(path)
    reader = csv.DictReader(io.StringIO(content))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ScenarioError(
            f"{where} is not a runs file: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the schema of reference_runs.csv; `aibudget catalog runs "
            "--json` shows it)"
        )
    return [_run(row) for row in reader]


# --------------------------------------------------------------------------- predicting


def _precision(acc: catalog.Accelerator) -> str:
    return next(p for p in ("bf16", "fp16", "fp32") if p in acc.peak_dense_tflops)


def _observed_mfu(run: Run) -> float | None:
    acc = catalog.accelerator(run.accelerator) if run.accelerator else None
    hours, work = run.published["chip_hours"], run.work_flops
    if acc is None or hours is None or work is None:
        return None
    return work / (acc.peak_flops_per_s(_precision(acc)) * hours * SECONDS_PER_HOUR)


def _observed_power_fraction(run: Run) -> float | None:
    """Average power ÷ (TDP × the family's server power ratio), from a measured system energy."""
    acc = catalog.accelerator(run.accelerator) if run.accelerator else None
    kwh, hours = run.published["energy_kwh"], run.published["chip_hours"]
    if acc is None or acc.tdp_w is None or kwh is None or hours is None:
        return None
    if run.basis not in ("system", "system_before_pue"):
        return None
    pue = 1.0 if run.basis == "system_before_pue" else (run.pue or _default_pue())
    ratio = catalog.constant_for("server_power_ratio", acc.qualifiers, calibrated=False).value
    return kwh * 1000.0 / (hours * pue) / (acc.tdp_w * ratio)


def _default_pue() -> float:
    return catalog.constant(DEFAULT_PUE_KEY).value


def fit_mfu(runs: Iterable[Run]) -> Fit | None:
    """MFU by accelerator family, from the runs that publish chip-hours."""
    observations = [
        Observation(r.row_id, catalog.accelerator(r.accelerator).family, mfu)
        for r in runs
        if r.accelerator and (mfu := _observed_mfu(r)) is not None and 0.01 < mfu < 1.0
    ]
    sourced = catalog.constants()
    priors = {
        key.removeprefix("mfu."): row.value
        for key, row in sourced.items()
        if key.startswith("mfu.")
    }
    return fit(observations, priors) if observations else None


def fit_power(runs: Iterable[Run]) -> Fit | None:
    """The average power fraction by accelerator kind, from measured system energies."""
    observations = [
        Observation(r.row_id, catalog.accelerator(r.accelerator).kind, f)
        for r in runs
        if r.accelerator and (f := _observed_power_fraction(r)) is not None
    ]
    priors = {
        kind: catalog.constant_for("average_power_fraction", (kind,), calibrated=False).value
        for kind in ("gpu", "tpu", "asic")
    }
    return fit(observations, priors) if observations else None


def _range(p10: float, p50: float, p90: float, upper: float = math.inf) -> dict[str, float]:
    return {"p10": min(p10, p50), "p50": p50, "p90": min(max(p90, p50), upper)}


def _scenario(run: Run, mfu: Any, power_fraction: Any) -> dict[str, Any]:
    acc = catalog.accelerator(run.accelerator or "")
    training: dict[str, Any] = {
        "accelerator": acc.name,
        "precision": _precision(acc),
        "chips": int(run.chips) if run.chips else 1_000_000,
        "hardware": "cloud",
        "cloud": {"price_usd_per_chip_hour": run.usd_per_chip_hour or 1.0},
        "mfu": mfu,
    }
    if run.params is not None and run.tokens is not None:
        training["tokens"] = run.tokens
    else:  # without its work only the energy per published chip-hour is predicted
        training["flops"] = run.work_flops or 1e18
    energy: dict[str, Any] = {
        "pue": run.pue or _default_pue(),
        "grid_gco2e_per_kwh": run.grid_g_per_kwh if run.grid_g_per_kwh is not None else 0.0,
    }
    if acc.tdp_w is None:
        energy["system_power_w_per_chip"] = 1.0  # energy is not predicted for this chip
    elif run.basis == "gpu_tdp":
        energy["system_power_w_per_chip"] = acc.tdp_w
    else:
        energy["average_power_fraction"] = power_fraction
        if run.basis == "gpu_measured":
            energy["server_power_ratio"] = 1.0
        if run.basis == "system_before_pue":
            energy["pue"] = 1.0
    params = run.params or (run.work_flops or 6.0) / 6.0
    return {
        "name": f"{run.row_id} {run.name}",
        "model": {"params": params},
        "training": training,
        "energy": energy,
    }


def _estimate(run: Run, mfu: Any, power: Any, samples: int, seed: int) -> Estimate:
    data = _scenario(run, mfu, power)
    try:
        return estimate(data, samples=samples, seed=seed)
    except DoesNotFitError:  # the published chips hold it in ways the memory floor does not see
        data["training"]["chips"] = 1_000_000
        return estimate(data, samples=samples, seed=seed)


def _default_values(run: Run) -> tuple[Any, Any]:
    acc = catalog.accelerator(run.accelerator or "")
    mfu = catalog.constant_for("mfu", acc.qualifiers, calibrated=False)
    power = catalog.constant_for("average_power_fraction", acc.qualifiers, calibrated=False)
    return _as_input(mfu), _as_input(power)


def _as_input(row: catalog.Constant) -> Any:
    d = row.distribution
    return row.value if d is None else {"p10": d.p10, "p50": d.p50, "p90": d.p90}


def _fitted_values(
    run: Run, mfu: Fit | None, power: Fit | None, defaults: tuple[Any, Any]
) -> tuple[Any, Any]:
    """The MFU (and, given a power fit, the average power fraction) fitted for this run's
    accelerator; the defaults where no fit applies."""
    acc = catalog.accelerator(run.accelerator or "")
    mfu_value, power_value = defaults
    if mfu is not None:
        mfu_value = _range(*mfu.quantiles(acc.family), upper=1.0)
    if power is not None and run.basis in ("system", "system_before_pue"):
        power_value = _range(*power.quantiles(acc.kind), upper=1.0)
    return mfu_value, power_value


def _predict(run: Run, est: Estimate) -> dict[str, dict[str, float] | None]:
    out: dict[str, dict[str, float] | None] = dict.fromkeys(MEASURES)
    t = est.training
    if "chip_hours" not in run.reasons:
        out["chip_hours"] = summarize(t["chip_hours"])
        if "wall_clock_days" not in run.reasons:
            out["wall_clock_days"] = summarize(t["wall_clock_days"])
        if "energy_kwh" not in run.reasons:
            out["energy_kwh"] = summarize(t["energy_kwh"])
            if "co2e_kg" not in run.reasons:
                out["co2e_kg"] = summarize(t["co2e_kg"])
        if "usd" not in run.reasons:
            out["usd"] = summarize(t["usd"])
    published_hours = run.published["chip_hours"]
    if "energy_kwh_from_published_chip_hours" not in run.reasons and published_hours:
        per_hour = np.asarray(t["energy_kwh"]) / np.asarray(t["chip_hours"])
        out["energy_kwh_from_published_chip_hours"] = summarize(published_hours * per_hour)
    return out


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class RunResult:
    run: Run
    predicted: Mapping[str, Mapping[str, dict[str, float] | None]]  # configuration → measure → M

    def to_dict(self, configuration: str = "calibrated") -> dict[str, Any]:
        r = self.run
        return {
            "run_key": r.run_key,
            "row_id": r.row_id,
            "name": r.name,
            "accelerator": r.accelerator,
            "predicted": dict(self.predicted[configuration]),
            "predicted_by_configuration": {k: dict(v) for k, v in self.predicted.items()},
            "published": {m: r.published[m] for m in MEASURES},
            "skipped": [
                {"measure": m or "run", "reason": reason}
                for m, reason in r.reasons.items()
                if m == "" or r.published.get(m) is not None
            ],
        }


def _score(results: Sequence[RunResult], configuration: str, measure: str) -> dict[str, Any]:
    pairs = [
        (res, pred, res.run.published[measure])
        for res in results
        if (pred := res.predicted[configuration].get(measure)) is not None
        and res.run.published[measure] is not None
    ]
    if not pairs:
        return {"count": 0}
    errors = np.array([math.log(p["p50"] / float(pub or 1.0)) for _, p, pub in pairs])
    inside = [p["p10"] <= float(pub or 0.0) <= p["p90"] for _, p, pub in pairs]
    worst = sorted(zip(pairs, errors, strict=True), key=lambda x: -abs(x[1]))[:3]
    return {
        "count": len(pairs),
        "median_abs_log_ratio": float(np.median(np.abs(errors))),
        "mean_abs_log_ratio": float(np.mean(np.abs(errors))),
        "median_log_ratio": float(np.median(errors)),
        "share_inside_p10_p90": float(np.mean(inside)),
        "worst": [
            {
                "row_id": res.run.row_id,
                "name": res.run.name,
                "ratio": math.exp(err),
                "reason": _reason(res.run, err),
            }
            for (res, _, _), err in worst
        ],
    }


def _reason(run: Run, log_error: float) -> str:
    direction = "over" if log_error > 0 else "under"
    note = run.notes.split(". ")[0].strip()
    return f"{direction}-predicted {math.exp(abs(log_error)):.2g}×" + (
        f"; the source notes: {note[:160]}" if note else ""
    )


@dataclass(frozen=True)
class Validation:
    """Every run's predictions under each configuration, and the scores."""

    results: tuple[RunResult, ...]
    summary: Mapping[str, Mapping[str, Mapping[str, Any]]]  # configuration → measure → score
    fits: Mapping[str, Fit | None] = field(default_factory=dict)
    samples: int = 0
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "samples": self.samples,
            "runs": [r.to_dict() for r in self.results],
            "summary": {c: dict(v) for c, v in self.summary.items()},
            "fits": {
                name: None
                if f is None
                else {
                    "groups": f.groups,
                    "counts": f.counts,
                    "overall": f.overall,
                    "p10_ratio": f.p10_ratio,
                    "p90_ratio": f.p90_ratio,
                    "runs": list(f.runs),
                }
                for name, f in self.fits.items()
            },
        }


def validate(source: str | Path | None = None, samples: int = 2_000, seed: int = 0) -> Validation:
    """Predict every usable run of ``source`` (the packaged reference runs by default) under
    each configuration and score the predictions against what was published."""
    runs = read_runs(source)
    usable = [r for r in runs if "" not in r.reasons]
    mfu_all, power_all = fit_mfu(usable), fit_power(usable)
    results = []
    for run in runs:
        predicted: dict[str, dict[str, dict[str, float] | None]] = {
            c: dict.fromkeys(MEASURES) for c in CONFIGURATIONS
        }
        if "" not in run.reasons and run.accelerator is not None:
            others = [r for r in usable if r.run_key != run.run_key]
            defaults = _default_values(run)
            mfu_fit = fit_mfu(others)
            configured = {
                "defaults": defaults,
                "calibrated": _fitted_values(run, mfu_fit, None, defaults),
                "calibrated_power": _fitted_values(run, mfu_fit, fit_power(others), defaults),
            }
            try:
                for name, (mfu, power) in configured.items():
                    predicted[name] = _predict(run, _estimate(run, mfu, power, samples, seed))
            except AibudgetError as error:
                run = dataclasses.replace(run, reasons={**run.reasons, "": str(error)})
            else:
                if "chip_hours" not in run.reasons:
                    acc = catalog.accelerator(run.accelerator or "")
                    work = run.work_flops or 0.0
                    hours = work / (acc.peak_flops_per_s(_precision(acc)) * BASELINE_MFU * 3600)
                    predicted["baseline"]["chip_hours"] = summarize(hours)
        results.append(RunResult(run, predicted))
    summary = {c: {m: _score(results, c, m) for m in MEASURES} for c in CONFIGURATIONS}
    return Validation(
        tuple(results),
        summary,
        {"mfu": mfu_all, "average_power_fraction": power_all},
        samples,
        str(source) if source is not None else "reference_runs.csv (packaged)",
    )
