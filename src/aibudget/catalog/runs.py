"""Published training runs: reading a runs file into :class:`Run` records with the reasons any
part of a row cannot be used.

Two shapes of file are read without help:

* the schema of ``catalog/data/reference_runs.csv`` (``row_id``, ``run_key``, ``name``,
  ``params_total_count``, ``training_tokens_count``, ``hardware``, ``num_chips``,
  ``chip_hours``, ...), which the packaged ``epoch_runs.csv`` shares;
* Epoch AI's "Data on Notable AI Models" (``Model``, ``Training hardware``, ``Hardware
  quantity``, ``Training chip-hours``, ``Training compute (FLOP)``, ``Training compute
  estimation method``, ...), whose columns are mapped onto the first (:data:`EPOCH_COLUMNS`).

Hardware names are mapped to the catalog through its aliases after dropping vendor words and
bracketed notes ("NVIDIA A100 SXM4 80 GB", "A100-40GB (AWS SageMaker P4d)"). Every value is
checked: text that is not a number, or a number outside the range a real run can have
(:data:`PLAUSIBLE`), is named in the row's reasons instead of being used or silently dropped;
a row the CSV parser cannot read (a cell over the parser's limit) is kept as an unusable row
with its line number. Nothing here predicts anything: :mod:`aibudget.analysis.validation` does.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from aibudget import catalog
from aibudget._errors import ScenarioError, UnknownNameError
from aibudget._files import MAX_RUNS_BYTES, read_user_text
from aibudget._record import record
from aibudget.catalog.packs import layered, merged_text

__all__ = [
    "EPOCH_COLUMNS",
    "MEASURES",
    "PACKAGED",
    "PLAUSIBLE",
    "REQUIRED_COLUMNS",
    "Run",
    "accelerator",
    "energy_basis",
    "from_epoch",
    "map_hardware",
    "observed_mfu",
    "organisation_key",
    "read_runs",
    "reason_kind",
    "reference_peak_flops_per_s",
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
#: Columns a runs file in the reference schema must have.
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
#: The packaged runs files, in the order they are listed.
PACKAGED = ("reference_runs.csv", "epoch_runs.csv")

#: Epoch AI's column → the reference schema's (hours become days, utilisation a percentage).
EPOCH_COLUMNS = {
    "Model": "name",
    "Organization": "organization",
    "Publication date": "year",
    "Domain": "domain",
    "Parameters": "params_total_count",
    "Training compute (FLOP)": "training_flops",
    "Training compute estimation method": "training_flops_method",
    "Training hardware": "hardware",
    "Hardware quantity": "num_chips",
    "Training time (hours)": "wall_clock_days",
    "Training chip-hours": "chip_hours",
    "Hardware utilization (MFU)": "reported_mfu_pct",
    "Numerical format": "precision",
    "Base model": "base_model",
    "Confidence": "confidence",
    "Link": "source_url",
}
#: The columns that identify a file as Epoch AI's shape.
EPOCH_SIGNATURE = ("Model", "Training hardware", "Hardware quantity")

#: The range each numeric column may take, and its unit: outside it a value is not a real run's
#: (no model has 10¹⁴ parameters, no run 10⁸ chips), so it is named in the row's reasons.
PLAUSIBLE: dict[str, tuple[float, float, str]] = {
    "params_total_count": (1e3, 1e14, "parameters"),
    "params_active_count": (1e3, 1e14, "parameters"),
    "training_tokens_count": (1e3, 1e16, "tokens"),
    "training_flops": (1e9, 1e30, "FLOP"),
    "num_chips": (1.0, 1e7, "chips"),
    "wall_clock_days": (1e-5, 3_650.0, "days"),
    "chip_hours": (1e-4, 1e11, "chip-hours"),
    "energy_mwh": (1e-7, 1e7, "MWh"),
    "co2e_tonnes": (0.0, 1e7, "tCO2e"),
    "pue_used": (1.0, 3.0, "PUE"),
    "grid_intensity_kg_per_kwh_used": (0.0, 2.0, "kgCO2e/kWh"),
    "reported_cost_usd": (1e-3, 1e11, "USD"),
    "usd_per_chip_hour": (1e-3, 1e3, "USD/chip-hour"),
    "reported_mfu_pct": (0.01, 100.0, "%"),
}
#: Chip-hours and chips × wall clock that disagree by more than this factor contradict each other.
CONTRADICTION_FACTOR = 1.5
#: Text longer than this in one cell is not a runs file's (a name, a note, a number).
MAX_CELL_CHARS = 100_000
#: Vendor words and form factors dropped before a hardware name is looked up.
_VENDOR_WORDS = re.compile(
    r"\b(nvidia|google|amd|amazon|aws|intel|radeon|geforce|habana|cloud)\b", re.IGNORECASE
)
#: A thousands separator written the usual way ("1,000,000"), the only comma a number may have.
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?$")


# --------------------------------------------------------------------------- hardware


def map_hardware(text: str | None) -> tuple[str | None, str]:
    """A free-text hardware name ("A100-40GB (AWS SageMaker P4d)", "NVIDIA H100 SXM5 80GB")
    → a catalog accelerator, or None with the reason it could not be mapped."""
    return _map_hardware(" ".join((text or "").split())[:200])


@layered
def _map_hardware(raw: str) -> tuple[str | None, str]:
    if not raw:
        return None, "no hardware given"
    bare = re.sub(r"\([^)]*\)", " ", raw)
    if re.search(r"\band\b|\bthen\b|/|,|\+", bare, re.IGNORECASE):
        return None, f"more than one kind of accelerator ({raw!r})"
    bare = " ".join(bare.split())
    first: UnknownNameError | None = None
    for candidate in dict.fromkeys(_hardware_candidates(bare)):
        try:
            return catalog.accelerator(candidate).name, ""
        except UnknownNameError as error:
            first = first or error
    hint = f" (closest: {', '.join(first.suggestions)})" if first and first.suggestions else ""
    return None, f"{bare!r} is not in the catalog{hint}"


def _hardware_candidates(name: str) -> Iterator[str]:
    """The name as written, then without vendor words, with "80 GB" as "80GB", and without
    the memory size (the catalog's default memory for the chip)."""
    yield name
    plain = " ".join(_VENDOR_WORDS.sub(" ", name).split())
    joined = re.sub(r"(\d+)\s+GB\b", r"\1GB", plain, flags=re.IGNORECASE)
    yield plain
    yield joined
    yield re.sub(r"\s*\b\d+\s*GB\b", "", joined, flags=re.IGNORECASE).strip()


@layered
def accelerator(name: str) -> catalog.Accelerator:
    """The catalog accelerator called ``name`` (a canonical name: looked up once)."""
    return catalog.accelerator(name)


def reference_peak_flops_per_s(acc: catalog.Accelerator) -> float:
    """The peak MFU is measured against: the dense 16-bit peak (BF16, else FP16), or FP32 for a
    chip without 16-bit tensor maths (P100 and older). FP8 is a speed-up on top of it."""
    precision = next(p for p in ("bf16", "fp16", "fp32") if p in acc.peak_dense_tflops)
    return acc.peak_flops_per_s(precision)


# --------------------------------------------------------------------------- organisations

#: Names an organisation is published under → one key, so k-fold by organisation keeps a lab's
#: runs together (Meta's runs appear as Meta, Meta AI, Facebook and FAIR).
_ORGANISATION_ALIASES = {
    "meta": "meta",
    "meta ai": "meta",
    "facebook": "meta",
    "facebook ai": "meta",
    "facebook ai research": "meta",
    "fair": "meta",
    "google": "google",
    "google brain": "google",
    "google research": "google",
    "google ai": "google",
    "google deepmind": "google",
    "deepmind": "google",
    "microsoft": "microsoft",
    "microsoft research": "microsoft",
    "microsoft research asia": "microsoft",
    "bigscience": "bigscience",
    "hugging face": "bigscience",
    "allen institute for ai": "ai2",
    "allenai": "ai2",
    "ai2": "ai2",
    "eleutherai": "eleutherai",
    "mosaicml": "mosaicml",
    "databricks": "mosaicml",
    "nvidia": "nvidia",
    "openai": "openai",
}


def organisation_key(text: str) -> str:
    """The organisation a run is grouped by: the first one named, without notes in brackets,
    folded onto one key per lab ("Meta AI,Facebook AI Research" → "meta")."""
    first = re.split(r",| / |;", re.sub(r"\([^)]*\)", "", text or ""))[0]
    key = " ".join(first.lower().split())
    return _ORGANISATION_ALIASES.get(key, key or "unknown")


# --------------------------------------------------------------------------- energy scopes


def energy_basis(scope: str | None) -> tuple[str | None, str]:
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


# --------------------------------------------------------------------------- records


@record
class Run:
    """One published run: its inputs, what was published, and why any of it cannot be used.
    ``reasons`` maps a measure to why it is not predicted; the key ``""`` means the whole run."""

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
    reasons: Mapping[str, str]
    notes: str = ""
    source_url: str = ""
    source_kind: str = ""
    organisation: str = ""
    precision: str = ""  # as the source states it (bf16, fp16, fp32, fp8), or ""
    flops_method: str = ""  # how the published FLOPs were estimated, where a source says
    source: str = ""  # the file the row came from
    architecture: str = ""  # dense, moe, ...
    active_known: bool = True  # False for a mixture of experts without its active parameters

    @property
    def work_flops(self) -> float | None:
        """The run's FLOPs: 6·N·D from its inputs, or its published FLOPs without tokens."""
        if self.params is not None and self.tokens is not None:
            return 6.0 * self.params * self.tokens
        return self.flops

    @property
    def organisation_key(self) -> str:
        """The organisation the run is grouped by in k-fold cross-validation."""
        return organisation_key(self.organisation)


def _number(row: Mapping[str, str], column: str, problems: dict[str, str]) -> float | None:
    """The column's value; None when empty. Text that is not a plain number, or a number outside
    :data:`PLAUSIBLE`, is recorded in ``problems`` (and gives None)."""
    text = (row.get(column) or "").strip()
    if not text:
        return None
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            problems[column] = f"{column} {text[:40]!r} is not a number"
            return None
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        problems[column] = f"{column} {text[:40]!r} is not a number"
        return None
    low, high, unit = PLAUSIBLE.get(column, (0.0, math.inf, ""))
    if not math.isfinite(value) or not low <= value <= high:
        problems[column] = (
            f"{column} {text[:40]} is outside the plausible range {low:g}–{high:g} {unit}"
        ).rstrip()
        return None
    return value


def _text(row: Mapping[str, str | None], column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def _run(row: Mapping[str, str], source: str) -> Run:
    problems: dict[str, str] = {}
    total = _number(row, "params_total_count", problems)
    active = _number(row, "params_active_count", problems) or total
    tokens = _number(row, "training_tokens_count", problems)
    flops = _number(row, "training_flops", problems)
    accelerator, hardware_reason = map_hardware(_text(row, "hardware"))
    basis, basis_reason = energy_basis(_text(row, "energy_scope"))
    grid = _number(row, "grid_intensity_kg_per_kwh_used", problems)
    energy = _number(row, "energy_mwh", problems)
    co2e = _number(row, "co2e_tonnes", problems)
    published: dict[str, float | None] = {
        "chip_hours": _number(row, "chip_hours", problems),
        "wall_clock_days": _number(row, "wall_clock_days", problems),
        "energy_kwh": energy * 1000.0 if energy is not None else None,
        "co2e_kg": co2e * 1000.0 if co2e is not None else None,
        "usd": _number(row, "reported_cost_usd", problems),
    }
    published["energy_kwh_from_published_chip_hours"] = published["energy_kwh"]
    year_text = _text(row, "year")[:4]
    reasons: dict[str, str] = {}  # filled in below, once the run exists
    run = Run(
        row_id=_text(row, "row_id"),
        run_key=_text(row, "run_key"),
        name=_text(row, "name")[:200],
        year=int(year_text) if year_text.isdigit() else None,
        params=active,
        params_total=total,
        tokens=tokens,
        flops=flops,
        hardware=_text(row, "hardware")[:200],
        accelerator=accelerator,
        chips=_number(row, "num_chips", problems),
        pue=_number(row, "pue_used", problems),
        grid_g_per_kwh=grid * 1000.0 if grid is not None else None,
        usd_per_chip_hour=_number(row, "usd_per_chip_hour", problems),
        basis=basis,
        published=published,
        reasons=reasons,
        notes=_text(row, "notes")[:2000],
        source_url=_text(row, "source_url")[:500],
        source_kind=_text(row, "source_kind"),
        organisation=_text(row, "organization")[:200],
        precision=_text(row, "precision").lower(),
        flops_method=_text(row, "training_flops_method"),
        source=source,
        architecture=_text(row, "architecture").lower(),
        active_known="moe" not in _text(row, "architecture").lower()
        or _text(row, "params_active_count") != "",
    )
    _add_reasons(run, reasons, row, problems, hardware_reason, basis_reason)
    return run


#: Which measures each numeric column feeds (a bad value there stops those measures).
_FEEDS = {
    "params_total_count": ("chip_hours",),
    "params_active_count": ("chip_hours",),
    "training_tokens_count": ("chip_hours",),
    "training_flops": ("chip_hours",),
    "num_chips": ("wall_clock_days",),
    "chip_hours": ("chip_hours", "energy_kwh_from_published_chip_hours"),
    "wall_clock_days": ("wall_clock_days",),
    "energy_mwh": ("energy_kwh", "energy_kwh_from_published_chip_hours"),
    "co2e_tonnes": ("co2e_kg",),
    "pue_used": ("energy_kwh", "energy_kwh_from_published_chip_hours", "co2e_kg"),
    "grid_intensity_kg_per_kwh_used": ("co2e_kg",),
    "reported_cost_usd": ("usd",),
    "usd_per_chip_hour": ("usd",),
}


def _add_reasons(
    run: Run,
    reasons: dict[str, str],
    row: Mapping[str, str],
    problems: Mapping[str, str],
    hardware_reason: str,
    basis_reason: str,
) -> None:
    """Fill ``reasons`` (the run's own, empty) with why each measure, or the whole run, cannot
    be predicted or scored."""
    for column, problem in problems.items():
        for measure in _FEEDS.get(column, ()):
            reasons.setdefault(measure, problem)
    acc = accelerator(run.accelerator) if run.accelerator else None
    method = run.flops_method.lower()
    if acc is None:
        reasons.setdefault("chip_hours", hardware_reason)
    elif run.work_flops is None:
        reasons.setdefault("chip_hours", "neither parameters and tokens nor FLOPs are published")
    elif run.tokens is None and method and not _counted(method):
        reasons.setdefault(
            "chip_hours",
            "circular: its FLOPs were estimated from training time × an assumed utilisation "
            f"(method: {run.flops_method})"
            if "hardware" in method
            else f"its FLOPs are not an operation count or a reported figure "
            f"(method: {run.flops_method})",
        )
    elif run.precision == "fp32" and {"bf16", "fp16"} & set(acc.peak_dense_tflops):
        reasons.setdefault(
            "chip_hours", "trained in FP32; the utilisation model is fitted on 16-bit training"
        )
    implied = observed_mfu(run)
    if implied is not None and implied > 1.0 and acc is not None:
        reasons.setdefault(
            "chip_hours",
            f"its work over its chip-hours is {implied:.2g}× the dense peak of {acc.name}: its "
            "inputs contradict each other (total parameters of a mixture of experts, or tokens "
            "counted another way)",
        )
    contradiction = _contradiction(run)
    if contradiction:
        reasons.setdefault("chip_hours", contradiction)
        reasons.setdefault("wall_clock_days", contradiction)
    if "chip_hours" in reasons:
        reasons.setdefault("wall_clock_days", reasons["chip_hours"])
    elif run.chips is None:
        reasons.setdefault("wall_clock_days", "the number of chips is not published")
    power = ""
    if acc is not None and acc.tdp_w is None:
        power = f"{acc.name} has no published power figure"
    for measure in ("energy_kwh", "energy_kwh_from_published_chip_hours"):
        if acc is None:
            reasons.setdefault(measure, hardware_reason)
        elif power:
            reasons.setdefault(measure, power)
        elif run.published["energy_kwh"] is not None and run.basis is None:
            reasons.setdefault(measure, basis_reason)
    if run.basis == "gpu_tdp":
        reasons.setdefault(
            "energy_kwh_from_published_chip_hours",
            "the publisher's energy is its chip-hours × TDP × PUE, a formula rather than a "
            "measurement (its energy from predicted chip-hours is scored)",
        )
    if "energy_kwh" not in reasons and "chip_hours" in reasons:
        reasons["energy_kwh"] = reasons["chip_hours"]
    if run.published["chip_hours"] is None:
        reasons.setdefault("energy_kwh_from_published_chip_hours", "no published chip-hours")
    if run.grid_g_per_kwh is None:
        reasons.setdefault("co2e_kg", "the publisher's grid factor is not given")
    elif "energy_kwh" in reasons:
        reasons.setdefault("co2e_kg", reasons["energy_kwh"])
    if run.usd_per_chip_hour is None:
        reasons.setdefault("usd", "no rate per chip-hour is stated for the published cost")
    elif "chip_hours" in reasons:
        reasons.setdefault("usd", reasons["chip_hours"])
    whole = _whole_run_reason(run, row, problems, reasons)
    if whole:
        reasons[""] = whole


def observed_mfu(run: Run) -> float | None:
    """The run's effective MFU: its work over (the 16-bit dense peak × its published
    chip-hours), restarts and idle time included; None without the three."""
    acc = accelerator(run.accelerator) if run.accelerator else None
    hours, work = run.published["chip_hours"], run.work_flops
    if acc is None or hours is None or work is None:
        return None
    return work / (reference_peak_flops_per_s(acc) * hours * 3600.0)


def _counted(method: str) -> bool:
    """Whether FLOPs estimated this way are independent of the training time: an operation
    count or a figure the authors reported, and not also an estimate from hardware time."""
    return ("operation counting" in method or "reported" in method) and "hardware" not in method


def _contradiction(run: Run) -> str:
    hours, days = run.published["chip_hours"], run.published["wall_clock_days"]
    if hours is None or days is None or run.chips is None:
        return ""
    product = run.chips * days * 24.0
    if max(hours, product) / min(hours, product) <= CONTRADICTION_FACTOR:
        return ""
    return (
        f"its chip-hours ({hours:,.0f}) and chips × wall clock ({run.chips:,.0f} × "
        f"{days * 24:,.0f} h = {product:,.0f}) disagree by more than ×{CONTRADICTION_FACTOR:g}"
    )


def _whole_run_reason(
    run: Run, row: Mapping[str, str], problems: Mapping[str, str], reasons: Mapping[str, str]
) -> str:
    base = _text(row, "base_model")
    duplicate = _text(row, "duplicate_of")
    curated = _text(row, "not_scored_reason")
    confidence = _text(row, "confidence").lower()
    if curated:
        return curated
    if duplicate:
        return f"the same run as {duplicate}, which is scored instead"
    if base:
        return (
            f"a fine-tune of {base[:80]}: its compute and chip-hours need not describe the same "
            "training"
        )
    if run.source_kind.startswith("third_party"):
        return "a third-party estimate, not a figure the run's authors published"
    if confidence == "speculative":
        return "its source rates the figures speculative"
    if not any(run.published[m] is not None and m not in reasons for m in MEASURES):
        why: dict[str, list[str]] = {}
        for m in MEASURES:
            if run.published[m] is not None and m in reasons:
                why.setdefault(reasons[m], []).append(m)
        unmet = [f"{', '.join(ms)}: {text}" for text, ms in why.items()]
        other = [p for p in problems.values() if not any(p in u for u in unmet)]
        return "; ".join(unmet + other) or (
            "publishes no outcome to compare (chip-hours, days, energy, CO2e or a priced cost)"
        )
    return ""


# --------------------------------------------------------------------------- reading


def _unreadable(line: int, why: str, source: str) -> Run:
    return Run(
        row_id=f"line {line}",
        run_key=f"line-{line}",
        name="(unreadable row)",
        year=None,
        params=None,
        params_total=None,
        tokens=None,
        flops=None,
        hardware="",
        accelerator=None,
        chips=None,
        pue=None,
        grid_g_per_kwh=None,
        usd_per_chip_hour=None,
        basis=None,
        published=dict.fromkeys(MEASURES),
        reasons={"": f"line {line} cannot be read: {why}"},
        source=source,
    )


def _rows(content: str, where: str) -> tuple[list[str], Iterator[tuple[int, list[str] | str]]]:
    """The header and, per data row, its line number and its cells (or why it cannot be read)."""
    reader = csv.reader(io.StringIO(content))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ScenarioError(f"{where} is empty; a runs file starts with a header row") from None
    except csv.Error as error:
        raise ScenarioError(f"{where}: its header cannot be read ({error})") from None

    def rows() -> Iterator[tuple[int, list[str] | str]]:
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield line, f"{error} (a cell of a runs file holds a name, a number or a note)"
                continue
            if not any(c.strip() for c in cells):
                continue
            if max(len(c) for c in cells) > MAX_CELL_CHARS:
                yield line, f"a cell is longer than {MAX_CELL_CHARS:,} characters"
                continue
            yield line, cells

    return header, rows()


def _plain(text: str) -> float | None:
    """A finite positive number written plainly, else None (the reader then names the text)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def from_epoch(cells: Mapping[str, str], ordinal: int) -> dict[str, str]:
    """One row of Epoch AI's file in the reference schema: its chip-hours as published (else
    training time × hardware quantity), its hours as days, its utilisation as a percentage."""
    out = {ours: (cells.get(theirs) or "").strip() for theirs, ours in EPOCH_COLUMNS.items()}
    name = out["name"] or f"row {ordinal}"
    out["row_id"] = f"E{ordinal:03d}"
    out["run_key"] = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80] or out["row_id"]
    hours = _plain(out["wall_clock_days"])
    chips = _plain(out["num_chips"])
    if hours is not None:
        out["wall_clock_days"] = repr(hours / 24.0)
    if not out["chip_hours"] and hours is not None and chips is not None:
        out["chip_hours"] = repr(hours * chips)
        out["derived_fields"] = "chip_hours = training time × hardware quantity"
    mfu = _plain(out["reported_mfu_pct"])
    if mfu is not None and mfu <= 1.0:
        out["reported_mfu_pct"] = repr(mfu * 100.0)
    out["training_tokens_count"] = ""
    out["training_flops_method"] = out["training_flops_method"] or "not stated"
    out["source_kind"] = "secondary_compilation"
    out["notes"] = "Epoch AI, 'Data on Notable AI Models' (CC BY 4.0)"
    return out


def _text_of(source: str | Path | None, packaged: str) -> tuple[str, str]:
    if source is None:
        return merged_text(packaged), packaged  # with any price packs laid over it
    path = Path(source)
    return read_user_text(path, what="runs file", max_bytes=MAX_RUNS_BYTES), str(path)


def read_runs(source: str | Path | None = None) -> list[Run]:
    """The runs of a CSV file (``None``: every packaged runs file, :data:`PACKAGED`), in the
    reference schema or Epoch AI's. A file in neither raises :class:`~aibudget.ScenarioError`
    naming the missing columns; a row that cannot be read is kept, with its reason."""
    if source is not None:
        return _read(*_text_of(source, ""))
    return [run for name in PACKAGED for run in _read(*_text_of(None, name))]


def _read(content: str, where: str) -> list[Run]:
    header, rows = _rows(content, where)
    epoch = all(column in header for column in EPOCH_SIGNATURE)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing and not epoch:
        raise ScenarioError(
            f"{where} is not a runs file: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the schema of reference_runs.csv, which `aibudget catalog runs "
            "--json` shows, or Epoch AI's 'Data on Notable AI Models' with Model, Training "
            "hardware and Hardware quantity)"
        )
    runs: list[Run] = []
    for ordinal, (line, cells) in enumerate(rows, start=1):
        if isinstance(cells, str):
            runs.append(_unreadable(line, cells, where))
            continue
        row = dict(zip(header, cells, strict=False))
        if epoch:
            row = from_epoch(row, ordinal)
        elif not row.get("row_id", "").strip():
            row["row_id"] = f"line {line}"
        if not row.get("run_key", "").strip():
            row["run_key"] = row["row_id"]
        runs.append(_run(row, where))
    return runs


#: Reason texts → the kind of reason they are, for counts in listings.
_KINDS = (
    ("fine-tune", "fine-tunes (base model given)"),
    ("same run as", "duplicates of reference runs"),
    ("speculative", "rated speculative by their source"),
    ("circular", "FLOPs estimated from hardware time (circular)"),
    ("not an operation count", "FLOPs of an unstated or third-party method"),
    ("not in the catalog", "hardware not in the catalog"),
    ("more than one kind", "more than one kind of accelerator"),
    ("neither parameters", "no work published (FLOPs, or parameters and tokens)"),
    ("disagree by more", "chip-hours that contradict chips × time"),
    ("contradict", "inputs or notes that contradict the numbers"),
    ("third-party estimate", "third-party estimates"),
    ("FP32", "trained in FP32"),
    ("plausible range", "values outside the plausible range"),
    ("is not a number", "values that are not numbers"),
    ("cannot be read", "rows that cannot be read"),
    ("publishes no outcome", "no outcome published"),
    ("scope", "energy of an unstated or other scope"),
    ("grid factor", "CO2e alone, without the publisher's grid factor"),
)


def reason_kind(reason: str) -> str:
    """The kind of a reason ("FLOPs estimated from hardware time (circular)"), for counts."""
    for key, label in _KINDS:
        if key in reason:
            return label
    return "other"


def usable(runs: Sequence[Run]) -> list[Run]:
    """The runs with nothing against the whole row."""
    return [r for r in runs if "" not in r.reasons]
