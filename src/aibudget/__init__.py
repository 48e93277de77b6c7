"""aibudget: what an AI model will really cost, before and while you spend it.

The public API::

    import aibudget
    est = aibudget.estimate("gpt3-175b")               # a built-in example, a file, or a dict
    est = aibudget.estimate("my.yaml", ["training.chips=512"])
    est.summary(), est.usd.p50, est.co2e_kg.draws, est.to_pandas(), est.to_dict()
    est.total("usd"), est.training.wall_clock_days
    aibudget.compare(["a.yaml", "b.yaml"])
    aibudget.sweep("a.yaml", {"training.chips": [512, 1024]})
    aibudget.tradeoffs("a.yaml"), aibudget.validate(), aibudget.report("a.yaml", output="a.html")
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
from typing import TYPE_CHECKING, Any

from aibudget import _shown
from aibudget._errors import (
    AibudgetError,
    CatalogDataError,
    DoesNotFitError,
    ScenarioError,
    SettingError,
    UnknownNameError,
)
from aibudget._version import __version__

if TYPE_CHECKING:
    from aibudget.api import Measure, Summary, compare, report, sweep, tradeoffs, validate
    from aibudget.assumptions import Assumption
    from aibudget.catalog.packs import use_catalog
    from aibudget.estimation.contract import Estimate
    from aibudget.estimation.run import estimate
    from aibudget.scenario.files import load_scenario
    from aibudget.scenario.types import Scenario
    from aibudget.tracking import track


__all__ = [
    "AibudgetError",
    "Assumption",
    "CatalogDataError",
    "DoesNotFitError",
    "Estimate",
    "Measure",
    "Scenario",
    "ScenarioError",
    "SettingError",
    "Summary",
    "UnknownNameError",
    "__version__",
    "compare",
    "estimate",
    "load_scenario",
    "report",
    "sweep",
    "track",
    "tradeoffs",
    "use_catalog",
    "validate",
]

_LAZY = {
    "Assumption": "aibudget.assumptions",
    "Estimate": "aibudget.estimation",
    "Measure": "aibudget.api",
    "Summary": "aibudget.api",
    "compare": "aibudget.api",
    "estimate": "aibudget.estimation",
    "Scenario": "aibudget.scenario",
    "load_scenario": "aibudget.scenario",
    "report": "aibudget.report",  # a package, callable as aibudget.api.report
    "sweep": "aibudget.api",
    "track": "aibudget.tracking",
    "tradeoffs": "aibudget.api",  # a function of the API (the module moved to the layers)
    "validate": "aibudget.api",
    "use_catalog": "aibudget.catalog.packs",
}

# No handler on the "aibudget" logger: the package logs nothing, and adding one would import
# logging (threading, traceback, ...) on every command and every ``import aibudget``.

# The views the results ask for by name (aibudget._shown) and cannot draw in their own layer:
# provided here, at the top, which Python runs before any module of the package; each loads the
# API's renderer on first use, so importing aibudget loads neither it nor rich.


def _text(result: Any) -> str:
    from aibudget.api import result_text

    return result_text(result)


def _html(result: Any) -> str:
    from aibudget.api import result_html

    return result_html(result)


def _estimate_html(est: Any) -> str:
    from aibudget.api import estimate_html

    return estimate_html(est)


_shown.provide(text=_text, html=_html, estimate_html=_estimate_html)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aibudget' has no attribute {name!r}")
    if module == f"{__name__}.{name}":  # a module that is also the function (aibudget._callable)
        return import_module(module)
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
