"""Data: buying it, cleaning it, labelling it, generating it. Units: USD, hours, tokens, kWh.

Every function is a product of counts and unit prices; the sources of the default unit prices
live in the catalog (``constants.csv``), not here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def acquisition_usd(
    tokens: Array,
    usd_per_million_tokens: Array,
    samples: Array,
    usd_per_sample: Array,
    licence_usd: Array,
) -> Array:
    """Buying or licensing data: per token, per sample, and/or a flat licence."""
    return tokens / 1e6 * usd_per_million_tokens + samples * usd_per_sample + licence_usd


def cleaning_cpu_hours(tokens: Array, cpu_hours_per_billion_tokens: Array) -> Array:
    """CPU core-hours to filter and deduplicate ``tokens`` of raw text."""
    return tokens / 1e9 * cpu_hours_per_billion_tokens


def annotation_labels(items: Array, labels_per_item: Array, rework_fraction: Array) -> Array:
    """Labels bought: items × labels per item (consensus), plus the share redone after QA."""
    return items * labels_per_item * (1.0 + rework_fraction)


def expert_hours(
    items: Array, readers_per_item: Array, minutes_per_item: Array, rework_fraction: Array
) -> Array:
    """Expert time to label: items × readers × minutes / 60, plus the share redone after QA."""
    return items * readers_per_item * minutes_per_item / 60.0 * (1.0 + rework_fraction)


def per_million(quantity: Array, usd_per_million: Array) -> Array:
    """Cost of ``quantity`` units priced per million (tokens to an API)."""
    return quantity / 1e6 * usd_per_million
