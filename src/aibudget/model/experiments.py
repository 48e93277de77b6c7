"""What precedes the final training run: ablations and failed runs, hyperparameter search,
and the work lost to hardware failures. Each is a quantity of chip-hours priced like the final
run. Units: chip-hours, hours.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from aibudget.units import HOURS_PER_DAY

Array = NDArray[np.float64]


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
