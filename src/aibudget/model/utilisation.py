"""Model FLOPs utilisation (MFU): the share of the dense 16-bit peak a training run turns into
model FLOPs, as fitted on published runs (``tools/calibrate.py``; coefficients in
``catalog/data/mfu_model.csv``).

The model is linear in logs, with an intercept per accelerator family and optional slopes on
the model's size and the number of chips::

    ln MFU = a_family + b · ln(N / 10B) + c · ln(chips / 256)

clipped to at most 1. MFU is always measured against the dense BF16 (or FP16) peak; training
in FP8 runs faster by a separate factor on top (:func:`fp8_peak_flops_per_s`), so an MFU never
exceeds 1 and means the same on every precision. Units: fractions, FLOP/s, FLOP, days.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aibudget.units import HOURS_PER_DAY, SECONDS_PER_HOUR

Array = NDArray[np.float64]

#: The size and the chips at which a family's intercept is its MFU (the centre of the data).
REFERENCE_PARAMS = 1e10
REFERENCE_CHIPS = 256.0
#: The largest MFU the model gives.
MAX_MFU = 1.0


def log_mfu(
    intercept: ArrayLike,
    size_slope: ArrayLike,
    chips_slope: ArrayLike,
    params: ArrayLike,
    chips: ArrayLike,
) -> Array:
    """ln MFU = a + b·ln(N / 10B) + c·ln(chips / 256), before clipping."""
    return (
        np.asarray(intercept, float)
        + np.asarray(size_slope, float) * np.log(np.asarray(params, float) / REFERENCE_PARAMS)
        + np.asarray(chips_slope, float) * np.log(np.asarray(chips, float) / REFERENCE_CHIPS)
    )


def mfu(
    intercept: ArrayLike,
    size_slope: ArrayLike,
    chips_slope: ArrayLike,
    params: ArrayLike,
    chips: ArrayLike,
) -> Array:
    """The fitted MFU of a run of ``params`` (active) parameters on ``chips`` chips, at most 1.

    For an A100 run with intercept ln 0.39 and no slopes this is 0.39 whatever the size."""
    return np.minimum(np.exp(log_mfu(intercept, size_slope, chips_slope, params, chips)), MAX_MFU)


def mfu_for_deadline(
    intercept: ArrayLike,
    size_slope: ArrayLike,
    chips_slope: ArrayLike,
    params: ArrayLike,
    flops: ArrayLike,
    peak_flops_per_s: ArrayLike,
    deadline_days: ArrayLike,
) -> Array:
    """The fitted MFU when the chips are derived from a deadline, so depend on the MFU:
    chips = C / (peak · MFU · 86,400 · days); solving ln MFU = α + c·ln(chips / 256) for MFU
    gives ln MFU = (α + c·ln(C / (peak · 86,400 · days · 256))) / (1 + c)."""
    c = np.asarray(chips_slope, float)
    alpha = np.asarray(intercept, float) + np.asarray(size_slope, float) * np.log(
        np.asarray(params, float) / REFERENCE_PARAMS
    )
    seconds = np.asarray(deadline_days, float) * HOURS_PER_DAY * SECONDS_PER_HOUR
    chips_at_full = np.asarray(flops, float) / (np.asarray(peak_flops_per_s, float) * seconds)
    log_value = (alpha + c * np.log(chips_at_full / REFERENCE_CHIPS)) / (1.0 + c)
    return np.minimum(np.exp(log_value), MAX_MFU)


def fp8_peak_flops_per_s(
    peak_16bit_flops_per_s: ArrayLike, peak_fp8_flops_per_s: ArrayLike, speedup: ArrayLike
) -> Array:
    """The peak an FP8 run's MFU applies to: the dense 16-bit peak × the measured end-to-end
    FP8 speed-up (about 1.35×, not the datasheet's 2×: attention, norms, communication and the
    scaling of tensors stay in higher precision), at most the chip's FP8 peak."""
    return np.minimum(
        np.asarray(peak_16bit_flops_per_s, float) * np.asarray(speedup, float),
        np.asarray(peak_fp8_flops_per_s, float),
    )
