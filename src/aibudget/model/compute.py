"""Training compute and time.

Units: FLOP, FLOP/s, hours. All functions take and return numpy arrays (or scalars that
broadcast), so one call evaluates one scenario or a million.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aibudget.units import HOURS_PER_DAY, SECONDS_PER_HOUR

Array = NDArray[np.float64]

#: FLOPs per parameter per training token: forward 2N plus backward 4N (Kaplan et al. 2020, §2.1).
FLOPS_PER_PARAM_PER_TOKEN = 6.0
#: Attention FLOPs per training token per layer per (d_model × sequence length): forward QKᵀ and
#: AV are 2 × 2 each, times 3 for forward plus backward (Chowdhery et al. 2022, PaLM, App. B).
ATTENTION_FLOPS_COEFFICIENT = 12.0


def dense_training_flops(active_params: ArrayLike, tokens: ArrayLike) -> Array:
    """6·N·D: the FLOPs of training a transformer with N (active) parameters on D tokens.

    For a mixture-of-experts model N is the active parameter count per token.
    Source: Kaplan et al. 2020, "Scaling Laws for Neural Language Models", §2.1. Units: FLOP.
    """
    return FLOPS_PER_PARAM_PER_TOKEN * np.asarray(active_params, float) * np.asarray(tokens, float)


def training_flops(
    active_params: ArrayLike, tokens: ArrayLike, flops_per_param_token: ArrayLike
) -> Array:
    """k·N·D with k FLOPs per parameter per token: 6 when every weight is trained, about 4 with
    LoRA (the frozen weights need no weight gradients; see :func:`lora_flops_per_param_token`).
    Units: FLOP."""
    return (
        np.asarray(flops_per_param_token, float)
        * np.asarray(active_params, float)
        * np.asarray(tokens, float)
    )


#: FLOPs per active parameter per token in a forward pass (Kaplan et al. 2020: C_forward ≈ 2N):
#: serving, and a distillation teacher's logits.
FORWARD_FLOPS_PER_PARAM = 2.0
#: FLOPs per parameter per token of the backward pass that propagates activation gradients
#: (the other half of the backward pass computes weight gradients).
ACTIVATION_GRADIENT_FLOPS_PER_PARAM = 2.0


def lora_flops_per_param_token(trainable_fraction: ArrayLike) -> Array:
    """FLOPs per parameter per token of LoRA fine-tuning: the forward pass (2) and the
    activation gradients (2) through every weight, weight gradients (2) only for the trainable
    fraction. Hu et al. 2021 (arXiv 2106.09685, §4.2) measure a 25% speed-up over full
    fine-tuning on GPT-3 175B, consistent with 4/6."""
    return (
        FORWARD_FLOPS_PER_PARAM
        + ACTIVATION_GRADIENT_FLOPS_PER_PARAM
        + (FLOPS_PER_PARAM_PER_TOKEN - 4.0) * np.asarray(trainable_fraction, float)
    )


def lora_trainable_fraction(rank: ArrayLike, d_model: ArrayLike) -> Array:
    """The share of a transformer's weights LoRA trains when every linear layer gets rank-r
    adapters: r·(d_in + d_out) per d_in × d_out matrix, over the four d × d attention
    matrices and a 4d-wide two-matrix MLP (12·d² weights per layer) = 20·r·d / 12·d².
    Source: Hu et al. 2021, eq. 3 (the adapter parametrisation)."""
    return 20.0 * np.asarray(rank, float) / (12.0 * np.asarray(d_model, float))


def teacher_forward_flops(teacher_params: ArrayLike, tokens: ArrayLike) -> Array:
    """2·N_teacher·D: the teacher's forward pass over every student token, for logit
    distillation (Hinton et al. 2015). Units: FLOP."""
    return FORWARD_FLOPS_PER_PARAM * np.asarray(teacher_params, float) * np.asarray(tokens, float)


def attention_training_flops(
    layers: ArrayLike, d_model: ArrayLike, seq_len: ArrayLike, tokens: ArrayLike
) -> Array:
    """12·L·d·s·D: the attention-score FLOPs that 6ND leaves out (QKᵀ and AV, forward and
    backward), for L layers of width d at sequence length s over D tokens.

    Source: Chowdhery et al. 2022, "PaLM", Appendix B (the MFU definition). Units: FLOP.
    """
    return (
        ATTENTION_FLOPS_COEFFICIENT
        * np.asarray(layers, float)
        * np.asarray(d_model, float)
        * np.asarray(seq_len, float)
        * np.asarray(tokens, float)
    )


def chip_hours(flops: ArrayLike, peak_flops_per_s: ArrayLike, mfu: ArrayLike) -> Array:
    """Accelerator-hours to execute ``flops`` at ``mfu`` of each chip's dense peak.

    chip_hours = FLOPs / (peak FLOP/s × MFU) / 3600. Units: chip-hours.
    """
    return (
        np.asarray(flops, float)
        / (np.asarray(peak_flops_per_s, float) * np.asarray(mfu, float))
        / SECONDS_PER_HOUR
    )


def wall_clock_days(chip_hours_: ArrayLike, chips: ArrayLike) -> Array:
    """Days from first to last step when ``chips`` work in parallel: chip-hours / chips / 24."""
    return np.asarray(chip_hours_, float) / np.asarray(chips, float) / HOURS_PER_DAY


def chips_for_deadline(chip_hours_: ArrayLike, wall_clock_days_: ArrayLike) -> Array:
    """The fewest whole chips that finish ``chip_hours_`` within ``wall_clock_days_``."""
    return np.ceil(
        np.asarray(chip_hours_, float) / (np.asarray(wall_clock_days_, float) * HOURS_PER_DAY)
    )
