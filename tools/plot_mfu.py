"""Draw the fitted utilisation model against the runs it was fitted on: ``docs/mfu.svg``.

    python tools/plot_mfu.py [--out docs/mfu.svg] [--check]

One panel per accelerator family with runs: each run's effective MFU (6·N·D ÷ (16-bit peak ×
published chip-hours)) against its size, coloured by its number of chips, and the fitted MFU of
``catalog/data/mfu_model.csv`` as lines at 64, 256, 2,048 and 16,384 chips (flat in size when the
chosen form has no size term), with the band of its out-of-sample residuals (p10-p90) at 256
chips. A Vega-Lite spec, rendered offline by vl-convert like the package's other charts. This
tool is not part of the package and is never imported by it.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import vl_convert

from aibudget.catalog.mfu import fitted_runs, mfu_model, model_info
from aibudget.model.calibration import features

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "mfu.svg"
CHIPS = (64, 256, 2048, 16384)
SIZES = [10 ** (7 + i / 4) for i in range(25)]  # 10M to 1T parameters


def spec() -> dict[str, Any]:
    model = mfu_model()
    info = model_info()
    runs = fitted_runs()
    families = sorted({r.family for r in runs})
    points = [
        {
            "family": r.family,
            "run": r.name,
            "params": r.params or 1e10,
            "size": "published" if r.params else "not known (drawn at 10B)",
            "mfu": r.mfu,
            "chips": r.chips or 256,
            "chips known": "yes" if r.chips else "no (drawn at 256)",
        }
        for r in runs
    ]
    lines = []
    band = []
    for family in families:
        for n in SIZES:
            for chips in CHIPS:
                low, mid, high = model.quantiles(family, *features(n, chips))
                lines.append(
                    {"family": family, "params": n, "mfu": mid, "fitted at": f"{chips:,} chips"}
                )
                if chips == 256:
                    band.append({"family": family, "params": n, "p10": low, "p90": min(high, 1)})
    log = {"type": "log"}
    x = {
        "field": "params",
        "type": "quantitative",
        "scale": log,
        "title": "parameters (N)",
        "axis": {"format": "~s", "tickCount": 5},
    }
    y_scale = {"type": "log", "domain": [0.02, 1.0]}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": {
            "text": "Effective MFU of published runs against model size, and the fitted model",
            "subtitle": f"{info.form}; out of sample (by organisation) median |ln ratio| "
            f"{info.oos_median_abs_log_ratio:.2f}, {info.oos_share_inside:.0%} inside p10-p90",
        },
        "facet": {"field": "family", "type": "nominal", "title": None},
        "columns": 4,
        "data": {"values": []},
        "spec": {
            "width": 190,
            "height": 170,
            "layer": [
                {
                    "data": {"values": band},
                    "transform": [{"filter": "true"}],
                    "mark": {"type": "area", "opacity": 0.15, "color": "#4c78a8"},
                    "encoding": {
                        "x": x,
                        "y": {"field": "p10", "type": "quantitative", "scale": y_scale},
                        "y2": {"field": "p90"},
                    },
                },
                {
                    "data": {"values": lines},
                    "mark": {"type": "line", "strokeWidth": 1.5},
                    "encoding": {
                        "x": x,
                        "y": {"field": "mfu", "type": "quantitative", "scale": y_scale},
                        "color": {
                            "field": "fitted at",
                            "type": "nominal",
                            "sort": [f"{c:,} chips" for c in CHIPS],
                            "scale": {"scheme": "viridis"},
                        },
                    },
                },
                {
                    "data": {"values": points},
                    "mark": {"type": "point", "filled": True, "size": 45, "color": "#e45756"},
                    "encoding": {
                        "x": x,
                        "y": {
                            "field": "mfu",
                            "type": "quantitative",
                            "scale": y_scale,
                            "title": "effective MFU",
                        },
                        "shape": {"field": "chips known", "type": "nominal"},
                        "tooltip": [
                            {"field": "run"},
                            {"field": "mfu", "format": ".2f"},
                            {"field": "chips"},
                        ],
                    },
                },
            ],
        },
        "resolve": {"scale": {"color": "shared"}},
    }


def _faceted(layered: dict[str, Any]) -> dict[str, Any]:
    """Vega-Lite facets one data set: tag every layer's rows with its layer and filter."""
    values = []
    layers = layered["spec"]["layer"]
    for i, layer in enumerate(layers):
        for row in layer.pop("data")["values"]:
            values.append({**row, "layer": i})
        layer["transform"] = [{"filter": f"datum.layer == {i}"}]
    layered["data"] = {"values": values}
    return layered


def render() -> str:
    return str(vl_convert.vegalite_to_svg(_faceted(spec())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=TARGET)
    parser.add_argument("--check", action="store_true", help="fail if the SVG would change")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        same = args.out.exists() and args.out.read_text("utf-8") == text
        if not same:
            print(f"would change: {args.out}", file=sys.stderr)
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text):,} bytes, {math.ceil(len(text) / 1024)} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
