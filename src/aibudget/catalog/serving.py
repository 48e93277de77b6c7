"""Catalog tables for serving: what each accelerator offers an inference engine beyond
``accelerators.csv`` (FP4 and INT8 peaks, the link between tensor-parallel peers), the MLPerf
Inference LLM results the serving efficiencies are fitted on, the benchmarks' definitions, and
the fitted efficiencies themselves (``serving_fit.csv``, written by ``tools/fit_serving.py``).

Each file is documented column by column in ``docs/catalog.md``; every row carries its source.
"""

from __future__ import annotations

from aibudget._errors import CatalogDataError, UnknownNameError, closest
from aibudget._record import record
from aibudget.catalog.defaults import Constant
from aibudget.catalog.hardware import Accelerator, accelerator
from aibudget.catalog.packs import layered
from aibudget.catalog.rows import _number, _required, _rows, _where

__all__ = [
    "SERVING_COMPUTE",
    "AcceleratorServing",
    "MlperfBenchmark",
    "MlperfResult",
    "accelerator_serving",
    "mlperf_benchmark",
    "mlperf_benchmarks",
    "mlperf_results",
    "serving_fit",
    "serving_peak",
]

#: The precisions a serving precision's matrix multiplies may run at, best first: FP4 weights
#: run FP4 matrix units where the chip has them; 8- and 4-bit integer weights run INT8 (W4A8,
#: W8A8) or FP8; everything else its own precision, else 16-bit.
SERVING_COMPUTE = {
    "fp32": ("fp32",),
    "fp16": ("fp16", "bf16"),
    "bf16": ("bf16", "fp16"),
    "fp8": ("fp8", "bf16", "fp16"),
    "fp4": ("fp4", "fp8", "bf16", "fp16"),
    "int8": ("int8", "fp8", "bf16", "fp16"),
    "int4": ("int8", "fp8", "bf16", "fp16"),
}


@record
class AcceleratorServing:
    """What an accelerator offers an inference engine beyond its ``accelerators.csv`` row."""

    accelerator: str
    peak_dense_tflops: dict[str, float]  # fp4, int8 (TOPS), and fp8 where the main row lacks it
    link_gb_s: float | None  # per chip, per direction, to its tensor-parallel peers
    tensor_parallel_max: int
    source_url: str
    as_of: str
    notes: str


@record
class MlperfBenchmark:
    """One MLPerf Inference LLM benchmark: the model, the request lengths, the Server limits."""

    benchmark: str
    params: float
    active_params: float
    layers: int
    d_model: int
    heads: int
    kv_heads: int
    input_tokens: float
    output_tokens: float
    ttft_s: float
    tpot_s: float
    source_url: str
    as_of: str
    notes: str


@record
class MlperfResult:
    """One MLPerf Inference result: output tokens per second per accelerator."""

    version: str
    submitter: str
    system: str
    benchmark: str
    accuracy_targets: str
    scenario: str
    accelerator: str
    accelerators: int
    nodes: int
    tokens_per_s_per_accelerator: float
    weight_precision: str
    precision_basis: str
    software: str
    availability: str
    source_repo: str
    source_commit: str
    source_path: str
    source_url: str
    as_of: str


@layered
def _serving_rows() -> dict[str, AcceleratorServing]:
    file = "accelerator_serving.csv"
    out: dict[str, AcceleratorServing] = {}
    for line, row in _rows(file):
        name = accelerator(row["accelerator"]).name
        peaks = {
            key: value
            for key, column in (
                ("fp4", "peak_dense_tflops_fp4"),
                ("int8", "peak_dense_tops_int8"),
                ("fp8", "peak_dense_tflops_fp8"),
            )
            if (value := _number(file, line, row, column)) is not None
        }
        out[name] = AcceleratorServing(
            accelerator=name,
            peak_dense_tflops=peaks,
            link_gb_s=_number(file, line, row, "link_gb_s"),
            tensor_parallel_max=int(_required(file, line, row, "tensor_parallel_max")),
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
        )
    return out


def accelerator_serving(name: str) -> AcceleratorServing:
    """The serving row of an accelerator (by catalog name or alias)."""
    acc = accelerator(name)
    row = _serving_rows().get(acc.name)
    if row is None:
        raise CatalogDataError(f"accelerator_serving.csv has no row for {acc.name}")
    return row


def serving_peak(acc: Accelerator, precision: str) -> tuple[str, float, str, str]:
    """The dense peak a serving precision's matrix multiplies run at on ``acc``: (the precision
    it runs at, FLOP/s, source URL, as-of). The first of :data:`SERVING_COMPUTE` the chip has."""
    extra = accelerator_serving(acc.name)
    for compute in SERVING_COMPUTE[precision]:
        if compute in acc.peak_dense_tflops:
            return compute, acc.peak_dense_tflops[compute] * 1e12, acc.source_url, acc.as_of
        if compute in extra.peak_dense_tflops:
            tflops = extra.peak_dense_tflops[compute]
            return compute, tflops * 1e12, extra.source_url, extra.as_of
    fallback = next(iter(acc.peak_dense_tflops), None)
    if fallback is None:
        raise CatalogDataError(f"{acc.name} has no dense peak in the catalog")
    return fallback, acc.peak_dense_tflops[fallback] * 1e12, acc.source_url, acc.as_of


@layered
def mlperf_benchmarks() -> dict[str, MlperfBenchmark]:
    """The MLPerf Inference LLM benchmarks the fit uses, by name."""
    file = "mlperf_benchmarks.csv"
    out = {}
    for line, row in _rows(file):
        out[row["benchmark"]] = MlperfBenchmark(
            benchmark=row["benchmark"],
            params=_required(file, line, row, "params"),
            active_params=_required(file, line, row, "active_params"),
            layers=int(_required(file, line, row, "layers")),
            d_model=int(_required(file, line, row, "d_model")),
            heads=int(_required(file, line, row, "heads")),
            kv_heads=int(_required(file, line, row, "kv_heads")),
            input_tokens=_required(file, line, row, "input_tokens"),
            output_tokens=_required(file, line, row, "output_tokens"),
            ttft_s=_required(file, line, row, "ttft_s"),
            tpot_s=_required(file, line, row, "tpot_s"),
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
        )
    return out


def mlperf_benchmark(name: str) -> MlperfBenchmark:
    """One benchmark by name; unknown names suggest the closest."""
    table = mlperf_benchmarks()
    if name not in table:
        raise UnknownNameError(f"unknown MLPerf benchmark {name!r}", closest(name, table))
    return table[name]


@layered
def mlperf_results() -> tuple[MlperfResult, ...]:
    """The curated MLPerf Inference results (``tools/build_serving_data.py``), in file order."""
    file = "mlperf_inference.csv"
    benchmarks = mlperf_benchmarks()
    out = []
    for line, row in _rows(file, ("source_url", "as_of", "source_commit", "source_path")):
        if row["benchmark"] not in benchmarks:
            raise CatalogDataError(
                f"{_where(file, line, row)}: unknown benchmark {row['benchmark']!r}"
            )
        out.append(
            MlperfResult(
                version=row["version"],
                submitter=row["submitter"],
                system=row["system"],
                benchmark=row["benchmark"],
                accuracy_targets=row["accuracy_targets"],
                scenario=row["scenario"],
                accelerator=accelerator(row["accelerator"]).name,
                accelerators=int(_required(file, line, row, "accelerators")),
                nodes=int(_required(file, line, row, "nodes")),
                tokens_per_s_per_accelerator=_required(
                    file, line, row, "tokens_per_s_per_accelerator"
                ),
                weight_precision=row["weight_precision"],
                precision_basis=row["precision_basis"],
                software=row["software"],
                availability=row["availability"],
                source_repo=row["source_repo"],
                source_commit=row["source_commit"],
                source_path=row["source_path"],
                source_url=row["source_url"],
                as_of=row["as_of"],
            )
        )
    return tuple(out)


@layered
def serving_fit() -> dict[str, Constant]:
    """The serving efficiencies fitted on MLPerf Inference by ``tools/fit_serving.py``, by key,
    each with its out-of-sample error; empty before the first fit."""
    file = "serving_fit.csv"
    table: dict[str, Constant] = {}
    for line, row in _rows(file, ("method", "loao_error", "as_of")):
        table[row["key"]] = Constant(
            key=row["key"],
            value=_required(file, line, row, "value"),
            unit=row["unit"],
            description=f"{row['description']}; out of sample: {row['loao_error']}",
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=f"fitted on MLPerf Inference ({row['method']}); leave-one-accelerator-out "
            f"error {row['loao_error']}",
            p10=_number(file, line, row, "p10"),
            p90=_number(file, line, row, "p90"),
            range_source_url="",
            range_note=row["range_note"],
        )
    return table
