"""Move aibudget's modules into its layers, mechanically, on whatever the code is today.

Usage (from the repository root, on a clean tree)::

    python tools/relayer.py            # move, split, rewrite imports, ruff --fix and format
    python tools/relayer.py --dry-run  # print the plan (moves, splits, each name's new module)

The layout is the data below: ``MOVES`` (whole modules, ``git mv``) and ``SPLITS`` (a single
module turned into a package of modules, each top-level definition placed by the first group
whose patterns match its name; a name no group matches goes to the split's fallback module and
is printed). Each new module's imports are computed from the names it uses (ast): the original
module's imports it needs, and its sibling modules' definitions, private helpers included.
Siblings import each other at the top where the definitions need it (class bases, decorators,
defaults, field annotations, module-level values); a use only inside a function that would make
a cycle becomes an import inside that function, an annotation-only one a ``TYPE_CHECKING``
import. The package's ``__init__`` re-exports the old module's names, so ``aibudget.x.name``
keeps working; every ``from aibudget.x import name`` in src, tests, tools, benchmarks and the
docs is rewritten to the defining module, and dotted names and paths of moved modules in any text
(strings, docs, pyproject's mypy overrides and import-linter contracts; ``aibudget.tradeoffs(...)``,
the API's function, is left alone). Prose lines the longer names push past 100 columns are
rewrapped; ruff fixes the import order and formats. A move or split whose source is gone (someone
did it already) is skipped, saying so. The script stops, changing nothing, on a cycle it cannot
break (two groups that need each other when they load: regroup them in SPLITS).

Afterwards: ``ruff check src tests benchmarks tools``, ``mypy``, ``lint-imports`` and the tests.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import io
import re
import subprocess
import sys
import textwrap
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PKG = SRC / "aibudget"

# New packages and the one-line map their __init__ docstring starts with.
PACKAGES = {
    "aibudget.analysis": "Questions asked of many estimates: comparisons, sweeps, trade-offs, "
    "validation against published runs and serving results. Never resolves a scenario itself.",
}

# Whole modules: old dotted name → new dotted name.
MOVES = {
    "aibudget.runs": "aibudget.catalog.runs",
    "aibudget.calibration": "aibudget.model.calibration",
    "aibudget.comparison": "aibudget.analysis.comparison",
    "aibudget.tradeoffs": "aibudget.analysis.tradeoffs",
    "aibudget.validation": "aibudget.analysis.validation",
    "aibudget.serving_validation": "aibudget.analysis.serving_validation",
}


@dataclass
class Split:
    """One module (or a package's ``__init__``) split into modules of a package."""

    module: str  # dotted name of the module to split
    doc: str  # the package's one-line docstring map
    groups: dict[str, tuple[str, list[str]]]  # submodule → (its docstring, name patterns)
    fallback: str  # the submodule of names no pattern matches
    notes: list[str] = field(default_factory=list)


SPLITS = [
    Split(
        "aibudget.catalog",
        "The sourced catalog, one module per table; each reader typed, cached and laid over the "
        "price packs in use (packs); the reference runs (runs), MLPerf (serving), the fitted "
        "utilisation (mfu).",
        {
            "rows": (
                "Reading the catalog's CSV tables: rows, numbers, required cells, names.",
                [
                    "_rows",
                    "_where",
                    "_number",
                    "_required",
                    "_split",
                    "normalize_name",
                    "PRECISIONS",
                    "PRICINGS",
                    "_day",
                ],
            ),
            "hardware": (
                "The accelerators table.",
                ["Accelerator", "accelerators", "_accelerator_index", "accelerator"],
            ),
            "cloud": (
                "Cloud listings: prices, their history and trend, reserved ratios.",
                [
                    "CloudPrice",
                    "prices",
                    "_describe",
                    "reference_price",
                    "PriceChoice",
                    "HistoricPrice",
                    "DatedPrice",
                    "price_history",
                    "_same_listing",
                    "dated_price",
                    "ListedPriceTrend",
                    "listed_price_trend",
                    "ReservedRatio",
                    "reserved_ratio",
                ],
            ),
            "power": (
                "Grid carbon intensity and electricity prices.",
                [
                    "GridIntensity",
                    "grid",
                    "_grid_index",
                    "grid_intensity",
                    "ElectricityPrice",
                    "electricity_prices",
                    "electricity_price",
                ],
            ),
            "apis": (
                "Hosted model APIs and their prices.",
                ["ApiModel", "api_models", "api_model"],
            ),
            "people": ("Wages by role and country.", ["Wage", "wages", "wage", "country_of"]),
            "defaults": (
                "Constants (one lookup rule, most specific key first) and scaling laws.",
                [
                    "Constant",
                    "constants",
                    "constant",
                    "constant_for",
                    "calibration",
                    "ScalingLawRow",
                    "scaling_laws",
                    "scaling_law",
                ],
            ),
            "tables": ("Every table by name, for listings and checks.", ["TABLES", "table"]),
        },
        fallback="rows",
    ),
    Split(
        "aibudget.scenario",
        "Scenario files: the pydantic types (types), ranges and field limits (ranges), "
        "reading files and examples (files), --set overrides (overrides).",
        {
            "types": ("The scenario's pydantic models and their field types.", ["*"]),
            "ranges": (
                "Ranges in a scenario (low..high, distributions) and the fields' limits.",
                [
                    "_describe",
                    "_number",
                    "_range_text",
                    "_LIMITS",
                    "numeric_fields",
                    "range_text",
                    "field_limits",
                    "_problems_error",
                    "CHOICES",
                    "_scalar_annotation",
                    "_base_type",
                    "_bounds",
                    "_range",
                    "_split_ranges",
                    "_stand_in",
                ],
            ),
            "files": (
                "Reading a scenario: files, built-in examples, dicts; size and nesting guards.",
                [
                    "MAX_DEPTH",
                    "MAX_VALUES",
                    "check_size",
                    "MAX_BRACKET_DEPTH",
                    "_BRACKET_STEP",
                    "check_nesting",
                    "scenario_from_dict",
                    "_example_texts",
                    "builtin_examples",
                    "_LOADER",
                    "_parse_text",
                    "_parsed_example",
                    "read_scenario_data",
                    "load_scenario",
                ],
            ),
            "overrides": (
                "--set overrides applied to a scenario's data.",
                ["apply_overrides", "set_value"],
            ),
        },
        fallback="types",
    ),
    Split(
        "aibudget.resolution",
        "Scenario → named assumptions → the model's input arrays, one module per phase; the "
        "only reader of the catalog during an estimate.",
        {
            "resolver": (
                "The Resolver: every value recorded as a named assumption with its source.",
                ["Value", "Resolver", "Resolved", "_from_constant", "_median"],
            ),
            "site": (
                "Where the chips run: the site, its power chain, electricity and grid.",
                [
                    "_site",
                    "_environment",
                    "market_based",
                    "_hardware_age",
                    "_facility",
                    "_electricity",
                    "_grid",
                ],
            ),
            "prices": (
                "Cloud and owned prices, dated, and the ways they are billed.",
                [
                    "_pricing",
                    "_cloud_price",
                    "_price_trend",
                    "_price_today",
                    "CHIPS_PER_INSTANCE",
                    "_spot_preemptions",
                    "_minimum_billing",
                ],
            ),
            "training": (
                "The training run: size, tokens, scaling law, utilisation, chips.",
                [
                    "_training*",
                    "LARGE_BATCH_MEMORY_GB",
                    "DEFAULT_SCALING_LAW",
                    "_scaling_law",
                    "_tokens_for_loss",
                    "_lora",
                    "default_mfu*",
                ],
            ),
            "data": ("Data acquisition, cleaning, annotation and synthesis.", ["_data*"]),
            "people": (
                "The team: roles, wages, hours.",
                ["_people", "_hourly", "_team_location", "_roles", "ROLE_ALIASES", "_salary"],
            ),
            "experiments": ("Search, tuning and failed runs.", ["_experiments*"]),
            "serving": (
                "Serving: hosted APIs or self-hosted replicas, the chip, the KV cache.",
                [
                    "_serving*",
                    "SERVING_WEIGHT_BYTES",
                    "_api_*",
                    "_served_params",
                    "_model_shape",
                    "_egress",
                    "_kv_cache",
                    "serving_variant",
                ],
            ),
            "maintenance": ("Maintenance and the horizon.", ["_maintenance*", "_horizon"]),
            "lifecycle": (
                "resolve(): every phase into one LifecycleInputs.",
                ["resolve", "_no_training"],
            ),
        },
        fallback="resolver",
    ),
    Split(
        "aibudget.estimation",
        "Scenario → Estimate: run the model (run), the bill (bill), explanations (explain), "
        "checks (checks), floor and sizing (floor), sensitivity, a sweep's points (grid), the "
        "JSON contract (contract).",
        {
            "contract": (
                "The Estimate and its records: what to_dict() writes (the JSON contract).",
                [
                    "Array",
                    "MEASURES",
                    "ENVIRONMENT_MEASURES",
                    "DEFAULT_SAMPLES",
                    "summarize",
                    "mean_of",
                    "LineItem",
                    "Phase",
                    "Explanation",
                    "Sensitivity",
                    "Estimate",
                    "_Summaries",
                ],
            ),
            "bill": (
                "The bill: line items per phase, with their formulas.",
                ["_PER_CHIP_HOUR", "_ITEMS", "_phases", "_label", "_memo_label", "_known"],
            ),
            "explain": (
                "--explain: each figure's formula, inputs and sources.",
                ["_FIGURES", "_first", "_explanations", "_*_explanations", "_names"],
            ),
            "checks": (
                "Refusals and warnings: fit in memory, latency, API sizes.",
                ["_check_*", "_NARROWER", "_same_size_apis"],
            ),
            "floor": (
                "The cost floor, the sizing and the serving curve.",
                ["_floor*", "_sizing", "_cheapest_listing", "CURVE_POINTS", "_serving_curve"],
            ),
            "sensitivity": ("The tornado: each assumption's swing.", ["_sensitivity"]),
            "grid": (
                "Many points of a sweep in one resolution and one model call: their figures.",
                ["estimate_grid", "_per_point", "_failing", "_figure_arrays", "_summaries"],
            ),
            "run": (
                "estimate(): resolve, run the model (point, draws, tornado), shape it.",
                [
                    "estimate",
                    "_estimate",
                    "_drawn_figures",
                    "_with_draws",
                    "_prices",
                    "_stale_note",
                ],
            ),
        },
        fallback="run",
    ),
]

# The import-linter layers, top first, written into pyproject.toml (see [tool.importlinter]).
TEXT_SUFFIXES = {".py", ".md", ".toml", ".ipynb", ".yaml", ".yml", ".cfg", ".txt"}
TEXT_DIRS = [
    "src",
    "tests",
    "tools",
    "benchmarks",
    "docs",
    "README.md",
    "pyproject.toml",
    "scripts",
    ".ci",
]


# ---------------------------------------------------------------------------------------------
# Reading a module: its definitions and the names each uses


@dataclass
class Unit:
    """A top-level statement of the module being split, and what it needs."""

    node: ast.stmt
    defines: list[str]
    at_import: set[str] = field(default_factory=set)  # names evaluated when the module loads
    in_annotations: set[str] = field(default_factory=set)  # in signatures (not evaluated)
    in_bodies: dict[int, set[str]] = field(default_factory=dict)  # function index → names
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=list)
    lead: str = ""  # the comment lines just above it in the original module
    gap: int = 2  # blank lines between it and the statement before it in the original


def _names(node: ast.AST | None, annotation: bool = False) -> set[str]:
    """The names ``node`` reads; in an annotation, those of string annotations too."""
    found: set[str] = set()
    if node is None:
        return found
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif annotation and isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            try:  # a string annotation such as "pd.DataFrame"
                tree = ast.parse(sub.value, mode="eval")
            except SyntaxError:
                continue
            found |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return found


def _locals(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names a function binds itself (arguments, assignments, loops, imports, nested defs)."""
    a = fn.args
    bound = {
        arg.arg
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
        if arg is not None
    }
    for sub in ast.walk(fn):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store | ast.Del):
            bound.add(sub.id)
        elif (
            isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and sub is not fn
        ):
            bound.add(sub.name)
        elif isinstance(sub, ast.Import | ast.ImportFrom):
            bound |= {x.asname or x.name.split(".")[0] for x in sub.names}
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bound.add(sub.name)
    return bound


def _signature(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[set[str], set[str]]:
    """(names evaluated at definition: decorators, defaults; names in annotations)."""
    now = set().union(*(_names(d) for d in fn.decorator_list))
    a = fn.args
    for d in [*a.defaults, *a.kw_defaults]:
        now |= _names(d)
    notes = _names(fn.returns, annotation=True)
    for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
        if arg is not None:
            notes |= _names(arg.annotation, annotation=True)
    return now, notes


def _defined(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, getattr(ast, "TypeAlias", ())) and isinstance(node.name, ast.Name):
        return [node.name.id]
    if isinstance(node, ast.If | ast.Try | ast.With):
        return [
            name
            for sub in ast.iter_child_nodes(node)
            if isinstance(sub, ast.stmt)
            for name in _defined(sub)
        ]
    return []


def _unit(node: ast.stmt) -> Unit:
    unit = Unit(node, _defined(node))

    def function(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        now, notes = _signature(fn)
        unit.at_import |= now
        unit.in_annotations |= notes
        unit.functions.append(fn)
        used = set().union(*(_names(s) for s in fn.body))
        unit.in_bodies[len(unit.functions) - 1] = used - _locals(fn)

    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        function(node)
    elif isinstance(node, ast.ClassDef):
        for part in [*node.bases, *node.keywords, *node.decorator_list]:
            unit.at_import |= _names(part)
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                function(stmt)
            else:  # field annotations count: pydantic and dataclasses read them at definition
                unit.at_import |= _names(stmt)
                if isinstance(stmt, ast.AnnAssign):
                    unit.at_import |= _names(stmt.annotation, annotation=True)
    else:
        unit.at_import |= _names(node)
    return unit


@dataclass
class Module:
    path: Path
    text: str
    tree: ast.Module
    doc: str | None
    header: list[ast.stmt]  # imports (and TYPE_CHECKING blocks of imports)
    units: list[Unit]
    all_names: list[str] | None
    imported: dict[str, str]  # a name the module imports → "module:name" or "module"


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in (
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    )


def read_module(path: Path) -> Module:
    text = path.read_text("utf-8")
    tree = ast.parse(text)
    body = list(tree.body)
    doc = ast.get_docstring(tree, clean=False)
    if doc is not None:
        body = body[1:]
    header: list[ast.stmt] = []
    units: list[Unit] = []
    all_names: list[str] | None = None
    imported: dict[str, str] = {}
    lines = text.splitlines(keepends=True)
    previous_end = tree.body[0].end_lineno if doc is not None else 0
    for node in body:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        between = lines[(previous_end or 0) : start - 1]
        previous_end = node.end_lineno
        if isinstance(node, ast.Import | ast.ImportFrom) or (
            _is_type_checking(node)
            and all(isinstance(s, ast.Import | ast.ImportFrom) for s in node.body)  # type: ignore[attr-defined]
        ):
            header.append(node)
            for imp in ast.walk(node):
                if isinstance(imp, ast.ImportFrom) and imp.module and imp.level == 0:
                    for alias in imp.names:
                        imported[alias.asname or alias.name] = f"{imp.module}:{alias.name}"
                elif isinstance(imp, ast.Import):
                    for alias in imp.names:
                        imported[alias.asname or alias.name.split(".")[0]] = alias.name
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "__all__"
        ):
            all_names = list(ast.literal_eval(node.value))
        else:
            unit = _unit(node)
            gap = 0
            while between and not between[0].strip():
                between.pop(0)
                gap += 1
            while between and not between[-1].strip():
                between.pop()
            if between and all(line.lstrip().startswith("#") for line in between):
                unit.lead = "".join(between)
            unit.gap = min(gap, 2)
            units.append(unit)
    return Module(path, text, tree, doc, header, units, all_names, imported)


def module_path(dotted: str) -> Path:
    base = SRC.joinpath(*dotted.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


# ---------------------------------------------------------------------------------------------
# Planning a split


@dataclass
class Plan:
    split: Split
    module: Module
    home: dict[str, str]  # top-level name → submodule
    order: list[str]  # submodules, lowest first (each may import those before it at the top)
    top: dict[str, dict[str, set[str]]]  # submodule → {sibling: names imported at the top}
    typing_only: dict[str, dict[str, set[str]]]  # submodule → {sibling: names}
    lazy: dict[tuple[str, int, int], dict[str, set[str]]]  # (sub, unit, fn) → {sibling: names}


def _group(split: Split, name: str) -> str | None:
    for sub, (_doc, patterns) in split.groups.items():
        if any(p != "*" and fnmatch.fnmatchcase(name, p) for p in patterns):
            return sub
    return None


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        here = todo.pop()
        if here == goal:
            return True
        if here not in seen:
            seen.add(here)
            todo.extend(edges.get(here, ()))
    return False


def plan_split(split: Split) -> Plan:
    mod = read_module(module_path(split.module))
    home: dict[str, str] = {}
    unit_home: list[str] = []
    for unit in mod.units:
        sub = next((g for g in map(lambda n: _group(split, n), unit.defines) if g), None)
        if sub is None and not unit.defines:  # a statement: beside the last name it uses
            used = [
                home[n]
                for n in (unit.at_import | set().union(*unit.in_bodies.values()))
                if n in home
            ]
            sub = max(used, key=list(split.groups).index) if used else split.fallback
        if sub is None:
            sub = split.fallback
            wildcard = any("*" in pats for _d, pats in [split.groups[sub]])
            if not wildcard:
                split.notes.append(
                    f"{split.module}: {', '.join(unit.defines)} matched no "
                    f"group: put in {split.fallback}"
                )
        for name in unit.defines:
            home[name] = sub
        unit_home.append(sub)
    subs = list(split.groups)
    for sub in subs:
        if sub in home or (mod.all_names and sub in mod.all_names):
            raise SystemExit(f"{split.module}: submodule {sub!r} would shadow the name {sub!r}")
    # Edges: names each submodule needs from its siblings, by when they are needed.
    hard: dict[str, set[str]] = {s: set() for s in subs}
    needs: dict[tuple[str, str], dict[str, set[str]]] = {}  # (from, to) → kind → names

    def need(sub: str, names: set[str], kind: str) -> None:
        for name in names:
            other = home.get(name)
            if other and other != sub:
                needs.setdefault((sub, other), {}).setdefault(kind, set()).add(name)

    for unit, sub in zip(mod.units, unit_home, strict=True):
        need(sub, unit.at_import, "import")
        need(sub, unit.in_annotations, "annotation")
        need(sub, set().union(*unit.in_bodies.values()), "call")
    for (a, b), kinds in needs.items():
        if "import" in kinds:
            hard[a].add(b)
    for a in subs:
        for b in hard[a]:
            if _reaches(hard, b, a):
                names = sorted(needs[(a, b)]["import"])
                raise SystemExit(
                    f"{split.module}: {a} and {b} need each other when they load "
                    f"({a} uses {names} of {b}): regroup them in SPLITS"
                )
    edges = {s: set(v) for s, v in hard.items()}
    # Soft needs: a top import where it makes no cycle, lower groups (listed first) first.
    soft = sorted(
        (k for k, v in needs.items() if "import" not in v),
        key=lambda k: (-subs.index(k[0]), subs.index(k[1])),
    )
    for a, b in soft:
        if not _reaches(edges, b, a):
            edges[a].add(b)
    top: dict[str, dict[str, set[str]]] = {s: {} for s in subs}
    typing_only: dict[str, dict[str, set[str]]] = {s: {} for s in subs}
    lazy: dict[tuple[str, int, int], dict[str, set[str]]] = {}
    for (a, b), kinds in needs.items():
        if b in edges[a]:
            top[a][b] = set().union(*kinds.values())
            continue
        if kinds.get("annotation"):
            typing_only[a][b] = set(kinds["annotation"])
    for index, (unit, sub) in enumerate(zip(mod.units, unit_home, strict=True)):
        for fn_index, names in unit.in_bodies.items():
            for name in names:
                other = home.get(name)
                if other and other != sub and other not in edges[sub]:
                    lazy.setdefault((sub, index, fn_index), {}).setdefault(other, set()).add(name)
    order: list[str] = []
    while len(order) < len(subs):
        for s in subs:
            if s not in order and edges[s] <= set(order):
                order.append(s)
                break
    return Plan(split, mod, home, order, top, typing_only, lazy)


# ---------------------------------------------------------------------------------------------
# Writing a split


def _with_lazy(mod: Module, unit: Unit, inserts: dict[int, list[str]]) -> str:
    """The unit's source with an import line at the start of each function listed."""
    node = unit.node
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    lines = mod.text.splitlines(keepends=True)[start - 1 : node.end_lineno]
    at: dict[int, list[str]] = {}
    for fn_index, imports in inserts.items():
        fn = unit.functions[fn_index]
        body = fn.body
        first = (
            body[1]
            if (
                len(body) > 1
                and isinstance(body[0], ast.Expr)
                and isinstance(getattr(body[0], "value", None), ast.Constant)
            )
            else body[0]
        )
        if first.lineno == fn.lineno:
            raise SystemExit(f"{mod.path}: {fn.name} is on one line; cannot add an import")
        indent = " " * first.col_offset
        at.setdefault(first.lineno - start, []).extend(f"{indent}{i}\n" for i in imports)
    out: list[str] = [unit.lead]
    for i, line in enumerate(lines):
        out.extend(at.get(i, []))
        out.append(line)
    return "".join(out)


def _import_line(module: str, names: set[str]) -> str:
    return f"from {module} import {', '.join(sorted(names))}"


def _header_needed(mod: Module, used: set[str]) -> list[str]:
    lines: list[str] = []
    for node in mod.header:
        if _is_type_checking(node):
            kept = [_kept(s, used) for s in node.body]  # type: ignore[attr-defined]
            kept = [k for k in kept if k]
            if kept:
                lines.append("if TYPE_CHECKING:\n" + "".join(f"    {k}\n" for k in kept))
        else:
            k = _kept(node, used)
            if k:
                lines.append(k + "\n")
    return lines


def _kept(node: ast.stmt, used: set[str]) -> str | None:
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return None
    assert isinstance(node, ast.Import | ast.ImportFrom)
    names = [a for a in node.names if (a.asname or a.name.split(".")[0]) in used or a.name == "*"]
    if not names:
        return None
    copy = (
        ast.ImportFrom(node.module, names, node.level)
        if isinstance(node, ast.ImportFrom)
        else ast.Import(names)
    )
    return ast.unparse(copy)


def write_split(plan: Plan, dry_run: bool) -> None:
    split, mod = plan.split, plan.module
    pkg_dir = SRC.joinpath(*split.module.split("."))
    by_sub: dict[str, list[int]] = {s: [] for s in split.groups}
    unit_home = []
    for i, unit in enumerate(mod.units):
        sub = plan.home[unit.defines[0]] if unit.defines else _statement_home(plan, unit)
        by_sub[sub].append(i)
        unit_home.append(sub)
    files: dict[Path, str] = {}
    for sub, indices in by_sub.items():
        if not indices:
            continue
        doc, _ = split.groups[sub]
        used: set[str] = set()
        for i in indices:
            u = mod.units[i]
            used |= u.at_import | u.in_annotations | set().union(*u.in_bodies.values())
        body_parts: list[str] = []
        for i in indices:
            if body_parts:  # the original spacing between neighbours, two blank lines otherwise
                gap = mod.units[i].gap if i - 1 in indices else 2
                body_parts.append("\n" * gap)
            inserts: dict[int, list[str]] = {}
            for (s, ui, fi), wants in plan.lazy.items():
                if s == sub and ui == i:
                    inserts[fi] = [
                        _import_line(f"{split.module}.{o}", n) for o, n in sorted(wants.items())
                    ]
            body_parts.append(_with_lazy(mod, mod.units[i], inserts))
        siblings = [
            _import_line(f"{split.module}.{o}", n) for o, n in sorted(plan.top[sub].items())
        ]
        typing = [
            _import_line(f"{split.module}.{o}", n) for o, n in sorted(plan.typing_only[sub].items())
        ]
        header = _header_needed(mod, used)
        if typing or any(h.startswith("if TYPE_CHECKING:") for h in header):
            used.add("TYPE_CHECKING")
            header = _header_needed(mod, used)
            if not any(re.match(r"from typing import .*\bTYPE_CHECKING\b", h) for h in header):
                header.insert(0, "from typing import TYPE_CHECKING\n")
        text = (
            f'"""{_wrap(doc)}"""\n\nfrom __future__ import annotations\n\n'
            + "".join(header)
            + "".join(line + "\n" for line in siblings)
        )
        if typing:
            text += "\nif TYPE_CHECKING:\n" + "".join(f"    {t}\n" for t in typing)
        text += "\n\n" + "".join(body_parts)
        files[pkg_dir / f"{sub}.py"] = text
    # The package: the old module's names, re-exported from where each is defined now.
    public = mod.all_names or [n for u in mod.units for n in u.defines if not n.startswith("_")]
    wanted = set(public) | _private_names_used_elsewhere(split.module, plan.home)
    by_origin: dict[str, set[str]] = {}
    for name in sorted(wanted):
        if name in plan.home:
            by_origin.setdefault(f"{split.module}.{plan.home[name]}", set()).add(name)
        elif name in mod.imported and ":" in mod.imported[name]:
            origin, _, real = mod.imported[name].partition(":")
            by_origin.setdefault(origin, set()).add(name if real == name else real)
    lines = []
    for origin in sorted(
        by_origin,
        key=lambda o: (
            plan.order.index(o.rsplit(".", 1)[1]) if o.startswith(split.module + ".") else -1
        ),
    ):
        names = sorted(by_origin[origin])
        listed = set(mod.all_names or ())  # exported by __all__; any other name by "as"
        shown = [n if n in listed else f"{n} as {n}" for n in names]
        lines.append(f"from {origin} import {', '.join(shown)}\n")  # ruff format wraps it
    modules = ", ".join(s for s in plan.order if by_sub[s])
    old_doc = (mod.doc or "").strip()
    init = (
        f'"""{_wrap(split.doc)}\n\n{_wrap(f"Modules: {modules}.")}\n\n{old_doc}\n"""\n\n'
        "from __future__ import annotations\n\n" + "".join(lines)
    )
    if mod.all_names is not None:
        init += "\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in mod.all_names) + "]\n"
    files[pkg_dir / "__init__.py"] = init
    if dry_run:
        print(f"split {split.module} → {', '.join(plan.order)}")
        for sub in plan.order:
            names = sorted(n for n, s in plan.home.items() if s == sub)
            print(f"  {sub}: {' '.join(names)}")
        return
    if not pkg_dir.is_dir():
        pkg_dir.mkdir()
        _git("mv", str(mod.path), str(pkg_dir / "__init__.py"))
    for path, text in files.items():
        path.write_text(text, "utf-8")
    _git("add", str(pkg_dir))


def _statement_home(plan: Plan, unit: Unit) -> str:
    used = [
        plan.home[n]
        for n in (unit.at_import | set().union(*unit.in_bodies.values()))
        if n in plan.home
    ]
    subs = list(plan.split.groups)
    return max(used, key=subs.index) if used else plan.split.fallback


def _private_names_used_elsewhere(dotted: str, home: dict[str, str]) -> set[str]:
    """Private names read as ``<module>.<name>`` outside the module (kept in the package)."""
    tail = dotted.rsplit(".", 1)[1]
    pattern = re.compile(rf"\b{re.escape(tail)}\.(_[A-Za-z]\w*)")
    found: set[str] = set()
    for path in _text_files(".py"):
        found |= {m for m in pattern.findall(path.read_text("utf-8")) if m in home}
    return found


# ---------------------------------------------------------------------------------------------
# Rewriting imports everywhere


def _text_files(*suffixes: str) -> list[Path]:
    out: list[Path] = []
    for entry in TEXT_DIRS:
        path = ROOT / entry
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            out.extend(
                p
                for p in path.rglob("*")
                if p.is_file()
                and "/." not in str(p)
                and "node_modules" not in p.parts
                and "expected" not in p.parts
            )
    me = Path(__file__).resolve()
    return [p for p in out if p.suffix in (suffixes or TEXT_SUFFIXES) and p.resolve() != me]


@dataclass
class Where:
    """Where each old name lives now."""

    moves: dict[str, str]  # whole modules: old → new
    homes: dict[str, dict[str, str]]  # split module → {name: its new module}

    def module(self, dotted: str) -> str:
        for old, new in sorted(self.moves.items(), key=lambda kv: -len(kv[0])):
            if dotted == old or dotted.startswith(old + "."):
                return new + dotted[len(old) :]
        return dotted

    def name(self, module: str, name: str) -> str:
        """The module to import ``name`` from, for ``from module import name``."""
        module = self.module(module)
        return self.homes.get(module, {}).get(name, module)


def rewrite_imports(source: str, where: Where) -> str:
    """``source`` with each import of a moved or split module pointing at the new module."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.startswith("aibudget")
        ):
            groups: dict[str, list[ast.alias]] = {}
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in where.moves:  # from aibudget import comparison
                    new = where.moves[sub]
                    parent, _, leaf = new.rpartition(".")
                    renamed = ast.alias(
                        leaf, alias.asname or (alias.name if leaf != alias.name else None)
                    )
                    groups.setdefault(parent, []).append(renamed)
                else:
                    groups.setdefault(where.name(node.module, alias.name), []).append(alias)
            if list(groups) == [node.module]:
                continue
            indent = " " * node.col_offset
            text = "\n".join(
                f"{indent if i else ''}{ast.unparse(ast.ImportFrom(m, a, 0))}"
                for i, (m, a) in enumerate(groups.items())
            )
            edits.append(
                (
                    node.lineno,
                    node.end_lineno or node.lineno,
                    lines[node.lineno - 1][: node.col_offset] + text + "\n",
                )
            )
        elif isinstance(node, ast.Import):
            names = [ast.alias(where.module(a.name), a.asname) for a in node.names]
            if [a.name for a in names] != [a.name for a in node.names]:
                if any(a.asname is None and where.module(a.name) != a.name for a in node.names):
                    pass  # a plain dotted import: its uses are rewritten as text below
                edits.append(
                    (
                        node.lineno,
                        node.end_lineno or node.lineno,
                        lines[node.lineno - 1][: node.col_offset]
                        + ast.unparse(ast.Import(names))
                        + "\n",
                    )
                )
    for start, end, text in sorted(edits, reverse=True):
        tail = lines[end - 1]
        if "#" in tail and start == end:  # a comment after a one-line import stays
            text = text.rstrip("\n") + "  " + tail[tail.index("#") :].rstrip("\n") + "\n"
        lines[start - 1 : end] = [text]
    return "".join(lines)


def rewrite_dotted(text: str, where: Where, guard_api: bool = True) -> str:
    """Dotted names and paths of moved modules in any text (docs, strings, pyproject)."""
    for old, new in sorted(where.moves.items(), key=lambda kv: -len(kv[0])):
        # aibudget.tradeoffs(...) is also the API's function: only its dotted members move
        public = guard_api and old.count(".") == 1 and old.rsplit(".", 1)[1] in _public_api()
        after = r"(?=\.\w)" if public else r"(?![\w])"
        pattern = re.compile(rf"(?<![\w.]){re.escape(old)}{after}")
        anywhere = re.compile(rf"(?<![\w.]){re.escape(old)}(?![\w])")
        text = "".join(  # on a line that imports it, the module is meant even if public
            anywhere.sub(new, line) if re.search(r"\bimport\b", line) else pattern.sub(new, line)
            for line in text.splitlines(keepends=True)
        )
        old_path, new_path = old.replace(".", "/") + ".py", new.replace(".", "/") + ".py"
        text = re.sub(rf"(?<![\w/]){re.escape(old_path)}", new_path, text)
    return text


def _public_api() -> set[str]:
    """The names ``aibudget`` itself exports (its ``__all__``)."""
    init = read_module(PKG / "__init__.py")
    return set(init.all_names or ())


_CODE_BLOCK = re.compile(r"(```(?:python|py|pycon)?\n)(.*?)(```)", re.S)


def rewrap(text: str, width: int = 100) -> str:
    """Prose lines (comments, docstrings) the longer names pushed past ``width``: the words
    past it start the next line (a comment's with its ``#``). Code is left to ruff format."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    prose: set[int] = set()  # lines inside a multi-line string
    for tok in tokens:
        if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
            prose.update(range(tok.start[0] + 1, tok.end[0] + 1))
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        body = lines[i].rstrip("\n")
        stripped = body.lstrip()
        comment = stripped.startswith("#")
        cut = body.rfind(" ", len(body) - len(stripped) + 2, width + 1)
        if len(body) <= width or not (comment or i + 1 in prose) or cut < 0:
            i += 1
            continue
        indent = body[: len(body) - len(stripped)]
        lead = indent + ("# " if comment else "")
        rest = body[cut + 1 :]
        lines[i] = body[:cut] + "\n"
        after = lines[i + 1].rstrip("\n") if i + 1 < len(lines) else ""
        same = after.startswith(lead) and after[len(lead) :][:1] not in ("", " ", "-", "*", '"')
        if same and (comment or i + 2 in prose) and not rest.rstrip().endswith('"""'):
            lines[i + 1] = lead + rest + " " + after[len(lead) :] + "\n"  # joined, then refit
        else:
            lines.insert(i + 1, lead + rest + "\n")
            prose = {n + 1 if n > i + 1 else n for n in prose} | ({i + 2} if not comment else set())
        i += 1
    return "".join(lines)


def rewrite_file(path: Path, where: Where) -> bool:
    before = path.read_text("utf-8")
    text = before
    if path.suffix == ".py":
        text = rewrite_imports(text, where)
    elif path.suffix == ".md":
        text = _CODE_BLOCK.sub(lambda m: m[1] + rewrite_imports(m[2], where) + m[3], text)
    text = rewrite_dotted(text, where, guard_api=path.suffix != ".toml")
    if path.suffix == ".py" and text != before:
        text = rewrap(text)
    if text != before:
        path.write_text(text, "utf-8")
        return True
    return False


# ---------------------------------------------------------------------------------------------
# The public API and pyproject


def fix_lazy_api(where: Where) -> None:
    """aibudget/__init__.py's _LAZY: a module that was also its function moved away, so the
    name is now the API's function (aibudget.api) with no module in the way."""
    init = PKG / "__init__.py"
    text = init.read_text("utf-8")
    api = read_module(module_path("aibudget.api")) if module_path("aibudget.api").exists() else None
    api_names = {n for u in api.units for n in u.defines} if api else set()
    for old, new in where.moves.items():
        leaf = old.rsplit(".", 1)[1]
        if old == f"aibudget.{leaf}" and leaf in api_names:
            text = re.sub(
                rf'("{leaf}":\s*)"(?:{re.escape(new)}|{re.escape(old)})"(,\s*#[^\n]*)?',
                r'\1"aibudget.api",  # a function of the API (the module moved to the layers)',
                text,
            )
    init.write_text(text, "utf-8")


def fix_pyproject(where: Where, splits: list[Split]) -> None:
    path = ROOT / "pyproject.toml"
    text = path.read_text("utf-8")
    for split in splits:  # a mypy override of a split module covers its new modules too
        text = re.sub(
            rf'^(module = \[.*)"{re.escape(split.module)}"(?=[,\]])',
            rf'\1"{split.module}", "{split.module}.*"',
            text,
            flags=re.M,
        )
    text = re.sub(r'^(\s*)"(aibudget[\w.]*(?: [:|] aibudget[\w.]*)+)",$', _layer, text, flags=re.M)
    text = re.sub(r"^(source_modules = )\[(.*)\]$", _sources, text, flags=re.M)
    path.write_text(text, "utf-8")


def _sources(match: re.Match[str]) -> str:
    """A forbidden contract's sources, all now in one new package: the package (so a module
    added to it later is covered)."""
    names = re.findall(r'"([\w.]+)"', match[2])
    parents = {n.rpartition(".")[0] for n in names}
    if len(parents) == 1 and parents <= set(PACKAGES):
        return f'{match[1]}["{parents.pop()}"]'
    return match[0]


def _layer(match: re.Match[str]) -> str:
    """A layer of the import-linter contract after the move: a module now inside another of
    the layer left out; modules now all in one new package replaced by the package."""
    sep = " | " if " | " in match[2] else " : "
    names = match[2].split(sep)
    names = [n for n in names if not any(n.startswith(o + ".") for o in names)]
    parents = {n.rpartition(".")[0] for n in names}
    if len(parents) == 1 and parents <= set(PACKAGES):
        names = list(parents)
    return f'{match[1]}"{sep.join(names)}",'


def _wrap(text: str) -> str:
    return textwrap.fill(text, 96)


def _git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    args = parser.parse_args()
    moves = {
        old: new
        for old, new in MOVES.items()
        if module_path(old).exists() and not module_path(new).exists()
    }
    for old, new in MOVES.items():
        if old not in moves:
            print(
                f"skip move {old} → {new}: "
                f"{'already there' if module_path(new).exists() else 'no such module'}"
            )
    splits = [
        s
        for s in SPLITS
        if (SRC.joinpath(*s.module.split(".")).with_suffix(".py")).exists()
        or (SRC.joinpath(*s.module.split(".")) / "__init__.py").exists()
    ]
    plans = []
    for split in splits:
        path = module_path(split.module)
        if path.name == "__init__.py" and any(
            (path.parent / f"{sub}.py").exists() for sub in split.groups
        ):
            print(f"skip split {split.module}: already split")
            continue
        plans.append(plan_split(split))  # raises before anything changes
    for split in splits:
        for note in split.notes:
            print(note)
    if args.dry_run:
        for old, new in moves.items():
            print(f"move {old} → {new}")
        for plan in plans:
            write_split(plan, dry_run=True)
        return 0
    for package, doc in PACKAGES.items():
        folder = SRC.joinpath(*package.split("."))
        if not folder.exists():
            folder.mkdir()
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text(f'"""{_wrap(doc)}"""\n', "utf-8")
            _git("add", str(init))
    for old, new in moves.items():
        _git("mv", str(module_path(old)), str(SRC.joinpath(*new.split(".")).with_suffix(".py")))
    where = Where(moves, {})
    for plan in plans:
        write_split(plan, dry_run=False)
        where.homes[plan.split.module] = {
            name: f"{plan.split.module}.{sub}" for name, sub in plan.home.items()
        }
        for name, origin in plan.module.imported.items():  # names it imported: their origin
            if ":" in origin and name not in plan.home:
                module, _, real = origin.partition(":")
                if real == name:
                    where.homes[plan.split.module][name] = module
    for package, doc in PACKAGES.items():  # the map of each new package's modules
        folder = SRC.joinpath(*package.split("."))
        subs = sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
        modules = _wrap(f"Modules: {', '.join(subs)}.")
        (folder / "__init__.py").write_text(f'"""{_wrap(doc)}\n\n{modules}\n"""\n', "utf-8")
    # Imports resolved through the new homes may point at a moved module: resolve those too.
    for names in where.homes.values():
        for name, home in names.items():
            names[name] = where.module(home)
    changed = [p for p in _text_files() if rewrite_file(p, where)]
    fix_lazy_api(where)
    fix_pyproject(where, [p.split for p in plans])
    print(f"rewrote {len(changed)} files")
    tidy = ["src", "tests", "tools", "benchmarks"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--fix",
            "--select",
            "I,F401",
            "--unsafe-fixes",
            "-q",
            *tidy,
        ],
        cwd=ROOT,
        check=False,
    )
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", *tidy], cwd=ROOT, check=False)
    _git("add", "-A", "src", "tests", "tools", "benchmarks", "docs", "pyproject.toml")
    print("lines the longer names made too long (rewrap by hand):")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--select",
            "E501",
            "--output-format",
            "concise",
            *tidy,
        ],
        cwd=ROOT,
        check=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
