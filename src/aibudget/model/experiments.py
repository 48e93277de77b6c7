"""What precedes the final training run: ablations and failed runs, hyperparameter search,
and the work lost to hardware failures. Each is a quantity of chip-hours priced like the final
run. Also the interruption maths both failures and spot reclaims use: the rate per 1000
chip-days, a job's mean time between interruptions and the checkpoint interval it sets.
Units: chip-hours, hours.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from aibudget.units import HOURS_PER_DAY

Array = NDArray[np.float64]

#: Chip-hours in the 1000 chip-days that interruption rates are quoted per (24,000).
CHIP_HOURS_PER_1000_CHIP_DAYS = 1000.0 * HOURS_PER_DAY
#: Days in the month that spot interruption rates are quoted per (about 365.25 / 12).
DAYS_PER_MONTH = 30.44


def ablation_chip_hours(final_chip_hours: Array, experiment_multiplier: Array) -> Array:
    """Ablations, small-scale experiments and failed runs: (multiplier − 1) × the final run,
    where the multiplier is total development compute ÷ final-run compute (≥ 1)."""
    return final_chip_hours * np.maximum(experiment_multiplier - 1.0, 0.0)


def search_chip_hours(final_chip_hours: Array, trials: Array, fraction_per_trial: Array) -> Array:
    """Hyperparameter search: trials × the fraction of a final run each trial costs."""
    return final_chip_hours * trials * fraction_per_trial


def failure_chip_hours(
    final_chip_hours: Array,
    chips: Array,
    interruptions_per_1000_chip_days: Array,
    checkpoint_interval_hours: Array,
    restart_hours: Array,
) -> Array:
    """Work lost to interruptions: each one stops every chip of the job, which loses on average
    half a checkpoint interval of progress plus the restart time.

    interruptions = rate × chip-days / 1000; lost = interruptions × chips × (interval/2 + restart).
    """
    interruptions = interruptions_per_1000_chip_days * final_chip_hours / HOURS_PER_DAY / 1000.0
    return interruptions * chips * (checkpoint_interval_hours / 2.0 + restart_hours)


def per_1000_chip_days(interruptions_per_instance_month: Array, chips_per_instance: float) -> Array:
    """A rate per instance-month (how spot reclaims are reported) as one per 1000 chip-days:
    rate × 1000 / (days per month × chips per instance)."""
    monthly = np.asarray(interruptions_per_instance_month, float)
    return monthly * 1000.0 / (DAYS_PER_MONTH * chips_per_instance)


def job_mtbf_hours(interruptions_per_1000_chip_days: Array, chips: float) -> Array:
    """A job's mean hours between interruptions on ``chips`` (any one stops it all):
    24,000 chip-hours / (rate per 1000 chip-days × chips)."""
    rate = np.asarray(interruptions_per_1000_chip_days, float)
    return CHIP_HOURS_PER_1000_CHIP_DAYS / np.maximum(rate * chips, 1e-12)


def checkpoint_interval_hours(write_hours: float, mtbf_hours: Array) -> Array:
    """Young's optimum checkpoint interval, √(2 × write time × MTBF) (Young 1974)."""
    return np.sqrt(2.0 * write_hours * mtbf_hours)
