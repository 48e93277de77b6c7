"""Write ``tests/expected/<example>.json``: every built-in example's JSON contract, as today's
code computes it, so a restructuring (issue 15) can show that it changed no number.

    python tools/write_expected.py [--check] [--day YYYY-MM-DD] [--samples N]

Each file is ``aibudget.estimate(name, samples=S, seed=0).to_dict()`` exactly (floats as
Python's ``repr`` writes them, nothing rounded). The outputs depend on the day they are made on
(prices' ages; today's prices when a scenario gives no start date), so every estimate is made
on one fixed day, through ``SOURCE_DATE_EPOCH``; that day, the samples and the seed are kept in
``tests/expected/_meta.json`` and a rewrite keeps them unless ``--day`` or ``--samples`` is
given. ``--check`` recomputes every example and exits 1, naming the JSON path of each
difference, when any differs beyond the tolerance (what ``tests/test_expected.py`` also
checks). This tool is not part of the package and is never imported by it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any

from aibudget._clock import estimates_on

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "expected"
META = TARGET / "_meta.json"

#: Numbers agree when within this relative difference, or this absolute one near zero.
REL_TOL = 1e-9
ABS_TOL = 1e-12
#: At most this many differences are named in a message.
SHOWN = 20


def read_meta() -> dict[str, Any]:
    """The day, samples and seed the committed files were made with."""
    meta: dict[str, Any] = json.loads(META.read_text(encoding="utf-8"))
    return meta


def examples() -> list[str]:
    """The built-in examples' names, sorted."""
    from aibudget.scenario.files import builtin_examples

    return sorted(builtin_examples())


def compute(name: str, samples: int, seed: int) -> Any:
    """One example's JSON contract as plain JSON data (what the file holds, read back)."""
    import aibudget

    data = aibudget.estimate(name, samples=samples, seed=seed).to_dict()
    return json.loads(dumps(data))


def dumps(data: Any) -> str:
    """The file's text: sorted keys off (the contract's order is kept), NaN and inf refused."""
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every difference between two JSON values, each as ``path: what``: keys missing on
    either side, lists of different lengths, different types, strings (and booleans, nulls)
    not equal, numbers beyond :data:`REL_TOL` (or :data:`ABS_TOL` near zero)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in expected:
            if key not in actual:
                out.append(f"{path}.{key}: missing now (expected {_short(expected[key])})")
        for key in actual:
            if key not in expected:
                out.append(f"{path}.{key}: new key (now {_short(actual[key])})")
        for key in expected:
            if key in actual:
                out.extend(differences(expected[key], actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        out = []
        if len(expected) != len(actual):
            out.append(f"{path}: {len(expected)} entries expected, {len(actual)} now")
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            out.extend(differences(e, a, f"{path}[{i}]"))
        return out
    if _is_number(expected) and _is_number(actual):
        if math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            return []
        rel = abs(actual - expected) / max(abs(expected), abs(actual))
        return [f"{path}: expected {expected!r}, now {actual!r} (relative difference {rel:.3g})"]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: expected {_short(expected)}, now {_short(actual)}"]
    return []


def _short(value: Any, width: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def report(name: str, found: list[str]) -> str:
    """A message naming the first :data:`SHOWN` differences of one example."""
    lines = [f"{name}: {len(found)} difference(s) from tests/expected/{name}.json"]
    lines += [f"  {d}" for d in found[:SHOWN]]
    if len(found) > SHOWN:
        lines.append(f"  … and {len(found) - SHOWN} more")
    return "\n".join(lines)


def check(meta: dict[str, Any]) -> int:
    day = dt.date.fromisoformat(meta["priced_on"])
    failures = []
    names = examples()
    on_disk = sorted(p.stem for p in TARGET.glob("*.json") if not p.name.startswith("_"))
    if on_disk != names:
        failures.append(f"files {on_disk} are not the built-in examples {names}")
    with estimates_on(day):
        for name in names:
            path = TARGET / f"{name}.json"
            if not path.exists():
                continue
            expected = json.loads(path.read_text(encoding="utf-8"))
            found = differences(expected, compute(name, meta["samples"], meta["seed"]))
            if found:
                failures.append(report(name, found))
    if failures:
        print("\n".join(failures), file=sys.stderr)
        print("a deliberate change: python tools/write_expected.py", file=sys.stderr)
        return 1
    print(f"{len(names)} examples match {TARGET.relative_to(ROOT)} (priced on {day})")
    return 0


def write(meta: dict[str, Any]) -> int:
    day = dt.date.fromisoformat(meta["priced_on"])
    TARGET.mkdir(parents=True, exist_ok=True)
    names = examples()
    for stale in TARGET.glob("*.json"):
        if not stale.name.startswith("_") and stale.stem not in names:
            stale.unlink()
    with estimates_on(day):
        for name in names:
            text = dumps(compute(name, meta["samples"], meta["seed"]))
            (TARGET / f"{name}.json").write_text(text, encoding="utf-8")
    META.write_text(dumps(meta), encoding="utf-8")
    total = sum(p.stat().st_size for p in TARGET.glob("*.json"))
    print(
        f"wrote {len(names)} examples to {TARGET.relative_to(ROOT)} (priced on {day}, "
        f"{meta['samples']:,} samples, seed {meta['seed']}; {total / 1e6:.2f} MB)"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file differs")
    parser.add_argument("--day", type=dt.date.fromisoformat, help="price on this day instead")
    parser.add_argument("--samples", type=int, help="Monte Carlo draws instead")
    args = parser.parse_args()
    meta: dict[str, Any] = (
        read_meta() if META.exists() else {"priced_on": None, "samples": 2000, "seed": 0}
    )
    if args.check:
        if args.day or args.samples:
            parser.error("--check uses the recorded day and samples")
        return check(meta)
    if args.day:
        meta["priced_on"] = args.day.isoformat()
    if args.samples is not None:
        if args.samples < 0:
            parser.error("--samples must be 0 or more")
        meta["samples"] = args.samples
    if meta["priced_on"] is None:
        meta["priced_on"] = dt.date.today().isoformat()
    return write(meta)


if __name__ == "__main__":
    sys.exit(main())
