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
