"""The training run: size, tokens, scaling law, utilisation, chips."""

from __future__ import annotations

import math

import numpy as np

from aibudget import catalog
from aibudget.assumptions import Assumption, Distribution
from aibudget.catalog import mfu as fitted_mfu
from aibudget.model import compute, memory, scaling, utilisation
from aibudget.model._shape import replaced
from aibudget.model.scaling import ScalingLaw
from aibudget.model.site import input_array
from aibudget.model.training import TrainingInputs
from aibudget.resolution.prices import _minimum_billing, _spot_preemptions
from aibudget.resolution.resolver import Resolver, Value
from aibudget.resolution.site import _site

#: vLLM's default most sequences per engine rises from 256 to 1,024 on accelerators with at
#: least 70 GiB, A100s excepted (``get_batch_defaults`` in vllm/engine/arg_utils.py).
LARGE_BATCH_MEMORY_GB = 70 * 2**30 / 1e9


DEFAULT_SCALING_LAW = "besiroglu2024"


def _scaling_law(r: Resolver) -> ScalingLaw | None:
    """The scenario's scaling law (named, or the default when a target loss needs one)."""
    m, t = r.scenario.model, r.scenario.training
    assert m is not None
    if m.scaling_law is None and (t is None or t.target_loss is None):
        return None
    row = catalog.scaling_law(m.scaling_law or DEFAULT_SCALING_LAW)
    how = "your scenario" if m.scaling_law is not None else "the default for training.target_loss"
    r.add(
        Assumption(
            "model.scaling_law",
            row.name,
            "",
            row.source_url,
            row.as_of,
            f"{how}: L = {row.E:g} + {row.A:g}/N^{row.alpha:g} + {row.B:g}/D^{row.beta:g} "
            "(nats/token on the fit's web text; a guide for other data)",
        )
    )
    r.law = ScalingLaw(row.E, row.A, row.B, row.alpha, row.beta)
    return r.law


def _tokens_for_loss(r: Resolver, law: ScalingLaw, params: Value, target: float) -> Value:
    """The tokens at which ``params`` reach ``target`` loss; an unreachable target names the
    field and the lowest loss this size can reach."""
    r.given("training.target_loss", target, "nats/token")
    tokens = scaling.tokens_for_loss(law, params, target)
    if not np.all(np.isfinite(tokens)):
        floor = float(np.max(scaling.loss_floor(law, params)))
        raise r.error(
            "training.target_loss",
            f"a {float(np.max(params)):.3g}-parameter model cannot reach {target:g} under this "
            f"law: its loss never falls below {floor:.4g} however long it trains; raise the "
            "target or the parameters",
        )
    r.derived(
        "training.tokens",
        r.median(tokens),
        "tokens",
        "scaling law: D = (B / (target − E − A/N^α))^(1/β)",
        "the tokens at which the model reaches training.target_loss",
    )
    return tokens


def _lora(r: Resolver, d_model: float, precision: str, full_state: float) -> tuple[float, float]:
    """LoRA's FLOPs per parameter per token and training-state bytes per parameter."""
    t = r.scenario.training
    assert t is not None
    rank = (
        r.given("training.lora_rank", t.lora_rank, "rank")
        if t.lora_rank is not None
        else r.constant("training.lora_rank", "lora_rank")
    )
    fraction = float(compute.lora_trainable_fraction(rank, d_model))
    r.derived(
        "training.lora_trainable_fraction",
        fraction,
        "fraction",
        "20·r / (12·d_model): rank-r adapters on every linear layer",
        "Hu et al. 2021 (arXiv 2106.09685), eq. 3",
    )
    per_token = float(compute.lora_flops_per_param_token(fraction))
    r.derived(
        "training.flops_per_param_token",
        per_token,
        "FLOP/param/token",
        "forward 2 + activation gradients 2 + weight gradients 2 × trainable fraction",
        "frozen weights need no weight gradients (Hu et al. 2021 measure 25% faster than full "
        "fine-tuning on GPT-3)",
    )
    state = memory.WEIGHT_BYTES[precision] + fraction * full_state
    r.derived(
        "memory.training_state_bytes_per_param",
        state,
        "bytes/param",
        "frozen weights + trainable fraction × full training state",
        f"{precision} frozen weights; the adapters carry weights, gradients and optimizer state",
    )
    return per_token, state


def _training(r: Resolver) -> tuple[TrainingInputs, TrainingInputs, catalog.Accelerator]:
    s = r.scenario
    m, t = s.model, s.training
    assert t is not None
    assert m is not None
    acc = catalog.accelerator(t.accelerator)

    params = r.given("model.params", m.params, "params")
    active = (
        r.given("model.active_params", m.active_params, "params")
        if m.active_params is not None
        else params
    )
    tokens = r.given("training.tokens", t.tokens, "tokens") if t.tokens is not None else math.nan
    flops_given = r.given("training.flops", t.flops, "FLOP") if t.flops is not None else math.nan
    law = _scaling_law(r)
    if t.target_loss is not None:
        assert law is not None
        tokens = _tokens_for_loss(r, law, active, t.target_loss)
    elif t.tokens is None:  # FLOPs given alone: the tokens they imply for dense 6ND
        tokens = flops_given / (6.0 * active)
    has_shape = m.layers is not None and m.d_model is not None
    if has_shape:
        layers = r.given("model.layers", m.layers or 0, "layers")
        d_model = r.given("model.d_model", m.d_model or 0, "width")
    else:
        inferred_layers, inferred_width = memory.inferred_shape(params)
        layers = r.derived(
            "model.layers",
            float(inferred_layers),
            "layers",
            "N ≈ 12·L·d², d = 128·L",
            "inferred from params for the memory estimates",
        )
        d_model = r.derived("model.d_model", float(inferred_width), "width", "d = 128·L")
    attention = has_shape and t.seq_len is not None
    if t.seq_len is not None:
        seq_len = r.given("training.seq_len", t.seq_len, "tokens")
    else:
        seq_len = r.derived(
            "training.seq_len",
            2048.0,
            "tokens",
            "default",
            "assumed for the activation-memory estimate; the attention FLOPs term "
            "needs seq_len, layers and d_model given",
        )
    if not attention and t.flops is None:
        r.notes.append(
            "FLOPs are 6·N·D without the attention term; give model.layers, model.d_model and "
            "training.seq_len to include it."
        )

    precision, optimizer = t.precision, t.optimizer
    r.given("training.precision", precision, "")
    r.given("training.optimizer", optimizer, "")
    state_bytes = memory.training_state_bytes_per_param(precision, optimizer)
    r.add(
        Assumption(
            "memory.training_state_bytes_per_param",
            state_bytes,
            "bytes/param",
            "https://arxiv.org/abs/1910.02054",
            "2019-10-04",
            note=f"{precision} weights and gradients, master copy and {optimizer} state "
            "(Rajbhandari et al. 2020, ZeRO §3.1)",
        )
    )
    r.given("training.method", t.method, "")
    flops_per_param_token = 6.0
    if t.method == "lora":
        flops_per_param_token, state_bytes = _lora(r, float(d_model), precision, state_bytes)
    teacher_bytes = 0.0
    if t.teacher_params is not None:
        teacher = r.given("training.teacher_params", t.teacher_params, "params")
        teacher_bytes = float(t.teacher_params) * memory.WEIGHT_BYTES[precision]
        r.derived(
            "training.teacher_weights_bytes",
            teacher_bytes,
            "bytes",
            "teacher params × bytes per weight",
            "the teacher's frozen weights are held beside the student's training state",
        )
    else:
        teacher = 0.0
    act_coefficient = memory.ACTIVATION_BYTES_PER_ELEMENT[t.activation_checkpointing]
    r.add(
        Assumption(
            "training.activation_checkpointing",
            t.activation_checkpointing,
            "",
            "https://arxiv.org/abs/2205.05198",
            "2022-05-10",
            note=f"{act_coefficient:g}·s·b·d bytes per layer (Korthikanti et al. 2022)",
        )
    )
    r.given("training.micro_batch_size", t.micro_batch_size, "sequences")
    r.add(
        Assumption(
            f"accelerator.{acc.name}.memory_gb", acc.memory_gb, "GB", acc.source_url, acc.as_of
        )
    )

    peak = _training_peak(r, acc, precision)
    r.given("training.accelerator", acc.name, "")
    if t.mfu is not None:
        mfu = r.given("training.mfu", t.mfu, "fraction")
    else:
        chips_for_mfu: float | None = t.chips
        if t.chips is None and t.wall_clock_days is not None:
            work = flops_given if t.flops is not None else 6.0 * np.asarray(active) * tokens
            chips_for_mfu = fitted_mfu.mfu_model().deadline_chips(
                acc.family,
                r.median(active),
                r.median(work),
                r.median(peak),
                t.wall_clock_days,
            )
        mfu = r.add(default_mfu(acc, r.median(active), chips_for_mfu))
    chips = r.given("training.chips", t.chips, "chips") if t.chips is not None else math.nan
    deadline = (
        r.given("training.wall_clock_days", t.wall_clock_days, "days")
        if t.wall_clock_days is not None
        else math.nan
    )
    site = _site(r, "training", acc, t.hardware, t.cloud, t.owned, "training")
    preemption = _spot_preemptions(r, "training", t.cloud.pricing if t.hardware == "cloud" else "")
    billing = _minimum_billing(r) if t.hardware == "cloud" else {}

    values: dict[str, object] = dict(
        params=params,
        active_params=active,
        tokens=tokens,
        flops_given=flops_given,
        attention_layers=layers if attention else 0.0,
        attention_d_model=d_model,
        attention_seq_len=seq_len,
        memory_layers=layers,
        memory_d_model=d_model,
        memory_seq_len=seq_len,
        micro_batch_size=float(t.micro_batch_size),
        activation_bytes_per_element=act_coefficient,
        activation_dtype_bytes=memory.WEIGHT_BYTES[precision],
        state_bytes_per_param=state_bytes,
        memory_gb_per_chip=acc.memory_gb,
        chips_given=chips,
        deadline_days=deadline,
        peak_flops_per_s=peak,
        mfu=mfu,
        flops_per_param_token=flops_per_param_token,
        teacher_params=teacher,
        extra_state_bytes=teacher_bytes,
        **preemption,
        **billing,
        **site,
    )
    training = TrainingInputs.from_values(**values)
    retrain_tokens: Value = 0.0
    maintenance = s.maintenance
    if maintenance is not None and maintenance.tokens_per_retrain is not None:
        retrain_tokens = r.given(
            "maintenance.tokens_per_retrain", maintenance.tokens_per_retrain, "tokens"
        )
    # the same run at each retrain's tokens (its other inputs the final run's arrays)
    retrain = replaced(
        training, tokens=input_array(retrain_tokens), flops_given=input_array(math.nan)
    )
    return training, retrain, acc


def _training_peak(r: Resolver, acc: catalog.Accelerator, precision: str) -> Value:
    """The peak the MFU applies to: the dense peak at ``precision``, except FP8, whose MFU is
    measured against the 16-bit peak and sped up by a measured factor (at most the chip's
    FP8/16-bit peak ratio)."""
    base = precision
    if precision == "fp8":
        base = "bf16" if "bf16" in acc.peak_dense_tflops else "fp16"
    peak = acc.peak_flops_per_s(base)
    r.add(
        Assumption(
            f"accelerator.{acc.name}.peak_{base}",
            peak,
            "FLOP/s",
            acc.source_url,
            acc.as_of,
            note=f"dense {base} peak per chip"
            + ("; FP8 training's MFU is measured against it" if base != precision else ""),
        )
    )
    if base == precision:
        return peak
    speedup = r.constant("training.fp8_speedup", "fp8_training_speedup")
    return utilisation.fp8_peak_flops_per_s(peak, acc.peak_flops_per_s("fp8"), speedup)


def default_mfu_quantiles(
    acc: catalog.Accelerator, active_params: float, chips: float | None
) -> tuple[float, float, float]:
    """The fitted MFU's p10, p50 and p90 for a run of ``active_params`` on ``chips`` (None: not
    known) chips of ``acc`` (``catalog/data/mfu_model.csv``; the median at most 1). A run with
    a deadline instead of chips is evaluated at the chips the deadline implies at that MFU."""
    return fitted_mfu.default_quantiles(acc.family, active_params, chips)


def default_mfu(acc: catalog.Accelerator, active_params: float, chips: float | None) -> Assumption:
    """The MFU a scenario gets when it gives none: the utilisation model fitted on published
    runs, with the spread of its out-of-sample residuals as p10–p90."""
    p10, p50, p90 = default_mfu_quantiles(acc, active_params, chips)
    info = fitted_mfu.model_info()
    return Assumption(
        "training.mfu",
        p50,
        "fraction",
        f"fitted on {info.runs} published runs (tools/calibrate.py; docs/validation.md)",
        info.as_of,
        fitted_mfu.explanation(acc.family, active_params, chips),
        distribution=Distribution.from_quantiles(p10, p90, p50, lower=0.0, upper=1.0),
        range_note="10th–90th percentile of the fit's out-of-sample residuals (each run "
        "predicted without its organisation's runs)",
    )
