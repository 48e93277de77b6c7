"""The accelerators table."""

from __future__ import annotations

from aibudget._errors import CatalogDataError, UnknownNameError, closest
from aibudget._record import record
from aibudget.catalog.packs import layered
from aibudget.catalog.rows import PRECISIONS, _number, _required, _rows, _split, normalize_name


# --------------------------------------------------------------------------- rows
@record
class Accelerator:
    """One accelerator model. Peak figures are dense (no sparsity), per chip."""

    name: str
    aliases: tuple[str, ...]
    vendor: str
    kind: str
    family: str
    release_year: int
    memory_gb: float
    memory_bandwidth_tb_s: float | None
    peak_dense_tflops: dict[str, float]
    tdp_w: float | None
    interconnect: str
    purchase_price_usd: float | None
    purchase_price_low_usd: float | None
    purchase_price_high_usd: float | None
    purchase_price_kind: str
    purchase_price_source_url: str
    purchase_price_as_of: str
    source_url: str
    as_of: str
    notes: str

    @property
    def qualifiers(self) -> tuple[str, str]:
        """Keys for family-specific constants, most specific first: (family, kind)."""
        return (self.family, self.kind)

    def peak_flops_per_s(self, precision: str) -> float:
        """Dense peak FLOP/s at ``precision``; raises ``UnknownNameError`` if not supported."""
        tflops = self.peak_dense_tflops.get(precision)
        if tflops is None:
            supported = ", ".join(p for p in PRECISIONS if p in self.peak_dense_tflops)
            raise UnknownNameError(
                f"{self.name} has no published dense {precision} peak; "
                f"precisions it supports: {supported}",
                suggestions=list(self.peak_dense_tflops),
            )
        return tflops * 1e12


@layered
def accelerators() -> tuple[Accelerator, ...]:
    """Every accelerator in the catalog, in file order."""
    out = []
    file = "accelerators.csv"
    for line, row in _rows(file):
        peaks = {
            p: value
            for p in PRECISIONS
            if (value := _number(file, line, row, f"peak_dense_tflops_{p}")) is not None
        }
        out.append(
            Accelerator(
                name=row["name"],
                aliases=_split(row["aliases"]),
                vendor=row["vendor"],
                kind=row["kind"],
                family=row["family"],
                release_year=int(_required(file, line, row, "release_year")),
                memory_gb=_required(file, line, row, "memory_gb"),
                memory_bandwidth_tb_s=_number(file, line, row, "memory_bandwidth_tb_s"),
                peak_dense_tflops=peaks,
                tdp_w=_number(file, line, row, "tdp_w"),
                interconnect=row["interconnect"],
                purchase_price_usd=_number(file, line, row, "purchase_price_usd"),
                purchase_price_low_usd=_number(file, line, row, "purchase_price_low_usd"),
                purchase_price_high_usd=_number(file, line, row, "purchase_price_high_usd"),
                purchase_price_kind=row["purchase_price_kind"],
                purchase_price_source_url=row["purchase_price_source_url"],
                purchase_price_as_of=row["purchase_price_as_of"],
                source_url=row["source_url"],
                as_of=row["as_of"],
                notes=row["notes"],
            )
        )
    return tuple(out)


@layered
def _accelerator_index() -> dict[str, Accelerator]:
    index: dict[str, Accelerator] = {}
    for acc in accelerators():
        for label in (acc.name, *acc.aliases):
            key = normalize_name(label)
            other = index.get(key)
            if other is not None and other.name != acc.name:
                raise CatalogDataError(
                    f"accelerators.csv: name {label!r} is claimed by {other.name} and {acc.name}"
                )
            index[key] = acc
    return index


def accelerator(name: str) -> Accelerator:
    """Resolve an accelerator by name or alias; unknown names suggest the closest matches."""
    found = _accelerator_index().get(normalize_name(name))
    if found is not None:
        return found
    names = [acc.name for acc in accelerators()]
    by_key = {
        normalize_name(label): acc.name
        for acc in accelerators()
        for label in (acc.name, *acc.aliases)
    }
    suggestions = list(
        dict.fromkeys(by_key[k] for k in closest(normalize_name(name), by_key, n=5, cutoff=0.6))
    )[:3] or closest(name, names)
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownNameError(
        f"unknown accelerator {name!r}{hint} (`aibudget catalog accelerators` lists all "
        f"{len(names)})",
        suggestions=suggestions,
    )
