"""Fit the serving efficiencies on MLPerf Inference and write
``src/aibudget/catalog/data/serving_fit.csv``.

    python tools/fit_serving.py [--check] [--sensitivity]

The fit is :func:`aibudget.serving_validation.fit` on every curated result
(``mlperf_inference.csv``): the compute efficiency of prefill and compute-bound decode, the
memory-bandwidth utilisation of decode, the Server load factor and the later rounds' software
factors. Estimates use the efficiencies of the latest round (the fitted value times that round's
factor: today's software), with the spread of the fit's residuals between submitters as their
p10-p90 (compute-bound results for the compute efficiency, memory-bound ones for MBU), and the
leave-one-accelerator-out error of ``aibudget validate --serving`` beside each value.
``--sensitivity`` also prints how the fit moves with the benchmarks' assumed input lengths.
This tool is not part of the package.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import sys
from pathlib import Path

from aibudget.catalog import serving as serving_catalog
from aibudget.serving_validation import validate_serving

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
    "least squares of ln(predicted / published) over the MLPerf results, each accelerator, "
    "benchmark and scenario weighted alike; tools/fit_serving.py"
)


def build() -> str:
    """The fit as CSV text."""
    result = validate_serving()
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
    for key, value, spread, what in (
        (
            "serving.prefill_mfu",
            fitted.prefill_mfu * factor,
            result.residual_spread["compute"],
            "Share of the dense peak (at the precision the weights run) that prefill and "
            f"compute-bound decode reach, MLPerf round {latest} software",
        ),
        (
            "serving.mbu",
            min(fitted.mbu * factor, 1.0),
            result.residual_spread["memory"],
            f"Share of peak memory bandwidth that decode reaches (MBU), MLPerf round {latest} "
            "software",
        ),
    ):
        low, high = spread
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
                f"published / predicted over the {'compute' if 'mfu' in key else 'memory'}-"
                "bound results",
                "source_url": SOURCE,
                "as_of": as_of,
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is not current")
    parser.add_argument("--sensitivity", action="store_true", help="vary the input lengths")
    args = parser.parse_args()
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
