"""Search, tuning and failed runs."""

from __future__ import annotations

import numpy as np

from aibudget import catalog
from aibudget.assumptions import Assumption
from aibudget.model import experiments
from aibudget.model.lifecycle import ExperimentInputs
from aibudget.model.training import TrainingInputs
from aibudget.resolution.resolver import Resolver


# --------------------------------------------------------------------------- experiments, people
def _experiments(r: Resolver, training: TrainingInputs) -> ExperimentInputs:
    t = r.scenario.tuning
    values: dict[str, object] = {f: 0.0 for f in ExperimentInputs.__dataclass_fields__}
    values["experiment_multiplier"] = 1.0
    if t is None:
        return ExperimentInputs.from_values(**values)
    values["experiment_multiplier"] = r.pick(
        "tuning.experiment_multiplier", t.experiment_multiplier, "ratio", "experiment_multiplier"
    )
    if t.search is not None:
        values["search_trials"] = r.given("tuning.search.trials", t.search.trials, "trials")
        values["search_fraction_per_trial"] = r.pick(
            "tuning.search.fraction_per_trial",
            t.search.fraction_per_trial,
            "fraction",
            "search_fraction_per_trial",
            (t.search.method,),
        )
    f = t.failures
    rate = r.pick(
        "tuning.failures.interruptions_per_1000_chip_days",
        f.interruptions_per_1000_chip_days,
        "1/(1000 chip-days)",
        "interruptions_per_1000_chip_days",
    )
    values["interruptions_per_1000_chip_days"] = rate
    values["restart_hours"] = r.pick(
        "tuning.failures.restart_hours", f.restart_hours, "hours", "restart_hours"
    )
    if f.checkpoint_interval_hours is not None:
        values["checkpoint_interval_hours"] = r.given(
            "tuning.failures.checkpoint_interval_hours", f.checkpoint_interval_hours, "hours"
        )
    else:
        write = catalog.constant("checkpoint_write_hours")
        chips = float(np.nan_to_num(r.first(training.chips_given), nan=1.0))
        mtbf = experiments.job_mtbf_hours(np.asarray(rate), chips)
        interval = experiments.checkpoint_interval_hours(write.value, mtbf)
        r.add(
            Assumption(
                "tuning.failures.checkpoint_interval_hours",
                r.median(interval),
                "hours",
                write.source_url,
                write.as_of,
                f"Young's optimum √(2 × {write.value:.3g} h write × "
                f"{r.median(mtbf):,.3g} h job MTBF at {chips:,.0f} chips)",
            )
        )
        values["checkpoint_interval_hours"] = interval
    return ExperimentInputs.from_values(**values)
