"""Predictions against published training runs: ``aibudget validate``.

Each run of a runs file (:mod:`aibudget.catalog.runs`; the packaged ``reference_runs.csv`` and
``epoch_runs.csv`` by default) is predicted from its inputs alone (parameters, tokens or
FLOPs, the accelerator, the chips, and the PUE and grid factor the publisher used, which
describe the place, not the outcome), never from its own published chip-hours, wall clock,
energy or cost. Energy is also predicted from the published chip-hours, which separates the
power model's error from the throughput model's.

The configurations scored:

* ``shipped``: what ``aibudget estimate`` gives by default (the fitted MFU model of
  ``catalog/data/mfu_model.csv``, its residual spread as the range). On the packaged runs it is
  in sample (they are what it was fitted on); on a file of your own it is the tool's error;
* ``leave_one_out``: the shipped model's form refitted without the run (every row of its
  ``run_key``), with a p10–p90 from residuals cross-validated without it too: out of sample.
  On the packaged runs always; on a file of your own with ``refit=True``;
* ``by_organisation``: the same, refitted without every run of the run's organisation (the
  packaged runs only), so a lab's runs never predict each other;
* ``defaults``: the sourced single-paper MFU of ``constants.csv`` per family, with its range;
* ``baseline``: 6·N·D at a fixed 40% MFU (chip-hours only).

Every configuration goes through the estimate's own model: the runs are evaluated together, as
arrays of (runs × draws), by :func:`aibudget.model.training.training_run` on the inputs the
estimate would resolve, with the estimate's own random draws (:func:`predict`); a test checks
that this equals :func:`aibudget.estimate` run by run. A row that cannot be used, or a measure
that cannot be predicted, is listed with its reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from aibudget import catalog
from aibudget._quantiles import DECILES, deciles, lerp, order_indexes
from aibudget._record import record
from aibudget._shown import ShownAsTheCli, require_pandas
from aibudget.assumptions import Distribution, MonteCarlo
from aibudget.catalog import mfu as fitted_mfu
from aibudget.catalog.packs import layered
from aibudget.catalog.runs import (
    MEASURES,
    Run,
    energy_basis,
    map_hardware,
    observed_mfu,
    read_runs,
    reference_peak_flops_per_s,
)
from aibudget.catalog.runs import accelerator as _accelerator
from aibudget.model.calibration import HeldOut, MfuModel, Observation, Target, features, held_out
from aibudget.model.training import TrainingInputs, training_run
from aibudget.model.utilisation import REFERENCE_CHIPS, fp8_peak_flops_per_s

if TYPE_CHECKING:
    import pandas as pd

    from aibudget.estimation.contract import Estimate

__all__ = [
    "CONFIGURATIONS",
    "MEASURES",
    "Run",
    "Validation",
    "energy_basis",
    "estimate_run",
    "map_hardware",
    "observations",
    "predict",
    "read_runs",
    "validate",
]

Array = NDArray[np.float64]
Summary = dict[str, float]

#: Every configuration, in the order reported.
CONFIGURATIONS = ("shipped", "leave_one_out", "by_organisation", "defaults", "baseline")
#: The baseline's fixed MFU.
BASELINE_MFU = 0.4
#: PUE assumed where the publisher gives none (large GPU clouds and AI colocation).
DEFAULT_PUE_KEY = "pue.cloud"
#: The chips a run is given when none are published: the utilisation model's reference scale,
#: which is what an unknown chip count means to it (its wall clock is not predicted then).
UNKNOWN_CHIPS = int(REFERENCE_CHIPS)
#: Draws evaluated at once: (runs in a chunk) × samples stays under this many elements.
CHUNK_ELEMENTS = 200_000
#: The measures whose prediction needs the power model.
_ENERGY = ("energy_kwh", "energy_kwh_from_published_chip_hours", "co2e_kg")


# --------------------------------------------------------------------------- the MFU fit


def priors() -> tuple[dict[str, float], float]:
    """The sourced MFU per family (``constants.csv``) the fit shrinks toward, and the value for
    a family without one."""
    sourced = catalog.constants()
    by_family = {
        key.removeprefix("mfu."): row.value
        for key, row in sourced.items()
        if key.startswith("mfu.")
    }
    return by_family, sourced["mfu"].value


def _family(run: Run) -> str:
    return _accelerator(run.accelerator or "").family


def _size(run: Run) -> float | None:
    return run.params if run.active_known else None


def observations(runs: Sequence[Run]) -> list[Observation]:
    """The runs the MFU model is fitted on: usable, with chip-hours that can be predicted, in
    16-bit precision (an FP8 run is predicted, not fitted), and an effective MFU of at most 1."""
    out = []
    for run in runs:
        if "" in run.reasons or "chip_hours" in run.reasons or run.precision == "fp8":
            continue
        mfu = observed_mfu(run)
        if mfu is None or not 0.0 < mfu <= 1.0:
            continue
        log_params, log_chips = features(_size(run), run.chips)
        out.append(
            Observation(
                run=run.row_id,
                group=run.run_key,
                organisation=run.organisation_key,
                family=_family(run),
                log_params=log_params,
                log_chips=log_chips,
                mfu=mfu,
                name=run.name,
                params=_size(run),
                chips=run.chips,
            )
        )
    return out


def _target(run: Run) -> Target:
    return Target(run.run_key, run.organisation_key, _family(run), *features(_size(run), run.chips))


# --------------------------------------------------------------------------- MFU inputs


@record
class MfuInput:
    """The MFU a configuration gives a run: the estimate's default (``None`` quantiles), a
    range, or a fixed value."""

    quantiles: tuple[float, float, float] | None = None  # p10, p50, p90

    def scenario_value(self) -> Any:
        if self.quantiles is None:
            return None
        p10, p50, p90 = self.quantiles
        if p10 == p50 == p90:
            return p50
        return {"p10": p10, "p50": p50, "p90": min(p90, 1.0)}


def _clipped(q: tuple[float, float, float]) -> tuple[float, float, float]:
    p10, p50, p90 = q
    p50 = min(p50, 1.0)
    return min(p10, p50), p50, min(max(p90, p50), 1.0)


def _defaults_input(run: Run) -> MfuInput:
    row = catalog.constant_for("mfu", _accelerator(run.accelerator or "").qualifiers, False)
    d = row.distribution
    return MfuInput((row.value,) * 3 if d is None else _clipped((d.p10, d.p50, d.p90)))


def _held_input(h: HeldOut) -> MfuInput:
    return MfuInput(_clipped(h.quantiles()))


# --------------------------------------------------------------------------- the scenario


def _precision(run: Run, acc: catalog.Accelerator) -> str:
    if run.precision == "fp8" and "fp8" in acc.peak_dense_tflops:
        return "fp8"
    if run.precision == "fp32" and not {"bf16", "fp16"} & set(acc.peak_dense_tflops):
        return "fp32"
    return next(p for p in ("bf16", "fp16", "fp32") if p in acc.peak_dense_tflops)


def _default_pue() -> float:
    return catalog.constant(DEFAULT_PUE_KEY).value


def _params(run: Run) -> float:
    return run.params or (run.work_flops or 6.0) / 6.0


def scenario(run: Run, mfu: MfuInput) -> dict[str, Any]:
    """The scenario whose estimate is the run's prediction under ``mfu``."""
    acc = _accelerator(run.accelerator or "")
    training: dict[str, Any] = {
        "accelerator": acc.name,
        "precision": _precision(run, acc),
        "chips": int(run.chips) if run.chips else UNKNOWN_CHIPS,
        "hardware": "cloud",
        "cloud": {"price_usd_per_chip_hour": run.usd_per_chip_hour or 1.0},
    }
    value = mfu.scenario_value()
    if value is not None:
        training["mfu"] = value
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
    elif run.basis == "gpu_measured":
        energy["server_power_ratio"] = 1.0
    elif run.basis == "system_before_pue":
        energy["pue"] = 1.0
    return {
        "name": f"{run.row_id} {run.name}"[:200],
        "model": {"params": _params(run)},
        "training": training,
        "energy": energy,
    }


def estimate_run(run: Run, mfu: MfuInput, samples: int, seed: int) -> Estimate:
    """The run's prediction through :func:`aibudget.estimate` (what :func:`predict` computes
    for many runs at once; a test checks they agree)."""
    from aibudget.estimation.run import estimate

    return estimate(scenario(run, mfu), samples=samples, seed=seed)


@cache
def _mfu_bounds() -> tuple[float, float]:
    """The clipping bounds a scenario's ``training.mfu`` range gets (the field's own range)."""
    from aibudget.scenario.files import load_scenario

    spec = {
        "name": "bounds",
        "model": {"params": 1e9},
        "training": {
            "accelerator": "A100-80GB",
            "tokens": 1e10,
            "chips": 8,
            "mfu": {"p10": 0.2, "p50": 0.3, "p90": 0.4},
        },
    }
    dist = load_scenario(spec).uncertain["training.mfu"]
    return dist.lower, dist.upper


# --------------------------------------------------------------------------- batched predictions


@record
class _Resolved:
    """One run's model inputs as the estimate resolves them: a number, or a distribution keyed
    by its assumption's name (the estimate's random stream)."""

    values: dict[str, float]
    uncertain: dict[str, tuple[str, Distribution]]  # input → (assumption key, distribution)
    measures: tuple[str, ...]  # what to predict


@layered
def _site(accelerator: str, basis: str | None, precision: str) -> _Resolved:
    """The inputs every run on ``accelerator`` with this energy basis and precision shares:
    the peak, the power model (the estimate's catalog defaults) and, in FP8, the speed-up."""
    acc = _accelerator(accelerator)
    values: dict[str, float] = {"memory_gb_per_chip": acc.memory_gb}
    uncertain: dict[str, tuple[str, Distribution]] = {}
    if precision == "fp8":
        base = "bf16" if "bf16" in acc.peak_dense_tflops else "fp16"
        values["peak_16bit"] = acc.peak_flops_per_s(base)
        values["peak_fp8"] = acc.peak_flops_per_s("fp8")
        _add(
            values, uncertain, "speedup", "training.fp8_speedup", _constant("fp8_training_speedup")
        )
    else:
        values["peak_flops_per_s"] = acc.peak_flops_per_s(precision)
    if acc.tdp_w is None or basis == "gpu_tdp":
        values.update(
            tdp_w=1.0 if acc.tdp_w is None else acc.tdp_w,
            server_power_ratio=1.0,
            average_power_fraction=1.0,
        )
    else:
        values["tdp_w"] = acc.tdp_w
        if basis == "gpu_measured":
            values["server_power_ratio"] = 1.0
        else:
            ratio = catalog.constant_for("server_power_ratio", acc.qualifiers)
            _add(values, uncertain, "server_power_ratio", "energy.server_power_ratio", ratio)
        fraction = catalog.constant_for("average_power_fraction", acc.qualifiers)
        _add(values, uncertain, "average_power_fraction", "energy.average_power_fraction", fraction)
    return _Resolved(values, uncertain, ())


def _resolve(run: Run, mfu: MfuInput, wanted: tuple[str, ...]) -> _Resolved:
    """What the estimate would resolve ``scenario(run, mfu)`` to, for the inputs that the
    predicted measures depend on (the rest of the training model gets neutral values)."""
    acc = _accelerator(run.accelerator or "")
    site = _site(acc.name, run.basis, _precision(run, acc))
    params = _params(run)
    chips = float(int(run.chips) if run.chips else UNKNOWN_CHIPS)
    counted = run.params is not None and run.tokens is not None
    values: dict[str, float] = {
        **site.values,
        "params": params,
        "active_params": params,
        "tokens": run.tokens if counted and run.tokens is not None else math.nan,
        "flops_given": math.nan if counted else (run.work_flops or 1e18),
        "chips_given": chips,
        "price_usd_per_chip_hour": run.usd_per_chip_hour or 1.0,
        "pue": 1.0 if run.basis == "system_before_pue" else (run.pue or _default_pue()),
        "grid_gco2e_per_kwh": run.grid_g_per_kwh if run.grid_g_per_kwh is not None else 0.0,
    }
    uncertain = dict(site.uncertain)
    if mfu.quantiles is None:
        p10, p50, p90 = fitted_mfu.default_quantiles(acc.family, params, chips)
        dist = Distribution.from_quantiles(p10, p90, p50, lower=0.0, upper=1.0)
        uncertain["mfu"] = ("training.mfu", dist)
    else:
        value = mfu.scenario_value()
        if isinstance(value, dict):
            lower, upper = _mfu_bounds()
            dist = Distribution.from_quantiles(
                value["p10"], value["p90"], value["p50"], lower=lower, upper=upper
            )
            uncertain["mfu"] = ("training.mfu", dist)
        else:
            values["mfu"] = float(value)
    return _Resolved(values, uncertain, wanted)


def _constant(key: str) -> catalog.Constant:
    return catalog.constant(key)


def _add(
    values: dict[str, float],
    uncertain: dict[str, tuple[str, Distribution]],
    field_name: str,
    key: str,
    row: catalog.Constant,
) -> None:
    if row.distribution is None:
        values[field_name] = row.value
    else:
        uncertain[field_name] = (key, row.distribution)


#: Inputs of the training model that do not move chip-hours, time, energy or cost.
_NEUTRAL: dict[str, float] = {
    "attention_layers": 0.0,
    "attention_d_model": 0.0,
    "attention_seq_len": 2048.0,
    "memory_layers": 1.0,
    "memory_d_model": 1.0,
    "memory_seq_len": 2048.0,
    "micro_batch_size": 1.0,
    "activation_bytes_per_element": 0.0,
    "activation_dtype_bytes": 2.0,
    "state_bytes_per_param": 16.0,
    "deadline_days": math.nan,
    "flops_per_param_token": 6.0,
    "teacher_params": 0.0,
    "extra_state_bytes": 0.0,
    "preemptions_per_1000_chip_days": 0.0,
    "checkpoint_interval_hours": 1.0,
    "restart_hours": 0.0,
    "owned": 0.0,
    "purchase_price_usd_per_chip": 0.0,
    "server_cost_ratio": 0.0,
    "interconnect_cost_fraction": 0.0,
    "depreciation_ooms_per_year": 0.0,
    "electricity_usd_per_kwh": 0.0,
}
#: The measures that depend on the MFU draw alone (decreasing in it), outside FP8.
_MONOTONE = ("chip_hours", "wall_clock_days", "usd")


def predict(
    runs: Sequence[Run],
    mfus: Sequence[MfuInput],
    samples: int,
    seed: int,
) -> list[dict[str, Summary | None]]:
    """Each run's p10/p50/p90 of every measure it publishes and can be predicted, under the
    MFU given for it, as :func:`aibudget.estimate` of :func:`scenario` would give them: the
    same inputs, the same model (:func:`~aibudget.model.training.training_run`, on arrays of
    runs × draws), the same draws (the estimate's random stream per assumption).

    Chip-hours, wall clock and cost depend on the MFU draw alone and fall as it rises, so their
    percentiles are the model evaluated at the six draws whose order statistics the
    percentiles interpolate (numpy's linear method), not at every draw; energy needs every
    draw (the power model is uncertain too) and is evaluated a chunk of runs at a time, so
    memory stays proportional to the runs."""
    resolved = [_resolve(r, m, _wanted(r)) for r, m in zip(runs, mfus, strict=True)]
    out: list[dict[str, Summary | None]] = [dict.fromkeys(MEASURES) for _ in runs]
    sampler = MonteCarlo(samples, seed) if samples > 0 else None
    numbers: dict[tuple[str, bool], Array] = {}
    monotone = [
        i
        for i, r in enumerate(resolved)
        if "speedup" not in r.uncertain and any(m in _MONOTONE for m in r.measures)
    ]
    full = [
        i
        for i, r in enumerate(resolved)
        if any(m in _ENERGY for m in r.measures) or ("speedup" in r.uncertain and r.measures)
    ]
    for start in range(0, len(monotone), CHUNK_ELEMENTS // 8):
        chosen = monotone[start : start + CHUNK_ELEMENTS // 8]
        _predict_monotone([resolved[i] for i in chosen], [out[i] for i in chosen], sampler, numbers)
    per_chunk = max(1, CHUNK_ELEMENTS // max(samples, 1))
    for start in range(0, len(full), per_chunk):
        chosen = full[start : start + per_chunk]
        _predict_drawn(
            [runs[i] for i in chosen],
            [resolved[i] for i in chosen],
            [out[i] for i in chosen],
            sampler,
            numbers,
        )
    return out


def _wanted(run: Run) -> tuple[str, ...]:
    if "" in run.reasons or run.accelerator is None:
        return ()
    return tuple(
        m
        for m in MEASURES
        if m not in run.reasons
        and run.published[m] is not None
        and (m == "energy_kwh_from_published_chip_hours" or "chip_hours" not in run.reasons)
    )


def _numbers(
    key: str, uniform: bool, sampler: MonteCarlo, numbers: dict[tuple[str, bool], Array]
) -> Array:
    if (key, uniform) not in numbers:
        numbers[(key, uniform)] = sampler.numbers(key, uniform)
    return numbers[(key, uniform)]


def _columns(chunk: Sequence[_Resolved], draw: Any, width: int) -> dict[str, Array]:
    """The training model's inputs for a chunk: one row per run, ``width`` draws per row;
    ``draw(key, distribution)`` gives an uncertain input's draws."""
    names = {name for r in chunk for name in (*r.values, *r.uncertain)}
    columns: dict[str, Array] = {}
    drawn: dict[tuple[str, Distribution], Array] = {}
    for name in names:
        if not any(name in r.uncertain for r in chunk):  # one value per run, broadcast
            columns[name] = np.array([[r.values.get(name, math.nan)] for r in chunk])
            continue
        shared = {r.uncertain.get(name) for r in chunk}
        if len(shared) == 1:  # the same draws in every run (the power model), broadcast
            key, dist = next(iter(shared)) or ("", Distribution("normal", 0, 0, 0))
            columns[name] = draw(key, dist)[None, :]
            continue
        column = np.empty((len(chunk), width))
        for i, r in enumerate(chunk):
            if name in r.uncertain:
                key, dist = r.uncertain[name]
                if (key, dist) not in drawn:
                    drawn[(key, dist)] = draw(key, dist)
                column[i] = drawn[(key, dist)]
            else:
                column[i] = r.values.get(name, math.nan)
        columns[name] = column
    if "speedup" in columns:  # FP8 runs: the 16-bit peak sped up (NaN in the other rows)
        fp8 = fp8_peak_flops_per_s(
            columns.pop("peak_16bit"), columns.pop("peak_fp8"), columns.pop("speedup")
        )
        given = columns.get("peak_flops_per_s", fp8)
        columns["peak_flops_per_s"] = np.where(np.isnan(given), fp8, given)
    return columns


def _predict_monotone(
    chunk: Sequence[_Resolved],
    out: Sequence[dict[str, Summary | None]],
    sampler: MonteCarlo | None,
    numbers: dict[tuple[str, bool], Array],
) -> None:
    if sampler is None:
        width, select = 1, np.zeros(1, dtype=int)

        def draw(key: str, dist: Distribution) -> Array:
            return np.array([dist.p50])
    else:
        lower, upper, gamma = order_indexes(sampler.n, DECILES)
        select = np.concatenate([lower, upper])
        width = len(select)

        def draw(key: str, dist: Distribution) -> Array:
            z = _numbers(key, dist.uses_uniform, sampler, numbers)
            if key != "training.mfu":
                return dist.from_standard(z[:width])  # does not move these measures
            # the k-th smallest chip-hours is at the k-th largest MFU draw
            descending = np.sort(z)[::-1]
            return dist.from_standard(descending[select])

    result = training_run(TrainingInputs.from_values(**_NEUTRAL, **_columns(chunk, draw, width)))
    arrays = {
        "chip_hours": result.chip_hours,
        "wall_clock_days": result.wall_clock_days,
        "usd": result.usd,
    }
    for m, values in arrays.items():
        values = np.broadcast_to(values, (len(chunk), width))
        if sampler is None:
            quantiles = np.repeat(values[:, :1], 3, axis=1)
        else:
            n = len(select) // 2
            quantiles = lerp(values[:, :n], values[:, n:], gamma[None, :])
        for i, r in enumerate(chunk):
            if m in r.measures:
                out[i][m] = _summary(quantiles[i])


def _predict_drawn(
    runs: Sequence[Run],
    chunk: Sequence[_Resolved],
    out: Sequence[dict[str, Summary | None]],
    sampler: MonteCarlo | None,
    numbers: dict[tuple[str, bool], Array],
) -> None:
    width = sampler.n if sampler is not None else 1

    def draw(key: str, dist: Distribution) -> Array:
        if sampler is None:
            return np.array([dist.p50])
        return dist.from_standard(_numbers(key, dist.uses_uniform, sampler, numbers))

    result = training_run(TrainingInputs.from_values(**_NEUTRAL, **_columns(chunk, draw, width)))
    published = np.array([[r.published["chip_hours"] or 0.0] for r in runs])
    arrays = {
        "energy_kwh": result.energy_kwh,
        "co2e_kg": result.co2e_kg,
        "energy_kwh_from_published_chip_hours": published * (result.energy_kwh / result.chip_hours),
    }
    if any("speedup" in r.uncertain for r in chunk):
        arrays.update(
            chip_hours=result.chip_hours, wall_clock_days=result.wall_clock_days, usd=result.usd
        )
    for m, values in arrays.items():
        rows = [i for i, r in enumerate(chunk) if m in r.measures]
        if not rows:
            continue
        quantiles = _percentiles(np.broadcast_to(values, (len(chunk), width))[rows])
        for j, i in enumerate(rows):
            out[i][m] = _summary(quantiles[:, j])


def _percentiles(values: Array) -> Array:
    """p10, p50, p90 along the draws (rows: quantiles; columns: runs); one draw is its own."""
    values = np.atleast_2d(values)
    if values.shape[1] == 1:
        return np.repeat(values.T, 3, axis=0)
    return deciles(values, values.mean(axis=1))


def _summary(column: Array) -> Summary:
    return {"p10": float(column[0]), "p50": float(column[1]), "p90": float(column[2])}


# --------------------------------------------------------------------------- scoring


@record
class RunResult:
    run: Run
    predicted: Mapping[str, Mapping[str, Summary | None]]  # configuration → measure → summary
    in_shipped_fit: bool = False

    def to_dict(self) -> dict[str, Any]:
        r = self.run
        return {
            "run_key": r.run_key,
            "row_id": r.row_id,
            "name": r.name,
            "organisation": r.organisation,
            "accelerator": r.accelerator,
            "in_shipped_fit": self.in_shipped_fit,
            "predicted": dict(self.predicted["shipped"]),
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
        (res, pred, float(res.run.published[measure] or 0.0))
        for res in results
        if configuration in res.predicted
        and (pred := res.predicted[configuration].get(measure)) is not None
        and res.run.published[measure] is not None
    ]
    if not pairs:
        return {"count": 0}
    errors = np.array([math.log(p["p50"] / pub) for _, p, pub in pairs])
    inside = [p["p10"] <= pub <= p["p90"] for _, p, pub in pairs]
    worst = sorted(zip(pairs, errors, strict=True), key=lambda x: -abs(x[1]))[:3]
    families: dict[str, list[float]] = {}
    for (res, _, _), err in zip(pairs, errors, strict=True):
        families.setdefault(_family(res.run), []).append(float(err))
    return {
        "count": len(pairs),
        "median_abs_log_ratio": float(np.median(np.abs(errors))),
        "mean_abs_log_ratio": float(np.mean(np.abs(errors))),
        "median_log_ratio": float(np.median(errors)),
        "share_inside_p10_p90": float(np.mean(inside)),
        "by_family": {
            f: {
                "count": len(e),
                "median_abs_log_ratio": float(np.median(np.abs(e))),
                "median_log_ratio": float(np.median(e)),
            }
            for f, e in sorted(families.items())
        },
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
        f"; the source notes: {note[:160]}" if note and "Epoch AI" not in note else ""
    )


@record(repr=False)
class Validation(ShownAsTheCli):
    """Every run's predictions under each configuration, and the scores."""

    results: tuple[RunResult, ...]
    summary: Mapping[str, Mapping[str, Mapping[str, Any]]]  # configuration → measure → score
    configurations: tuple[str, ...] = ()
    samples: int = 0
    source: str = ""
    packaged: bool = False
    fit: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"<Validation of {len(self.results)} runs from {self.source}: "
            f"{', '.join(self.configurations)}>"
        )

    def to_pandas(self) -> pd.DataFrame:
        """A row per run: its name, organisation and accelerator, whether the shipped fit used
        it, and per measure the published figure, the shipped model's p10, p50 and p90, and
        ``<measure>_ratio`` (p50 ÷ published); NaN where a run publishes no such figure.
        Needs pandas: ``pip install "aibudget[pandas]"``."""
        require_pandas()
        import pandas

        rows = []
        for r in self.results:
            run = r.run
            row: dict[str, Any] = {
                "run": run.name,
                "organisation": run.organisation,
                "accelerator": run.accelerator,
                "in_shipped_fit": r.in_shipped_fit,
            }
            for m in MEASURES:
                published = run.published.get(m)
                predicted = r.predicted["shipped"].get(m)
                row[f"{m}_published"] = math.nan if published is None else float(published)
                for q in ("p10", "p50", "p90"):
                    row[f"{m}_{q}"] = math.nan if predicted is None else float(predicted[q])
                ratio = (
                    float(predicted["p50"]) / float(published)
                    if predicted is not None and published
                    else math.nan
                )
                row[f"{m}_ratio"] = ratio
            rows.append(row)
        return pandas.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "samples": self.samples,
            "configurations": list(self.configurations),
            "predicted_is": "shipped",
            "runs": [r.to_dict() for r in self.results],
            "summary": {c: dict(v) for c, v in self.summary.items()},
            "fit": dict(self.fit),
        }


def _shipped_fit() -> dict[str, Any]:
    model = fitted_mfu.mfu_model()
    info = fitted_mfu.model_info()
    return {
        "form": info.form,
        "runs": info.runs,
        "intercepts": {f: math.exp(v) for f, v in model.intercepts.items()},
        "slopes": dict(model.slopes),
        "residual_p10_ratio": math.exp(model.residual_p10),
        "residual_p90_ratio": math.exp(model.residual_p90),
        "out_of_sample_median_abs_log_ratio": info.oos_median_abs_log_ratio,
    }


def _in_shipped_fit() -> set[str]:
    return {r.row_id for r in fitted_mfu.fitted_runs()} | {
        r.run_key for r in fitted_mfu.fitted_runs() if r.run_key
    }


def validate(
    source: str | Path | None = None,
    samples: int = 2_000,
    seed: int = 0,
    refit: bool = False,
) -> Validation:
    """Predict every usable run of ``source`` (the packaged runs by default) under each
    configuration and score the predictions against what was published. On the packaged runs
    the out-of-sample refits (``leave_one_out``, ``by_organisation``) are always made; on a file
    of your own ``refit`` adds ``leave_one_out``, the shipped form refitted on the file's runs."""
    runs = read_runs(source)
    packaged = source is None
    configurations = ["shipped"]
    if packaged or refit:
        configurations.append("leave_one_out")
    if packaged:
        configurations.append("by_organisation")
    configurations += ["defaults", "baseline"]
    predictable = [r for r in runs if "" not in r.reasons and r.accelerator is not None]
    obs = observations(runs)
    shipped: MfuModel = fitted_mfu.mfu_model()
    prior, default = priors()
    targets = [_target(r) for r in predictable]
    inputs: dict[str, list[MfuInput]] = {
        "shipped": [MfuInput() for _ in predictable],
        "defaults": [_defaults_input(r) for r in predictable],
    }
    for name, by in (("leave_one_out", "group"), ("by_organisation", "organisation")):
        if name in configurations:
            held = held_out(obs, targets, shipped.form, prior, default, by)
            inputs[name] = [_held_input(h) for h in held]
    predicted = {c: predict(predictable, inputs[c], samples, seed) for c in inputs}
    by_run = {id(r): i for i, r in enumerate(predictable)}
    fitted = _in_shipped_fit()
    results = []
    for run in runs:
        table: dict[str, dict[str, Summary | None]] = {
            c: dict.fromkeys(MEASURES) for c in configurations
        }
        if id(run) in by_run:
            i = by_run[id(run)]
            for c in inputs:
                table[c] = predicted[c][i]
            if "chip_hours" not in run.reasons and run.published["chip_hours"] is not None:
                acc = _accelerator(run.accelerator or "")
                work = run.work_flops or 0.0
                hours = work / (reference_peak_flops_per_s(acc) * BASELINE_MFU * 3600)
                table["baseline"]["chip_hours"] = {"p10": hours, "p50": hours, "p90": hours}
        results.append(
            RunResult(run, table, run.row_id in fitted or (not packaged and run.run_key in fitted))
        )
    summary = {c: {m: _score(results, c, m) for m in MEASURES} for c in configurations}
    return Validation(
        tuple(results),
        summary,
        tuple(configurations),
        samples,
        str(source) if source is not None else "the packaged runs",
        packaged,
        _shipped_fit(),
    )
