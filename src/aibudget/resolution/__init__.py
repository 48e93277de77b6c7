"""Scenario → named assumptions → the model's input arrays, one module per phase; the only reader
of the catalog during an estimate.

Modules: resolver, prices, site, training, people, experiments, serving, data, maintenance,
lifecycle.

Scenario → named assumptions → the lifecycle model's input arrays.

Every number the model uses is recorded here as an :class:`~aibudget.assumptions.Assumption`
with its source: the user's scenario, a catalog row, or a derivation. Defaults come from the
catalog through one rule (:func:`aibudget.catalog.constant_for`: most specific key first).
Nothing here computes a cost; the model does.
"""

from __future__ import annotations

from aibudget.resolution.lifecycle import resolve
from aibudget.resolution.resolver import Resolved, Resolver
from aibudget.resolution.serving import serving_variant
from aibudget.resolution.site import market_based

__all__ = [
    "Resolved",
    "Resolver",
    "market_based",
    "resolve",
    "serving_variant",
]
