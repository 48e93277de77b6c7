"""Fit the calibrated defaults on the published reference runs and write
``src/aibudget/catalog/data/calibration.csv``.

    python tools/calibrate.py [--check]

MFU by accelerator family (a geometric mean of the runs' effective MFU, shrunk toward all runs;
see ``aibudget.calibration``), with the spread of the fit's residuals as its p10-p90, and the
leave-one-out error of the predicted chip-hours as measured by ``aibudget validate``. The fit of
the average power fraction is reported by ``aibudget validate`` but not written: it predicts the
published energies worse out of sample than the sourced defaults. This tool is not part of the
package.
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
from aibudget.validation import fit_mfu, read_runs, validate

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "aibudget" / "catalog" / "data" / "calibration.csv"
COLUMNS = [
    "key",
    "value",
    "unit",
    "p10",
    "p90",
    "description",
    "method",
    "loo_error",
    "runs",
    "as_of",
]


def _loo_error(validation: object, family: str | None) -> str:
    """The median |ln(predicted / published)| of chip-hours, out of sample, for one family."""
    errors = [
        abs(math.log(pred["p50"] / r.run.published["chip_hours"]))
        for r in validation.results  # type: ignore[attr-defined]
        if (pred := r.predicted["calibrated"]["chip_hours"]) is not None
        and r.run.published["chip_hours"] is not None
        and (family is None or catalog.accelerator(r.run.accelerator).family == family)
    ]
    if not errors:
        return "n/a"
    median = float(np.median(errors))
    return f"median |ln(predicted / published chip-hours)| {median:.3f} over {len(errors)} runs"


def build(as_of: str) -> str:
    runs = [r for r in read_runs() if "" not in r.reasons]
    mfu = fit_mfu(runs)
    assert mfu is not None
    validation = validate()
    rows = []
    method = (
        "geometric mean of effective MFU = 6ND / (peak x published chip-hours), shrunk toward "
        "the sourced family value as 2 pseudo-runs"
    )
    for family, value in sorted(mfu.groups.items()):
        members = [
            r.row_id
            for r in runs
            if r.row_id in mfu.runs and catalog.accelerator(r.accelerator).family == family
        ]
        p10, _, p90 = mfu.quantiles(family)
        rows.append(
            {
                "key": f"mfu.{family}",
                "value": f"{value:.4g}",
                "unit": "fraction",
                "p10": f"{p10:.4g}",
                "p90": f"{min(p90, 1.0):.4g}",
                "description": f"Effective MFU on {family} fitted on {mfu.counts[family]} "
                "published runs (chip-hours as published: restarts and idle time included)",
                "method": method,
                "loo_error": _loo_error(validation, family),
                "runs": ";".join(members),
                "as_of": as_of,
            }
        )
    p10, _, p90 = mfu.quantiles("")
    rows.append(
        {
            "key": "mfu",
            "value": f"{mfu.overall:.4g}",
            "unit": "fraction",
            "p10": f"{p10:.4g}",
            "p90": f"{min(p90, 1.0):.4g}",
            "description": f"Effective MFU of all {len(mfu.runs)} published runs, for a family "
            "with none",
            "method": "geometric mean of effective MFU over every run",
            "loo_error": _loo_error(validation, None),
            "runs": ";".join(mfu.runs),
            "as_of": as_of,
        }
    )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file would change")
    parser.add_argument("--as-of", default=date.today().isoformat())
    args = parser.parse_args(argv)
    if args.check:
        current = TARGET.read_text("utf-8")
        as_of = (
            next(csv.DictReader(io.StringIO(current)))["as_of"]
            if current.count("\n") > 1
            else args.as_of
        )
        changed = build(as_of) != current
        if changed:
            print(f"would change: {TARGET.relative_to(ROOT)}", file=sys.stderr)
        return 1 if changed else 0
    text = build(args.as_of)
    TARGET.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
