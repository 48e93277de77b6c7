"""aibudget: what an AI model will really cost, before and while you spend it.

The public API::

    import aibudget
    est = aibudget.estimate("gpt3-175b")               # a built-in example, a file, or a dict
    est = aibudget.estimate("my.yaml", ["training.chips=512"])
    est.total("usd"), est.training["wall_clock_days"], est.to_dict()
    est = aibudget.estimate("my.yaml", catalog="team-prices")   # a price pack over the catalog
    with aibudget.use_catalog("team-prices"): ...                # the same for a block of code
    with aibudget.track("pretrain", scenario="my.yaml") as run:   # measure the real job
        run.progress(tokens=tokens_so_far)

Layout: ``aibudget.model`` is the pure, vectorised cost model; ``aibudget.catalog`` the
sourced data; ``aibudget.scenario`` the input models; ``aibudget.estimation`` joins them;
``aibudget.report`` renders; ``aibudget.cli`` is the command line. Heavy modules load on first
use, so ``import aibudget`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from logging import NullHandler, getLogger
from typing import TYPE_CHECKING, Any

from aibudget._errors import (
    AibudgetError,
    CatalogDataError,
    DoesNotFitError,
    ScenarioError,
    UnknownNameError,
)

if TYPE_CHECKING:
    from aibudget.assumptions import Assumption
    from aibudget.catalog.packs import use_catalog
    from aibudget.estimation import Estimate, estimate
    from aibudget.scenario import Scenario, load_scenario
    from aibudget.tracking import track

__version__ = "0.1.0"

__all__ = [
    "AibudgetError",
    "Assumption",
    "CatalogDataError",
    "DoesNotFitError",
    "Estimate",
    "Scenario",
    "ScenarioError",
    "UnknownNameError",
    "__version__",
    "estimate",
    "load_scenario",
    "track",
    "use_catalog",
]

_LAZY = {
    "Assumption": "aibudget.assumptions",
    "Estimate": "aibudget.estimation",
    "estimate": "aibudget.estimation",
    "Scenario": "aibudget.scenario",
    "load_scenario": "aibudget.scenario",
    "track": "aibudget.tracking",
    "use_catalog": "aibudget.catalog.packs",
}

getLogger(__name__).addHandler(NullHandler())


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aibudget' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
