"""Serving: hosted APIs or self-hosted replicas, the chip, the KV cache."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from aibudget import catalog
from aibudget.assumptions import Assumption
from aibudget.catalog import serving as serving_catalog
from aibudget.model import memory
from aibudget.model import serving as serving_model
from aibudget.model.lifecycle import ServingInputs
from aibudget.model.serving import ReplicaInputs
from aibudget.model.site import Site, flat_names
from aibudget.resolution.resolver import Resolver, Value, _from_constant
from aibudget.resolution.site import _site
from aibudget.resolution.training import LARGE_BATCH_MEMORY_GB


# --------------------------------------------------------------------------- data
def _api_energy(r: Resolver, name: str, model: catalog.ApiModel | None) -> Value:
    per_token = catalog.constant("api_wh_per_output_token")
    reference = catalog.constant("api_reference_active_params")
    if model is not None and model.params_active is not None:
        factor = model.params_active / reference.value
        return r.add(
            Assumption(
                name,
                per_token.value * factor,
                "Wh/token",
                per_token.source_url,
                per_token.as_of,
                f"{per_token.value:g} Wh per token at {reference.value:.3g} active parameters "
                f"(Epoch AI's GPT-4o estimate) scaled to {model.name}'s "
                f"{model.params_active:.3g} active parameters",
                distribution=per_token.distribution.scaled(factor)
                if per_token.distribution is not None
                else None,
                range_note=per_token.range_note,
            )
        )
    label = model.name if model is not None else "this API"
    return r.add(
        _from_constant(name, per_token, f"{label}'s size is not published: {per_token.description}")
    )


def _api_price(r: Resolver, name: str, model: catalog.ApiModel, side: str) -> Value:
    """A hosted model's price per million ``side`` ("input" or "output") tokens."""
    price = getattr(model, f"{side}_usd_per_million_tokens")
    return r.add(
        Assumption(
            name, price, "USD/M tokens", model.source_url, model.as_of, f"{model.name} {side} price"
        )
    )


def _api_grid(r: Resolver, name: str) -> Value:
    row = catalog.grid_intensity("USA")
    return r.add(
        Assumption(
            name,
            row.gco2e_per_kwh,
            "gCO2e/kWh",
            row.source_url,
            row.as_of,
            "a hosted API's data centres are not disclosed; US average assumed",
        )
    )


# --------------------------------------------------------------------------- serving, maintenance
def _serving(
    r: Resolver, training_acc: catalog.Accelerator | None
) -> tuple[ServingInputs, catalog.Accelerator | None]:
    s = r.scenario.serving
    names = flat_names(ServingInputs, {"replica": ReplicaInputs, "site": Site})
    values: dict[str, object] = {f: 0.0 for f in names}
    values.update(
        tpot_target_s=math.nan,
        chips_per_replica=math.nan,  # the fewest that fit (model.serving.replica)
        weights_total_bytes=1.0,
        weights_active_bytes=1.0,
        active_params=1.0,
        memory_bytes_per_chip=1.0,
        bandwidth_bytes_per_s=1.0,
        peak_flops_per_s=1.0,
        mbu=1.0,
        prefill_mfu=1.0,
        max_batch=1.0,
        memory_fraction=1.0,
        link_bytes_per_s=1.0,
        tensor_parallel_max=1.0,
    )
    if s is None:  # nothing served: no replica to size, one chip stands in (no sizes searched;
        # no requests, so no fleet, and no serving figure is shown)
        return ServingInputs.from_values(**{**values, "chips_per_replica": 1.0}), None
    r.given("serving.mode", s.mode, "")
    values["requests_per_day"] = r.given(
        "serving.requests_per_day", s.requests_per_day, "requests/day"
    )
    values["input_tokens"] = r.given(
        "serving.input_tokens_per_request", s.input_tokens_per_request, "tokens"
    )
    values["output_tokens"] = r.given(
        "serving.output_tokens_per_request", s.output_tokens_per_request, "tokens"
    )
    values["peak_to_mean"] = r.pick("serving.peak_to_mean", s.peak_to_mean, "ratio", "peak_to_mean")
    values["headroom"] = r.pick("serving.headroom", s.headroom, "fraction", "headroom")
    growth = r.scenario.maintenance.traffic_growth_per_year if r.scenario.maintenance else 0.0
    values["traffic_growth_per_year"] = growth
    if r.scenario.maintenance is not None and growth:
        r.given("maintenance.traffic_growth_per_year", growth, "fraction")
    values["overhead_fraction"] = (
        r.given("serving.overhead_fraction", s.overhead_fraction, "fraction")
        if s.overhead_fraction is not None
        else 0.0
    )
    values["overhead_usd_per_month"] = (
        r.given("serving.overhead_usd_per_month", s.overhead_usd_per_month, "USD/month")
        if s.overhead_usd_per_month
        else 0.0
    )
    _egress(r, values)

    if s.mode == "api":
        assert s.api is not None
        values["api"] = 1.0
        model = catalog.api_model(s.api.model) if s.api.model is not None else None
        if model is not None:
            r.given("serving.api.model", model.name, "")
            values["api_usd_per_million_input"] = _api_price(
                r, "serving.api.usd_per_million_input", model, "input"
            )
            values["api_usd_per_million_output"] = _api_price(
                r, "serving.api.usd_per_million_output", model, "output"
            )
        else:
            values["api_usd_per_million_input"] = r.given(
                "serving.api.usd_per_million_input",
                s.api.usd_per_million_input or 0.0,
                "USD/M tokens",
            )
            values["api_usd_per_million_output"] = r.given(
                "serving.api.usd_per_million_output",
                s.api.usd_per_million_output or 0.0,
                "USD/M tokens",
            )
        values["api_wh_per_output_token"] = _api_energy(r, "serving.api.wh_per_output_token", model)
        values["api_grid_gco2e_per_kwh"] = _api_grid(r, "serving.api.grid_gco2e_per_kwh")
        return ServingInputs.from_values(**values), None

    if s.accelerator is None and training_acc is None:
        raise r.error("serving.accelerator", "required when there is no training section")
    acc = catalog.accelerator(s.accelerator or (training_acc.name if training_acc else ""))
    if s.accelerator is not None:
        r.given("serving.accelerator", acc.name, "")
    else:
        r.derived("serving.accelerator", acc.name, "", "the training accelerator")
    values["autoscaled"] = 1.0 if s.mode == "autoscaled" else 0.0
    params, active = _served_params(r)
    values["active_params"] = active
    weight_bytes = serving_model.WEIGHT_BYTES[s.precision]
    r.given("serving.precision", s.precision, "")
    values["weights_total_bytes"] = params * weight_bytes
    values["weights_active_bytes"] = active * weight_bytes
    layers, d_model = _model_shape(r)
    values["layers"], values["d_model"] = layers, d_model
    values["kv_bytes_per_token"] = _kv_cache(r, weight_bytes)
    values.update(_serving_chip(r, acc, s.precision))
    values["mbu"] = _serving_efficiency(r, "serving.mbu", s.mbu)
    values["prefill_mfu"] = _serving_efficiency(r, "serving.prefill_mfu", s.prefill_mfu)
    values["decode_mfu"] = _serving_efficiency(r, "serving.decode_mfu", None)
    if s.max_batch is not None:
        values["max_batch"] = r.given("serving.max_batch", s.max_batch, "sequences")
    else:
        large = acc.memory_gb >= LARGE_BATCH_MEMORY_GB and acc.family != "a100"
        values["max_batch"] = r.constant(
            "serving.max_batch",
            "max_batch",
            ("70gib",) if large else (),
            f"{catalog.constant_for('max_batch', ('70gib',) if large else ()).description} "
            f"({acc.name}: {acc.memory_gb:g} GB)",
        )
    if s.tpot_ms is not None:
        values["tpot_target_s"] = r.given("serving.tpot_ms", s.tpot_ms, "ms") / 1000.0
    if s.chips_per_replica is not None:
        values["chips_per_replica"] = r.given(
            "serving.chips_per_replica", s.chips_per_replica, "chips"
        )
    if s.mode == "autoscaled":
        values["min_replicas"] = (
            r.given("serving.min_replicas", s.min_replicas, "replicas")
            if s.min_replicas is not None
            else r.derived(
                "serving.min_replicas",
                1.0,
                "replicas",
                "default",
                "one replica kept running so the first request is served",
            )
        )
    if s.overhead_fraction is None:  # a fleet of one's own runs load balancers, storage, logs
        values["overhead_fraction"] = r.constant(
            "serving.overhead_fraction", "serving_overhead_fraction"
        )
    values["spare_replicas"] = r.pick(
        "serving.spare_replicas", s.spare_replicas, "replicas", "serving_spare_replicas"
    )
    site = _site(r, "serving", acc, s.hardware, s.cloud, s.owned, "serving")
    values.update(site)
    values["idle_power_fraction"] = r.constant(
        "energy.idle_power_fraction [serving]", "idle_power_fraction", acc.qualifiers
    )
    storage = catalog.constant("storage_usd_per_gb_month")
    storage_gb = params * weight_bytes / memory.BYTES_PER_GB
    storage_month = r.add(
        Assumption(
            "serving.storage_usd_per_month",
            storage_gb * storage.value,
            "USD/month",
            storage.source_url,
            storage.as_of,
            f"{storage_gb:,.3g} GB of weights × ${storage.value}/GB-month ({storage.description})",
        )
    )
    values["overhead_usd_per_month"] = storage_month + np.asarray(values["overhead_usd_per_month"])
    return ServingInputs.from_values(**values), acc


def _served_params(r: Resolver) -> tuple[float, float]:
    """The served model's total and active parameters (``serving.params`` or the model's)."""
    s, m = r.scenario.serving, r.scenario.model
    assert s is not None
    assert m is not None  # a scenario without a model only uses a hosted API
    if s.params is not None:
        r.given("serving.params", s.params, "params")
    elif "model.params" not in r.used:
        r.given("model.params", m.params, "params")
    params = s.params if s.params is not None else m.params
    if s.active_params is not None:
        active = float(r.given("serving.active_params", s.active_params, "params"))
    elif s.params is None and m.active_params is not None:
        if "model.active_params" not in r.used:
            r.given("model.active_params", m.active_params, "params")
        active = m.active_params
    else:
        active = params
    return params, active


def _model_shape(r: Resolver) -> tuple[Value, Value]:
    """Layers and width of the served model: resolved by the training section, given, or
    inferred from the parameters."""
    m = r.scenario.model
    assert m is not None
    if "model.layers" not in r.used:
        if m.layers is not None and m.d_model is not None:
            r.given("model.layers", m.layers, "layers")
            r.given("model.d_model", m.d_model, "width")
        else:
            inferred_layers, inferred_width = memory.inferred_shape(m.params)
            r.derived(
                "model.layers",
                float(inferred_layers),
                "layers",
                "N ≈ 12·L·d², d = 128·L",
                "inferred from params for the KV cache and the all-reduces",
            )
            r.derived("model.d_model", float(inferred_width), "width", "d = 128·L")
    return float(r.used["model.layers"].value), float(r.used["model.d_model"].value)


def _serving_chip(r: Resolver, acc: catalog.Accelerator, precision: str) -> dict[str, Value]:
    """The accelerator's datasheet as the replica sees it: memory, bandwidth, the peak at the
    precision its matrix multiplies run, and the link between tensor-parallel peers."""
    extra = serving_catalog.accelerator_serving(acc.name)
    if acc.memory_bandwidth_tb_s is None:
        raise r.error("serving.accelerator", f"{acc.name} has no published memory bandwidth")
    memory_gb = r.add(
        Assumption(
            f"accelerator.{acc.name}.memory_gb", acc.memory_gb, "GB", acc.source_url, acc.as_of
        )
    )
    bandwidth = r.add(
        Assumption(
            f"accelerator.{acc.name}.memory_bandwidth_tb_s",
            acc.memory_bandwidth_tb_s,
            "TB/s",
            acc.source_url,
            acc.as_of,
        )
    )
    compute, peak, source, as_of = serving_catalog.serving_peak(acc, precision)
    if precision == "fp4" and compute != "fp4":
        raise r.error(
            "serving.precision",
            f"{acc.name} has no FP4 matrix units (FP4 needs Blackwell-class chips: B200, GB200, "
            "RTX-PRO-6000); use int4 (4-bit weights, 8-bit matrix multiplies) or fp8",
        )
    peak_value = r.add(
        Assumption(
            f"accelerator.{acc.name}.peak_{compute} [serving]",
            peak,
            "FLOP/s",
            source,
            as_of,
            f"dense {compute} peak per chip: {precision} weights run {compute} matrix multiplies",
        )
    )
    link_gb_s = extra.link_gb_s if extra.link_gb_s is not None else 32.0
    link = r.add(
        Assumption(
            f"accelerator.{acc.name}.link_gb_s",
            link_gb_s,
            "GB/s",
            extra.source_url,
            extra.as_of,
            f"per chip, per direction, to its tensor-parallel peers: {extra.notes}",
        )
    )
    tp_max = r.add(
        Assumption(
            f"accelerator.{acc.name}.tensor_parallel_max",
            float(extra.tensor_parallel_max),
            "chips",
            extra.source_url,
            extra.as_of,
            "chips in one scale-up domain: tensor parallelism stops there, pipeline stages "
            "carry larger replicas",
        )
    )
    return dict(
        memory_bytes_per_chip=np.asarray(memory_gb) * memory.BYTES_PER_GB,
        memory_fraction=r.constant("serving.memory_fraction", "serving_memory_fraction"),
        bandwidth_bytes_per_s=np.asarray(bandwidth) * 1e12,
        peak_flops_per_s=peak_value,
        link_bytes_per_s=np.asarray(link) * 1e9,
        tensor_parallel_max=tp_max,
    )


def _serving_efficiency(r: Resolver, name: str, given: float | None) -> Value:
    """The user's efficiency, else the value fitted on MLPerf Inference."""
    if given is not None:
        return r.given(name, given, "fraction")
    row = serving_catalog.serving_fit()[name]
    return r.add(_from_constant(name, row, row.description))


def _egress(r: Resolver, values: dict[str, object]) -> None:
    egress = catalog.constant("egress_usd_per_gb")
    per_token = catalog.constant("bytes_per_token")
    values["egress_usd_per_million_output_tokens"] = r.add(
        Assumption(
            "serving.egress_usd_per_million_tokens",
            egress.value * per_token.value * 1e6 / 1e9,
            "USD/M tokens",
            egress.source_url,
            egress.as_of,
            f"responses leave the cloud at ${egress.value}/GB ({egress.description}), "
            f"{per_token.value:g} bytes per output token ({per_token.source_url})",
        )
    )


def _kv_cache(r: Resolver, weight_bytes: float) -> Value:
    """KV-cache bytes per token (:func:`aibudget.model.serving.kv_cache_bytes_per_token`) at
    the cache precision the weights set (:func:`aibudget.model.serving.kv_cache_value_bytes`)."""
    m = r.scenario.model
    assert m is not None
    layers = float(r.used["model.layers"].value)
    d_model = float(r.used["model.d_model"].value)
    if m.kv_heads is not None and m.heads is not None:
        r.given("model.kv_heads", m.kv_heads, "heads")
        r.given("model.heads", m.heads, "heads")
        ratio = m.kv_heads / m.heads
    else:
        ratio = 1.0
        r.derived(
            "model.kv_heads_fraction",
            ratio,
            "fraction",
            "multi-head attention",
            "no heads/kv_heads given: every head keeps its own keys and values; "
            "grouped-query attention (Llama 2 70B, Llama 3) caches 8x less",
        )
    cache_bytes = serving_model.kv_cache_value_bytes(weight_bytes)
    value = serving_model.kv_cache_bytes_per_token(
        *(np.atleast_1d(float(v)) for v in (layers, d_model, ratio, cache_bytes))
    )[0]
    return r.derived(
        "serving.kv_cache_bytes_per_token",
        float(value),
        "bytes",
        "2 × layers × d_model × kv/heads × bytes",
        f"{cache_bytes:g}-byte cache; Pope et al. 2022",
    )


def serving_variant(
    x: ReplicaInputs, accelerator: str, precision: str, precision_now: str
) -> ReplicaInputs:
    """The same replica on another accelerator or at another weight precision (the efficiencies
    are fitted across accelerators, so only the datasheet and the bytes change): what would
    meet a latency target the scenario's choice cannot."""
    acc = catalog.accelerator(accelerator)
    extra = serving_catalog.accelerator_serving(acc.name)
    weight_bytes, weight_bytes_now = (
        serving_model.WEIGHT_BYTES[precision],
        serving_model.WEIGHT_BYTES[precision_now],
    )
    scale = weight_bytes / weight_bytes_now
    kv_scale = serving_model.kv_cache_value_bytes(weight_bytes) / (
        serving_model.kv_cache_value_bytes(weight_bytes_now)
    )
    _, peak, _, _ = serving_catalog.serving_peak(acc, precision)
    return dataclasses.replace(
        x,
        weights_total_bytes=x.weights_total_bytes * scale,
        weights_active_bytes=x.weights_active_bytes * scale,
        kv_bytes_per_token=x.kv_bytes_per_token * kv_scale,
        memory_bytes_per_chip=np.full_like(x.memory_bytes_per_chip, acc.memory_gb * 1e9),
        bandwidth_bytes_per_s=np.full_like(
            x.bandwidth_bytes_per_s, (acc.memory_bandwidth_tb_s or 0.0) * 1e12
        ),
        peak_flops_per_s=np.full_like(x.peak_flops_per_s, peak),
        link_bytes_per_s=np.full_like(x.link_bytes_per_s, (extra.link_gb_s or 32.0) * 1e9),
        tensor_parallel_max=np.full_like(x.tensor_parallel_max, float(extra.tensor_parallel_max)),
    )
