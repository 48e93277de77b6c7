"""Price packs: a team's own catalog files laid over the shipped ones.

A pack is a folder of CSV files named like the shipped tables (``cloud_prices.csv``,
``constants.csv`` …), with the same columns, holding any subset of their rows. A pack row whose
key (:data:`KEYS`) matches a row below it replaces that row in place; a new key adds a row at the
end. Packs layer in order, each over the ones before it, all over the shipped catalog.

Which packs are in use (:func:`layers`), first match wins:

1. :func:`use` (a context manager; what ``aibudget.estimate(..., catalog=DIR)`` uses);
2. the command line's ``aibudget --catalog DIR`` (repeatable), set by :func:`set_process_layers`:
   it replaces ``AIBUDGET_CATALOG``, never adds to it;
3. the ``AIBUDGET_CATALOG`` environment variable: folders separated by ``os.pathsep``.

Every catalog reader caches its table per layer list (:func:`layered`), so switching packs never
serves another pack's rows. A pack row's ``source_url`` columns are :class:`PackText`: text that
remembers its pack, so an assumption built from the row names its layer
(:attr:`aibudget.Assumption.layer`) without any code between the two having to pass it on.

A pack is user input: each file is read through :func:`aibudget._files.read_user_text` (regular
files, a size limit) and checked (:func:`check`) before any of its rows is used.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache, wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

from aibudget._clock import today
from aibudget._errors import AibudgetError, CatalogDataError, closest
from aibudget._files import package_files, read_user_text
from aibudget._record import record

__all__ = [
    "ENV",
    "KEYS",
    "MAX_PACK_FILE_BYTES",
    "NOT_LAYERED",
    "SHIPPED",
    "CheckResult",
    "PackText",
    "Problem",
    "TableChange",
    "check",
    "key_of",
    "label",
    "layer_of",
    "layered",
    "layers",
    "merged_text",
    "ready",
    "resolve_dirs",
    "rows",
    "set_process_layers",
    "use",
    "use_catalog",
    "where",
]

#: The environment variable naming packs, separated by ``os.pathsep`` (":" on Linux and macOS).
ENV = "AIBUDGET_CATALOG"
#: The layer of a row that comes with the package.
SHIPPED = "shipped"
#: The largest pack file read (bytes): the biggest shipped table is under 200 kB.
MAX_PACK_FILE_BYTES = 20_000_000

#: The columns that identify a row, per table: a pack row with the same values replaces the
#: shipped row (or an earlier pack's). A table not listed here (a table added later) is keyed by
#: its first column.
KEYS: dict[str, tuple[str, ...]] = {
    "accelerators.csv": ("name",),
    "accelerator_serving.csv": ("accelerator",),
    "api_prices.csv": ("name",),
    "cloud_prices.csv": ("provider", "instance_type", "region", "pricing"),
    "constants.csv": ("key",),
    "electricity_prices.csv": ("code",),
    "epoch_runs.csv": ("row_id",),
    "grid_carbon.csv": ("kind", "code"),
    "mlperf_benchmarks.csv": ("benchmark",),
    "mlperf_inference.csv": (
        "version",
        "submitter",
        "system",
        "benchmark",
        "scenario",
        "accuracy_targets",
        "weight_precision",
        "software",
    ),
    "price_history.csv": ("provider", "instance_type", "region", "pricing", "valid_from"),
    "reference_runs.csv": ("row_id",),
    "scaling_laws.csv": ("name",),
    "wages.csv": ("code",),
}

#: Tables written by the fitting tools from the runs: a pack cannot change them (refit with the
#: tool, or set the value they give in the scenario).
NOT_LAYERED: dict[str, str] = {
    "calibration.csv": "tools/calibrate.py",
    "mfu_model.csv": "tools/calibrate.py",
    "mfu_runs.csv": "tools/calibrate.py",
    "serving_fit.csv": "tools/fit_serving.py",
}

#: Text columns a pack row may leave empty even where every shipped row fills them.
_OPTIONAL_TEXT = frozenset(
    {"notes", "aliases", "description", "range_note", "range_source_url", "source_name"}
)
#: Columns the readers take as whole numbers.
_INTEGER = frozenset(
    {
        "chips_per_instance",
        "release_year",
        "tensor_parallel_max",
        "layers",
        "d_model",
        "heads",
        "kv_heads",
        "accelerators",
        "nodes",
    }
)
#: Columns whose values are one of the shipped table's values.
_CHOICE = frozenset({"pricing", "kind"})
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")

#: Private keys a merged row carries beside its columns: the pack file it came from.
_FILE = "\x00file"

P = ParamSpec("P")
T = TypeVar("T")


# --------------------------------------------------------------------------- provenance


class PackText(str):
    """Text read from a pack (a ``source_url``), which remembers the pack as ``layer``."""

    layer: str

    def __new__(cls, text: str, layer: str) -> PackText:
        made = super().__new__(cls, text)
        made.layer = layer
        return made

    def __reduce__(self) -> tuple[type[PackText], tuple[str, str]]:
        return (PackText, (str(self), self.layer))


def label(folder: Path) -> str:
    """The layer name of a pack folder: ``pack:`` and its absolute path."""
    return f"pack:{folder}"


def layer_of(text: str) -> str:
    """The layer a catalog text came from: its pack for :class:`PackText`, else shipped."""
    return text.layer if isinstance(text, PackText) else SHIPPED


# --------------------------------------------------------------------------- which packs


_context: ContextVar[tuple[Path, ...] | None] = ContextVar("aibudget_catalog", default=None)
_process: tuple[Path, ...] | None = None


def resolve_dirs(dirs: Iterable[str | os.PathLike[str]], what: str) -> tuple[Path, ...]:
    """Absolute pack folders; anything that is not a folder raises
    :class:`~aibudget.CatalogDataError` naming ``what`` gave it."""
    out = []
    for given in dirs:
        if not str(given).strip():
            raise CatalogDataError(f"{what} names an empty folder name; give a price-pack folder")
        path = Path(given).expanduser()
        try:
            info = path.stat()
        except OSError:
            raise CatalogDataError(
                f"{what} names {str(given)!r}, which does not exist; give a price-pack folder "
                "(CSV files named like the shipped tables, docs/catalog.md)"
            ) from None
        if not stat.S_ISDIR(info.st_mode):
            raise CatalogDataError(
                f"{what} names {str(given)!r}, which is not a folder; give a price-pack folder "
                "(CSV files named like the shipped tables, docs/catalog.md)"
            )
        out.append(path.resolve())
    return tuple(out)


@cache
def _from_env(text: str) -> tuple[Path, ...]:
    parts = [part for part in text.split(os.pathsep) if part.strip()]
    return resolve_dirs(parts, f"{ENV} ({os.pathsep}-separated folders)")


def layers() -> tuple[Path, ...]:
    """The packs in use, lowest first: :func:`use`'s, else the command line's, else
    ``AIBUDGET_CATALOG``'s; empty: the shipped catalog alone."""
    chosen = _context.get()
    if chosen is not None:
        return chosen
    if _process is not None:
        return _process
    return _from_env(os.environ.get(ENV, ""))


def set_process_layers(dirs: Sequence[str | os.PathLike[str]] | None) -> None:
    """The packs of this process (the command line's ``--catalog``), replacing
    ``AIBUDGET_CATALOG``; ``None``: back to the environment variable."""
    global _process
    _process = None if dirs is None else resolve_dirs(dirs, "--catalog")


@contextmanager
def use(*dirs: str | os.PathLike[str]) -> Iterator[tuple[Path, ...]]:
    """Use these packs (lowest first) inside the ``with`` block, whatever the command line or
    ``AIBUDGET_CATALOG`` say; ``use()`` with none: the shipped catalog alone. Per thread and
    per asyncio task (a context variable)."""
    chosen = resolve_dirs(dirs, "catalog")
    token = _context.set(chosen)
    try:
        yield chosen
    finally:
        _context.reset(token)


@contextmanager
def held() -> Iterator[tuple[Path, ...]]:
    """The packs in use now (:func:`ready`: read and checked), held for the ``with`` block, so
    that :func:`layers` inside (an estimate looks the catalog up thousands of times) reads
    neither the command line's nor ``AIBUDGET_CATALOG`` again."""
    chosen = ready()
    token = _context.set(chosen)
    try:
        yield chosen
    finally:
        _context.reset(token)


#: The public name of :func:`use`: ``with aibudget.use_catalog("team-prices"): ...``.
use_catalog = use


def layered(fn: Callable[P, T]) -> Callable[P, T]:
    """Cache ``fn``'s result per layer list and arguments (``functools.cache`` would keep the
    first pack's table for every later one)."""
    store: dict[object, T] = {}

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        key = (layers(), args, tuple(sorted(kwargs.items())) if kwargs else ())
        try:
            return store[key]
        except KeyError:
            pass
        value = fn(*args, **kwargs)
        store[key] = value
        return value

    wrapper.cache_clear = store.clear  # type: ignore[attr-defined]
    return wrapper


# --------------------------------------------------------------------------- the tables


def key_columns(filename: str, header: Sequence[str]) -> tuple[str, ...]:
    """The key of a table (:data:`KEYS`; a table not listed: its first column)."""
    return KEYS.get(filename, tuple(header[:1]))


def key_of(filename: str, row: dict[str, str], header: Sequence[str]) -> tuple[str, ...]:
    """A row's key: its values in the key columns, stripped."""
    return tuple((row.get(c) or "").strip() for c in key_columns(filename, header))


def _shipped_names() -> tuple[str, ...]:
    folder = package_files("aibudget.catalog").joinpath("data")
    return tuple(sorted(e.name for e in folder.iterdir() if e.name.endswith(".csv")))


@cache
def _shipped(filename: str) -> tuple[tuple[str, ...], tuple[tuple[int, dict[str, str]], ...]]:
    text = package_files("aibudget.catalog").joinpath("data", filename).read_text("utf-8")
    reader = csv.DictReader(text.splitlines())
    rows = tuple(enumerate(reader, start=2))
    return tuple(reader.fieldnames or ()), rows


@record
class _Column:
    """What a pack's value in a column must be, read off the shipped table."""

    numeric: bool
    required: bool
    minimum: str  # "", "non-negative" or "positive"
    integer: bool
    date: bool
    choices: tuple[str, ...]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@cache
def _columns(filename: str) -> dict[str, _Column]:
    header, shipped = _shipped(filename)
    keys = set(key_columns(filename, header))
    out = {}
    for column in header:
        values = [(row.get(column) or "").strip() for _, row in shipped]
        filled = [v for v in values if v]
        numbers = [_number(v) for v in filled]
        numeric = bool(filled) and all(n is not None for n in numbers)
        provenance = column in ("source_url", "as_of")
        required = (
            column in keys
            or provenance
            or (len(filled) == len(values) and column not in _OPTIONAL_TEXT)
        )
        minimum = ""
        if numeric:
            lowest = min(n for n in numbers if n is not None)
            price = "price" in column or "usd" in column
            minimum = "positive" if price and lowest > 0 else "non-negative" if lowest >= 0 else ""
        out[column] = _Column(
            numeric=numeric,
            required=required,
            minimum=minimum,
            integer=column in _INTEGER,
            date=column == "as_of" or column.endswith("_as_of") or column.startswith("valid_"),
            choices=tuple(sorted(set(filled))) if column in _CHOICE else (),
        )
    return out


@record
class Problem:
    """One thing wrong in a pack: the file, the line (1: the header), the column and what."""

    file: str
    message: str
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file + (f" line {self.line}" if self.line is not None else "")
        where += f", column {self.column}" if self.column else ""
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


def _date(text: str) -> dt.date | None:
    """The last day an as-of date can mean ("2024-03": 31 March), or None if it is not one."""
    if not _DATE.fullmatch(text):
        return None
    parts = [int(p) for p in text.split("-")]
    try:
        if len(parts) == 3:
            return dt.date(*parts)
        if len(parts) == 2:
            dt.date(parts[0], parts[1], 1)  # a real month
            first_of_next = dt.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
            return first_of_next - dt.timedelta(days=1)
        return dt.date(parts[0], 12, 31)
    except ValueError:
        return None


def as_of_date(text: str) -> dt.date | None:
    """An as-of date as the last day it can mean: "2024" is 31 December 2024, "2024-03" is
    31 March, "2024-03-18" itself; None for text that is not a date."""
    return _date(text.strip()[:10])


def _value_problems(column: str, rule: _Column, value: str) -> list[str]:
    if not value:
        if column.endswith("source_url") and rule.required:
            return [
                "is required: say where the value comes from (a URL, or a line such as "
                "'negotiated contract, 2026-10')"
            ]
        if rule.required:
            return [f"is required (every {column} of the shipped table has one)"]
        return []
    out = []
    if rule.numeric:
        number = _number(value)
        if number is None or not math.isfinite(number):
            return [f"must be a number, got {value!r}"]
        if rule.integer and number != int(number):
            out.append(f"must be a whole number, got {value!r}")
        if rule.minimum == "positive" and number <= 0:
            out.append(f"must be more than 0 (a price), got {value!r}")
        elif rule.minimum == "non-negative" and number < 0:
            out.append(f"must be 0 or more, got {value!r}")
    if rule.date:
        day = _date(value)
        if day is None:
            out.append(f"must be a date: YYYY-MM-DD, YYYY-MM or YYYY, got {value!r}")
        elif column.endswith("as_of") and day.replace(day=1) > today():
            out.append(f"{value!r} is in the future: give the date the value was read")
    if rule.choices and value not in rule.choices:
        out.append(f"must be one of {', '.join(rule.choices)}, got {value!r}")
    return out


@dataclass
class _PackTable:
    """One pack file, read and checked."""

    path: Path
    filename: str
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _read_table(path: Path, filename: str) -> _PackTable:
    out = _PackTable(path, filename)
    where = str(path)
    try:
        text = read_user_text(path, what="price-pack table", max_bytes=MAX_PACK_FILE_BYTES)
    except AibudgetError as error:
        out.problems.append(Problem(where, str(error)))
        return out
    # records with the line each starts on (a quoted cell may hold a line break)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    lines: list[list[str]] = []
    starts: list[int] = []
    starts_at = 1
    try:
        for cells in reader:
            lines.append(cells)
            starts.append(starts_at)
            starts_at = reader.line_num + 1
    except csv.Error as error:
        out.problems.append(Problem(where, f"is not valid CSV: {error}", reader.line_num))
        return out
    if not lines or not any(cell.strip() for cell in lines[0]):
        out.problems.append(Problem(where, "is empty: give the header row of the shipped table"))
        return out
    header = [cell.strip() for cell in lines[0]]
    shipped_header, _ = _shipped(filename)
    missing = [c for c in shipped_header if c not in header]
    unknown = [c for c in header if c not in shipped_header]
    doubled = sorted({c for c in header if header.count(c) > 1})
    for column in missing:
        out.problems.append(Problem(where, "is missing (the shipped table has it)", 1, column))
    for column in unknown:
        hint = closest(column, list(shipped_header))
        also = f"; did you mean {hint[0]}?" if hint else ""
        out.problems.append(Problem(where, f"is not a column of {filename}{also}", 1, column))
    for column in doubled:
        out.problems.append(Problem(where, "appears twice in the header", 1, column))
    if missing or unknown or doubled:
        return out
    rules = _columns(filename)
    seen: dict[tuple[str, ...], int] = {}
    keys = key_columns(filename, shipped_header)
    for line, cells in zip(starts[1:], lines[1:], strict=True):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            out.problems.append(
                Problem(where, f"has {len(cells)} fields; the header has {len(header)}", line)
            )
            continue
        row = {column: cell.strip() for column, cell in zip(header, cells, strict=True)}
        bad = False
        for column in shipped_header:
            for message in _value_problems(column, rules[column], row[column]):
                out.problems.append(Problem(where, message, line, column))
                bad = True
        key = key_of(filename, row, shipped_header)
        if key in seen:
            out.problems.append(
                Problem(
                    where,
                    f"repeats the key {', '.join(keys)} = {' / '.join(key)} of line {seen[key]}",
                    line,
                )
            )
            bad = True
        seen.setdefault(key, line)
        if not bad:
            out.rows.append((line, row))
    return out


def _folder_problems(folder: Path) -> tuple[list[str], list[Problem], list[str]]:
    """The tables a pack folder holds, the files that are not tables, and files ignored."""
    shipped = _shipped_names()
    tables, problems, ignored = [], [], []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        return [], [Problem(str(folder), f"cannot be read: {error.strerror or error}")], []
    for entry in entries:
        if not entry.name.lower().endswith(".csv"):
            ignored.append(entry.name)
            continue
        where = str(folder / entry.name)
        if entry.name in NOT_LAYERED:
            problems.append(
                Problem(
                    where,
                    f"is fitted by {NOT_LAYERED[entry.name]} on the runs: a pack cannot change "
                    "it (refit with the tool, or set the value in the scenario)",
                )
            )
        elif entry.name not in shipped:
            hint = closest(entry.name, [n for n in shipped if n not in NOT_LAYERED])
            also = f"; did you mean {hint[0]}?" if hint else ""
            problems.append(Problem(where, f"is not a catalog table{also}"))
        else:
            tables.append(entry.name)
    return tables, problems, ignored


@cache
def _pack(folder: Path) -> dict[str, _PackTable]:
    """A pack's tables, each read and checked once per process; any problem raises, naming the
    first few."""
    tables, problems, _ = _folder_problems(folder)
    read = {name: _read_table(folder / name, name) for name in tables}
    problems += [p for table in read.values() for p in table.problems]
    if problems:
        shown = "\n  ".join(str(p) for p in problems[:5])
        more = f"\n  … and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise CatalogDataError(
            f"the price pack {folder} has {len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}:\n  {shown}{more}\n"
            f"(`aibudget catalog check {folder}` lists them all)"
        )
    return read


def ready() -> tuple[Path, ...]:
    """The packs in use, each read and checked: raises :class:`~aibudget.CatalogDataError`
    for a folder that is missing or a pack with a problem, before anything reads the catalog
    (whose readers would otherwise report it under whichever field first looked a name up)."""
    active = layers()
    for folder in active:
        _pack(folder)
    return active


def rows(filename: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of ``filename`` with the packs in use laid over the shipped ones: each
    ``(line, row)``; a pack row carries its file (:func:`where`) and its ``source_url``
    columns as :class:`PackText`."""
    header, shipped = _shipped(filename)
    active = layers()
    if not active or filename in NOT_LAYERED:
        return list(shipped)
    merged = {key_of(filename, row, header): (line, row) for line, row in shipped}
    for folder in active:
        table = _pack(folder).get(filename)
        if table is None:
            continue
        layer = label(folder)
        for line, row in table.rows:
            marked: dict[str, str] = {
                column: PackText(value, layer) if column.endswith("source_url") else value
                for column, value in row.items()
            }
            marked[_FILE] = str(table.path)
            merged[key_of(filename, row, header)] = (line, marked)
    return list(merged.values())


def merged_text(filename: str) -> str:
    """The CSV text of ``filename`` with the packs in use laid over it, for readers that parse
    the text themselves (the runs)."""
    header, _ = _shipped(filename)
    if not layers():
        return package_files("aibudget.catalog").joinpath("data", filename).read_text("utf-8")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    for _, row in rows(filename):
        writer.writerow({c: str(row.get(c, "")) for c in header})
    return out.getvalue()


def where(filename: str, line: int, row: dict[str, str]) -> str:
    """Where a row was read, for errors: ``cloud_prices.csv line 5`` or the pack file's path."""
    return f"{row.get(_FILE, filename)} line {line}"


# --------------------------------------------------------------------------- check


@record
class TableChange:
    """What one pack file does to its table: the keys it replaces and the keys it adds."""

    file: str
    table: str
    key: tuple[str, ...]
    replaces: tuple[tuple[str, ...], ...]
    adds: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "table": self.table,
            "key": list(self.key),
            "replaces": [list(k) for k in self.replaces],
            "adds": [list(k) for k in self.adds],
        }


@record
class CheckResult:
    """A pack checked: its problems (empty: usable), what it changes, files it ignores."""

    folder: str
    problems: tuple[Problem, ...]
    changes: tuple[TableChange, ...]
    ignored: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "folder": self.folder,
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
            "changes": [c.to_dict() for c in self.changes],
            "ignored": list(self.ignored),
        }


def _load_everything() -> None:
    """Read every table through its reader, as an estimate would (the readers' own checks:
    known accelerators, p10 ≤ value ≤ p90, names claimed twice …)."""
    import aibudget.catalog as catalog
    from aibudget.catalog import serving
    from aibudget.catalog.runs import read_runs

    for reader in (
        catalog.accelerators,
        catalog._accelerator_index,
        catalog.prices,
        catalog.grid,
        catalog._grid_index,
        catalog.api_models,
        catalog.constants,
        catalog.scaling_laws,
        catalog.wages,
        catalog.electricity_prices,
        catalog.price_history,
        serving._serving_rows,
        serving.mlperf_benchmarks,
        serving.mlperf_results,
    ):
        reader()
    read_runs()


def check(folder: str | os.PathLike[str]) -> CheckResult:
    """Check a pack without estimating: files that are not tables, wrong or missing columns,
    values that are not numbers, dates or allowed choices, missing sources, repeated keys, then
    every table read through its reader with the pack laid over the packs already in use. Each
    problem names its file, line and column."""
    (path,) = resolve_dirs([folder], "catalog check")
    tables, problems, ignored = _folder_problems(path)
    read = {name: _read_table(path / name, name) for name in tables}
    for table in read.values():
        problems.extend(table.problems)
    changes = []
    below = tuple(p for p in layers() if p != path)
    for name, table in read.items():
        header, _ = _shipped(name)
        with use(*below):
            existing = {key_of(name, row, header) for _, row in rows(name)}
        keys = [key_of(name, row, header) for _, row in table.rows]
        changes.append(
            TableChange(
                str(table.path),
                name,
                key_columns(name, header),
                tuple(k for k in keys if k in existing),
                tuple(k for k in keys if k not in existing),
            )
        )
    if not problems:
        try:
            with use(*below, path):
                _load_everything()
        except AibudgetError as error:
            problems.append(Problem(str(path), str(error)))
    return CheckResult(str(path), tuple(problems), tuple(changes), tuple(ignored))
