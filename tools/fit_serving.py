"""Fit the serving efficiencies on MLPerf Inference and write
``src/aibudget/catalog/data/serving_fit.csv``.

    python tools/fit_serving.py [--check] [--sensitivity] [--compare]

The fit is :func:`aibudget.analysis.serving_validation.fit` on every curated result
(``mlperf_inference.csv``): the compute efficiencies of prefill and of decode, the Server load
factor and the later rounds' software factors; decode's memory-bandwidth utilisation is the top
of the range measured at batch 1 (``constants.csv`` ``mbu``), which MLPerf's batches cannot
pin. Estimates use the efficiencies of the latest round (the fitted value times that round's
factor: today's software), with the spread of the fit's residuals between submitters as their
p10-p90 (over the compute-bound results), and the leave-one-accelerator-out error of
``aibudget validate --serving`` beside each value. ``--sensitivity`` also prints how the fit
moves with the benchmarks' assumed input lengths; ``--compare`` fits every candidate form of
:data:`aibudget.analysis.serving_validation.FORMS` and prints their out-of-sample errors as the
table in docs/validation.md (half an hour on two cores). This tool is not part of the package.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import sys
from pathlib import Path

from aibudget import catalog
from aibudget.analysis.serving_validation import FORMS, batch_one_mbu, validate_serving
from aibudget.catalog import serving as serving_catalog

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "aibudget" / "catalog" / "data" / "serving_fit.csv"
COLUMNS = [
    "key",
    "value",
    "unit",
    "p10",
    "p90",
    "description",
    "method",
    "loao_error",
    "range_note",
    "source_url",
    "as_of",
]
SOURCE = "https://mlcommons.org/benchmarks/inference-datacenter/"
METHOD = (
    "Huber loss of ln(predicted / published), quadratic within x1.25 and linear beyond, over the "
    "MLPerf results, each accelerator, benchmark and scenario weighted alike; tools/fit_serving.py"
)


def build() -> str:
    """The fit as CSV text."""
    result = validate_serving(serving_catalog.mlperf_results())
    fitted = result.fitted
    rounds = sorted(fitted.round_factors)
    latest = rounds[-1] if rounds else "v4.1"
    factor = fitted.factor(latest)
    summary = result.summary()
    loao = (
        f"median |ln(predicted / published)| {summary['median_abs_ln']:.3f} over "
        f"{summary['groups']:.0f} accelerator x benchmark x scenario groups, each accelerator "
        f"left out of the fit; {summary['within_1_25']:.0%} within x1.25"
    )
    as_of = max(r.as_of for r in serving_catalog.mlperf_results())
    rows = []
    for key, value, what in (
        (
            "serving.prefill_mfu",
            fitted.prefill_mfu * factor,
            "Share of the dense peak (at the precision the weights run) that prefill reaches, "
            f"MLPerf round {latest} software",
        ),
        (
            "serving.decode_mfu",
            fitted.decode * factor,
            "Share of the dense peak (at the precision the weights run) that decode's matrix "
            f"multiplies reach where compute limits the step, MLPerf round {latest} software",
        ),
    ):
        low, high = result.residual_spread["compute"]
        value = min(value, 1.0)
        rows.append(
            {
                "key": key,
                "value": f"{value:.4g}",
                "unit": "fraction",
                "p10": f"{min(value * low, value):.4g}",
                "p90": f"{min(max(value * high, value), 1.0):.4g}",
                "description": what,
                "method": METHOD,
                "loao_error": loao,
                "range_note": "the spread between submitters: 10th and 90th percentiles of "
                "published / predicted over the compute-bound results",
                "source_url": SOURCE,
                "as_of": as_of,
            }
        )
    mbu, mbu_low, mbu_high = batch_one_mbu()
    mbu_row = catalog.constant("mbu")
    rows.append(
        {
            "key": "serving.mbu",
            "value": f"{mbu:.4g}",
            "unit": "fraction",
            "p10": f"{mbu_low:.4g}",
            "p90": f"{mbu_high:.4g}",
            "description": "Share of peak memory bandwidth that decode reaches (MBU): the top "
            "of the range measured at batch 1 (constants.csv mbu), not fitted: MLPerf's "
            "batches are compute-bound, and fitted freely MBU reaches the datasheet's "
            "bandwidth (1.0)",
            "method": "not fitted: decode measured at batch 1 (constants.csv mbu, its p90); "
            "the MLPerf fit presses against it",
            "loao_error": loao,
            "range_note": f"the measured range at batch 1: {mbu_row.range_note}",
            "source_url": mbu_row.source_url,
            "as_of": mbu_row.as_of,
        }
    )
    rows.append(
        {
            "key": "serving.server_load",
            "value": f"{fitted.server_load:.4g}",
            "unit": "fraction",
            "p10": "",
            "p90": "",
            "description": "MLPerf Server throughput over the Offline roofline under the TPOT "
            "limit: Poisson arrivals under TTFT and TPOT limits (validation only; estimates "
            "size fleets with serving.headroom)",
            "method": METHOD,
            "loao_error": loao,
            "range_note": "",
            "source_url": SOURCE,
            "as_of": as_of,
        }
    )
    for version in rounds:
        rows.append(
            {
                "key": f"serving.round_factor.{version}",
                "value": f"{fitted.factor(version):.4g}",
                "unit": "ratio",
                "p10": "",
                "p90": "",
                "description": f"Efficiency of round {version} software over rounds v4.0-v4.1 "
                "on the same datasheet (validation only)",
                "method": METHOD,
                "loao_error": loao,
                "range_note": "",
                "source_url": SOURCE,
                "as_of": as_of,
            }
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def sensitivity() -> None:
    """How the out-of-sample error moves with the assumed mean input lengths."""
    base = serving_catalog.mlperf_benchmarks()
    for name, lengths in (("llama2-70b", (150, 300, 600, 1000)), ("mixtral-8x7b", (150, 600))):
        for tokens in lengths:
            table = dict(base)
            table[name] = dataclasses.replace(base[name], input_tokens=float(tokens))
            serving_catalog.mlperf_benchmarks.cache_clear()
            original = serving_catalog.mlperf_benchmarks
            serving_catalog.mlperf_benchmarks = lambda t=table: t  # type: ignore[assignment]
            try:
                s = validate_serving()
            finally:
                serving_catalog.mlperf_benchmarks = original
            line = ", ".join(
                f"{b} {s.summary(b)['median_abs_ln']:.3f}" for b in ("llama2-70b", "mixtral-8x7b")
            )
            print(f"{name} input {tokens}: all {s.summary()['median_abs_ln']:.3f}; {line}")


def compare() -> None:
    """Fit every candidate form, leaving each accelerator out in turn, and print the table of
    their out-of-sample errors (docs/validation.md)."""
    benchmarks = ("llama2-70b", "mixtral-8x7b", "llama3.1-405b", "llama3.1-8b")
    head = ["form", "all", *benchmarks, "H200 / H100 Offline", "fitted"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for form in FORMS.values():
        s = validate_serving(serving_catalog.mlperf_results(), form)
        cells = [form.label]
        for b in (None, *benchmarks):
            m = s.summary(b)
            cells.append(
                f"{m['median_abs_ln']:.3f}, {m['within_1_25'] * m['groups']:.0f}/{m['groups']:.0f}"
            )
        by = {(g.benchmark, g.accelerator, g.scenario): g for g in s.groups}
        h200, h100 = by["llama2-70b", "H200", "Offline"], by["llama2-70b", "H100-80GB", "Offline"]
        in_sample = h200.predicted_in_sample / h100.predicted_in_sample
        published = h200.published_median / h100.published_median
        cells.append(
            f"×{h200.ratio:.2f} / ×{h100.ratio:.2f} (in sample {in_sample:.2f}, "
            f"published {published:.2f})"
        )
        e = s.fitted
        fitted = f"η {e.prefill_mfu:.3f}"
        if form.separate_decode:
            fitted += f", η_decode {e.decode:.3f}"
        fitted += f", MBU {e.mbu:.3f}"
        if form.fit_overlap:
            fitted += f", θ {e.overlap:.3f}"
        if form.fit_batch_half:
            fitted += f", M½ {e.batch_half:.3g}"
        cells.append(fitted)
        print("| " + " | ".join(cells) + " |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is not current")
    parser.add_argument("--sensitivity", action="store_true", help="vary the input lengths")
    parser.add_argument("--compare", action="store_true", help="fit every candidate form")
    args = parser.parse_args()
    if args.compare:
        compare()
        return 0
    if args.sensitivity:
        sensitivity()
        return 0
    text = build()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.name} is not the fit of the current data: run tools/fit_serving.py")
            return 1
        print(f"{TARGET.name} is current")
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
