"""Refusals and warnings: fit in memory, latency, API sizes."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from aibudget import catalog
from aibudget._errors import DoesNotFitError, ScenarioError
from aibudget.catalog import serving as serving_catalog
from aibudget.estimation.explain import _first
from aibudget.model import memory
from aibudget.model import serving as serving_model
from aibudget.model.lifecycle import Lifecycle
from aibudget.resolution.resolver import Resolved
from aibudget.resolution.serving import serving_variant
from aibudget.scenario.ranges import field_limits
from aibudget.scenario.types import Scenario, TrainingSpec
from aibudget.units import format_quantity


# --------------------------------------------------------------------------- checks
def refusals(s: Scenario, result: Lifecycle, resolved: Resolved) -> dict[str, NDArray[np.bool_]]:
    """Each reason ``estimate()`` refuses a row of ``result`` for (one definition, read by the
    checks below and by a sweep's rows): a deadline that needs more chips than a run can use,
    training or serving that does not fit the chips' memory, a latency target out of reach.
    Each a boolean array (length 1 where no row can differ); a reason that cannot apply is
    absent."""
    out: dict[str, NDArray[np.bool_]] = {}
    run = result.training
    if s.training is not None:
        if s.training.wall_clock_days is not None:
            most = field_limits(TrainingSpec.model_fields["chips"])[1] or float("inf")
            out["too_many_chips"] = np.atleast_1d(np.asarray(run.chips) > most)
        if resolved.accelerator is not None:
            out["training_does_not_fit"] = ~np.atleast_1d(np.asarray(run.fits).astype(bool))
    if s.serving is not None and s.serving.mode != "api":
        out["serving_does_not_fit"] = ~np.atleast_1d(result.serving["fits"].astype(bool))
        if s.serving.tpot_ms is not None and resolved.serving_accelerator is not None:
            out["misses_latency"] = np.atleast_1d(result.serving["meets_latency"] != 1.0)
    return out


def _check_fits(s: Scenario, result: Lifecycle, resolved: Resolved) -> None:
    run = result.training
    acc = resolved.accelerator
    refused = refusals(s, result, resolved)
    if s.training is not None and s.training.wall_clock_days is not None:
        most = field_limits(TrainingSpec.model_fields["chips"])[1] or float("inf")
        chips = _first(run.chips)
        if refused["too_many_chips"].any():
            raise ScenarioError(
                f"{s.name}: finishing in training.wall_clock_days = {s.training.wall_clock_days:g} "
                f"days needs {chips:.3g} chips, more than the {most:,.0f} a run can plausibly "
                "use (training.chips' range); allow more days or train fewer tokens",
                [("training.wall_clock_days", f"needs {chips:.3g} chips")],
            )
    if s.training is not None and acc is not None and refused["training_does_not_fit"].any():
        chips = int(_first(run.chips))
        need = int(_first(run.min_chips))
        state_tb = _first(run.training_state_bytes) / 1e12
        act_gb = _first(run.activation_bytes) / 1e9
        t = s.training
        size = format_quantity(s.model.params if s.model else 0)
        raise DoesNotFitError(
            f"{s.name} does not fit: training {size} parameters "
            f"needs {state_tb:.3g} TB of weights, gradients and {t.optimizer} state "
            f"({t.precision}) plus {act_gb:.3g} GB of activations, so at least {need} {acc.name} "
            f"({acc.memory_gb:g} GB each); training.chips is {chips}. Use at least {need} chips, "
            "an accelerator with more memory, or a lighter optimizer "
            "(training.optimizer: adam_8bit or adafactor)."
        )
    if s.serving is not None and s.serving.mode != "api" and refused["serving_does_not_fit"].any():
        sacc = resolved.serving_accelerator
        assert sacc is not None
        serving = s.serving
        params = serving.params or (s.model.params if s.model else 0.0)
        chips = int(_first(result.serving["chips_per_replica"]))
        weights_gb = (
            float(resolved.inputs.serving.replica.weights_total_bytes[0]) / memory.BYTES_PER_GB
        )
        where = (
            f"serving.chips_per_replica is {chips}"
            if serving.chips_per_replica is not None
            else f"not even {chips} chips per replica are enough"
        )
        raise DoesNotFitError(
            f"{s.name} cannot be served: {format_quantity(params)} parameters in "
            f"{serving.precision} "
            f"are {weights_gb:,.0f} GB of weights, plus the KV cache of one "
            f"{serving.input_tokens_per_request + serving.output_tokens_per_request:,.0f}-token "
            f"sequence, on {sacc.name} ({sacc.memory_gb:g} GB each, 90% usable); {where}. Use more "
            "chips per replica (serving.chips_per_replica), a lower precision (serving.precision: "
            "fp8 or int4) or an accelerator with more memory."
        )


#: Precisions tried, narrowest last, when a latency target is out of reach.
_NARROWER = ("fp8", "fp4", "int4")


def _check_latency(s: Scenario, result: Lifecycle, resolved: Resolved) -> None:
    """A time-per-output-token target the hardware cannot reach is an error at
    ``serving.tpot_ms`` that names the fastest the scenario's model and chip can do and what
    would meet the target: a narrower precision, another accelerator, a looser target."""
    serving = s.serving
    acc = resolved.serving_accelerator
    if serving is None or serving.mode == "api" or serving.tpot_ms is None or acc is None:
        return
    if not refusals(s, result, resolved)["misses_latency"].any():
        return
    inputs = resolved.inputs.serving
    x, chips = inputs.replica, inputs.chips_per_replica
    fastest, size = serving_model.fastest_tpot_s(x, chips)
    best_ms, best_chips = float(np.max(fastest)) * 1e3, float(size.flat[0])
    target = serving.tpot_ms
    current = serving_model.WEIGHT_BYTES[serving.precision]
    fixes: list[str] = []
    for precision in _NARROWER:
        native = serving_catalog.serving_peak(acc, precision)[0] == precision
        if serving_model.WEIGHT_BYTES[precision] < current and (precision != "fp4" or native):
            t, _ = serving_model.fastest_tpot_s(
                serving_variant(x, acc.name, precision, serving.precision), chips
            )
            ms = float(np.max(t)) * 1e3
            if ms <= target:
                fixes.append(f"serving.precision: {precision} ({ms:.3g} ms)")
                break
    faster = []
    for other in catalog.accelerators():
        if other.name == acc.name or other.memory_bandwidth_tb_s is None:
            continue
        if serving.precision == "fp4" and serving_catalog.serving_peak(other, "fp4")[0] != "fp4":
            continue
        t, _ = serving_model.fastest_tpot_s(
            serving_variant(x, other.name, serving.precision, serving.precision), chips
        )
        ms = float(np.max(t)) * 1e3
        if ms <= target:
            faster.append((ms, other.name))
    if faster:
        names = ", ".join(f"{name} ({ms:.3g} ms)" for ms, name in sorted(faster)[:3])
        fixes.append(f"serving.accelerator: {names}")
    fixes.append(f"a target of at least {best_ms:.3g} ms")
    weights_gb = float(x.weights_active_bytes.flat[0]) / memory.BYTES_PER_GB
    tp = float(np.minimum(best_chips, x.tensor_parallel_max.flat[0]))
    params = serving.params or (s.model.params if s.model is not None else 0.0)
    how = (
        f"{format_quantity(params)} parameters in {serving.precision} on {acc.name} reach "
        f"{best_ms:.3g} ms at the fastest (batch 1 on {best_chips:.0f} chips, {tp:.0f} tensor "
        f"parallel: {weights_gb:,.0f} GB of active weights read per token at {tp:.0f} × "
        f"{acc.memory_bandwidth_tb_s:g} TB/s × MBU {float(x.mbu.flat[0]):.2f}, plus the "
        "all-reduces)"
    )
    message = (
        f"{target:g} ms per output token is out of reach: {how}. Would meet it: "
        + "; or ".join(fixes)
    )
    raise ScenarioError(
        f"{s.name} has 1 problem:\n  serving.tpot_ms: {message}", [("serving.tpot_ms", message)]
    )


def _same_size_apis(params: float, active: float) -> list[catalog.ApiModel]:
    """Hosted offers of an open model of this size (total and active parameters within 10%)."""
    return [
        m
        for m in catalog.api_models()
        if m.open_weights
        and m.params_total is not None
        and abs(m.params_total / params - 1.0) <= 0.1
        and abs((m.params_active or m.params_total) / active - 1.0) <= 0.1
    ]
