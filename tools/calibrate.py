"""Fit the utilisation (MFU) model on the packaged published runs, choosing its form by
out-of-sample error, and write ``src/aibudget/catalog/data/mfu_model.csv`` (coefficients with
their standard errors and out-of-sample errors) and ``mfu_runs.csv`` (the runs fitted on).

    python tools/calibrate.py [--check] [--as-of DATE]

The candidates (:data:`aibudget.model.calibration.FORMS`) are the family intercept alone, plus a
slope on ln(size), on ln(chips), or both; shrinkage toward the sourced family values of 1, 2, 4
or 8 pseudo-runs; least squares or Huber's loss. Each is scored by its residuals out of sample,
leaving out every run of an organisation at a time (k-fold by organisation) and every run at a
time (leave-one-out); the form with the lowest mean of the two median |ln ratio| is chosen, a
simpler one when within 0.005. Because picking the best of many flatters the winner, the
selection itself is also cross-validated (each organisation held out of the choice too) and
that figure printed. The chosen form is refitted on every run; its p10-p90 comes from the
by-organisation residuals. The average-power model is checked on the runs that publish a
measured system energy and chip-hours (printed, not fitted: see docs/validation.md).

This tool is not part of the package and is never imported by it.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from datetime import date
from pathlib import Path

import numpy as np

from aibudget import catalog
from aibudget.analysis.validation import observations, priors
from aibudget.catalog.runs import read_runs
from aibudget.model.calibration import (
    FORMS,
    Form,
    Observation,
    coverage,
    cross_validate,
    fit,
    folds,
    residual_quantiles,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "aibudget" / "catalog" / "data"
MODEL = DATA / "mfu_model.csv"
RUNS = DATA / "mfu_runs.csv"
MODEL_COLUMNS = [
    "term",
    "name",
    "value",
    "std_error",
    "prior",
    "runs",
    "oos_median_abs_log_ratio",
    "oos_runs",
    "form",
    "as_of",
]
RUN_COLUMNS = [
    "row_id",
    "run_key",
    "name",
    "organisation",
    "family",
    "params",
    "chips",
    "mfu",
    "predicted_mfu",
]
#: A simpler form is kept when the best is better by less than this (ln units).
SIMPLER_WITHIN = 0.005


def _score(obs: list[Observation], form: Form, prior: dict[str, float], default: float) -> float:
    org = cross_validate(obs, form, prior, default, "organisation")
    run = cross_validate(obs, form, prior, default, "group")
    return 0.5 * (float(np.median(np.abs(org))) + float(np.median(np.abs(run))))


def choose(obs: list[Observation], prior: dict[str, float], default: float) -> tuple[Form, list]:
    scored = [(_score(obs, f, prior, default), f) for f in FORMS]
    best = min(s for s, _ in scored)
    eligible = [(len(f.terms), f.shrinkage, f.huber is not None, s, f) for s, f in scored]
    eligible = [e for e in eligible if e[3] <= best + SIMPLER_WITHIN]
    return min(eligible, key=lambda e: (e[0], e[3]))[4], scored


def nested_selection_error(
    obs: list[Observation], prior: dict[str, float], default: float
) -> tuple[float, int]:
    """Median |ln ratio| when the form is chosen without the held-out organisation too."""
    errors = []
    for held in folds([o.organisation for o in obs]):
        train = [o for o in obs if o.organisation not in held]
        form, _ = choose(train, prior, default)
        model = fit(train, form, prior, default)
        errors += [
            math.log(o.mfu) - model.log_median(o.family, o.log_params, o.log_chips)
            for o in obs
            if o.organisation in held
        ]
    return float(np.median(np.abs(errors))), len(errors)


def build(as_of: str, nested: bool = True) -> tuple[str, str, str]:
    runs = read_runs()
    obs = observations(runs)
    prior, default = priors()
    form, scored = choose(obs, prior, default)
    model = fit(obs, form, prior, default, errors=True)
    residuals = cross_validate(obs, form, prior, default, "organisation")
    low, high = residual_quantiles(residuals)
    by_org = coverage(obs, form, prior, default, "organisation")
    by_run = coverage(obs, form, prior, default, "group")
    report = [f"{len(obs)} runs with chip-hours fitted on (of {len(runs)} rows)", ""]
    report.append("form (family + terms; shrinkage; loss)          by org   by run   mean")
    for s, f in sorted(scored, key=lambda x: x[0])[:12]:
        org = float(np.median(np.abs(cross_validate(obs, f, prior, default, "organisation"))))
        run = float(np.median(np.abs(cross_validate(obs, f, prior, default, "group"))))
        report.append(f"  {f.label:48} {org:.3f}    {run:.3f}    {s:.3f}")
    report.append(f"chosen: {form.label}")
    if nested:
        value, n = nested_selection_error(obs, prior, default)
        report.append(f"selection cross-validated by organisation: median |ln| {value:.3f} ({n})")
    report.append(
        f"held out by organisation: median |ln| {by_org['median_abs_log_ratio']:.3f}, inside "
        f"p10-p90 {by_org['share_inside_p10_p90']:.0%}; by run: "
        f"{by_run['median_abs_log_ratio']:.3f}, {by_run['share_inside_p10_p90']:.0%}"
    )
    rows: list[dict[str, str]] = []

    def add(term: str, name: str, value: float, **extra: object) -> None:
        row = {c: "" for c in MODEL_COLUMNS}
        row.update(term=term, name=name, value=f"{value:.6g}", form=form.label, as_of=as_of)
        row.update({k: str(v) for k, v in extra.items()})
        rows.append(row)

    family_residuals: dict[str, list[float]] = {}
    for o, r in zip(obs, residuals, strict=True):
        family_residuals.setdefault(o.family, []).append(float(r))
    for family in sorted(model.intercepts):
        errs = family_residuals.get(family, [])
        se = model.std_errors.get(family)
        add(
            "intercept",
            family,
            model.intercepts[family],
            std_error=f"{se:.3g}" if se is not None and model.counts.get(family) else "",
            prior=f"{prior[family]:g}" if family in prior else "",
            runs=model.counts.get(family, 0),
            oos_median_abs_log_ratio=f"{np.median(np.abs(errs)):.4f}" if errs else "",
            oos_runs=len(errs),
        )
        report.append(
            f"  a_{family:8} MFU {math.exp(model.intercepts[family]):.3f} "
            f"(±{model.std_errors.get(family, 0):.2f} ln) on {model.counts.get(family, 0)} runs; "
            f"prior {prior.get(family, default):.3f}; out of sample "
            + (f"{np.median(np.abs(errs)):.3f} over {len(errs)}" if errs else "-")
        )
    add("default_intercept", "mfu", model.default_intercept, prior=f"{default:g}")
    for term, value in model.slopes.items():
        add("slope", term, value, std_error=f"{model.std_errors.get(term, 0):.3g}")
        report.append(f"  slope {term}: {value:+.4f} (±{model.std_errors.get(term, 0):.4f})")
    add("residual", "p10", low)
    add("residual", "p90", high)
    add("shrinkage", "pseudo_runs", form.shrinkage)
    add("huber", "delta", form.huber or 0.0)
    add("fit", "runs", float(len(obs)))
    add("fit", "oos_median_abs_log_ratio", by_org["median_abs_log_ratio"])
    add("fit", "oos_share_inside", by_org["share_inside_p10_p90"])
    add("fit", "loo_median_abs_log_ratio", by_run["median_abs_log_ratio"])
    add("fit", "loo_share_inside", by_run["share_inside_p10_p90"])
    report.append(f"residual p10-p90: ×{math.exp(low):.2f} to ×{math.exp(high):.2f}")
    model_text = _csv(MODEL_COLUMNS, rows)
    run_rows = []
    for o, r in zip(obs, residuals, strict=True):
        run_rows.append(
            {
                "row_id": o.run,
                "run_key": o.group,
                "name": o.name,
                "organisation": o.organisation,
                "family": o.family,
                "params": f"{o.params:.4g}" if o.params else "",
                "chips": f"{o.chips:g}" if o.chips else "",
                "mfu": f"{o.mfu:.4f}",
                "predicted_mfu": f"{o.mfu / math.exp(r):.4f}",
            }
        )
    report += ["", *_power_check(runs)]
    return model_text, _csv(RUN_COLUMNS, run_rows), "\n".join(report)


def _power_check(runs: list) -> list[str]:
    """The average power per chip the runs with a measured system energy and chip-hours imply,
    against the model's TDP × server ratio × average fraction."""
    out = ["average power per chip: implied by published energy ÷ (chip-hours × PUE) / model"]
    ratios: dict[str, list[float]] = {}
    for r in runs:
        if (
            "" in r.reasons
            or r.accelerator is None
            or r.basis not in ("system", "system_before_pue")
        ):
            continue
        kwh, hours = r.published["energy_kwh"], r.published["chip_hours"]
        acc = catalog.accelerator(r.accelerator)
        if kwh is None or hours is None or acc.tdp_w is None:
            continue
        pue = (
            1.0
            if r.basis == "system_before_pue"
            else (r.pue or catalog.constant("pue.cloud").value)
        )
        implied = kwh * 1000.0 / (hours * pue)
        ratio = catalog.constant_for("server_power_ratio", acc.qualifiers).value
        fraction = catalog.constant_for("average_power_fraction", acc.qualifiers).value
        model = acc.tdp_w * ratio * fraction
        ratios.setdefault(acc.kind, []).append(implied / model)
        out.append(
            f"  {r.row_id} {r.name[:44]:44} {implied:6.0f} W / {model:4.0f} W "
            f"= ×{implied / model:.2f}"
        )
    for kind, values in sorted(ratios.items()):
        logs = np.log(values)
        out.append(
            f"  {kind}: {len(values)} runs, median ×{math.exp(np.median(logs)):.2f}, "
            f"median |ln| {np.median(np.abs(logs)):.3f}"
        )
    return out


def _csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the files would change")
    parser.add_argument("--as-of", default=None, help="the date written (default: kept, or today)")
    parser.add_argument("--quick", action="store_true", help="skip the nested selection error")
    args = parser.parse_args(argv)
    as_of = args.as_of
    if as_of is None and MODEL.exists() and MODEL.read_text("utf-8").count("\n") > 1:
        as_of = next(csv.DictReader(io.StringIO(MODEL.read_text("utf-8"))))["as_of"]
    model_text, runs_text, report = build(as_of or date.today().isoformat(), not args.quick)
    if args.check:
        changed = [
            p.name
            for p, text in ((MODEL, model_text), (RUNS, runs_text))
            if not p.exists() or p.read_text("utf-8") != text
        ]
        for name in changed:
            print(f"would change: {name}", file=sys.stderr)
        return 1 if changed else 0
    MODEL.write_text(model_text, encoding="utf-8")
    RUNS.write_text(runs_text, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
