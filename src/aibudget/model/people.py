"""People: head-count × time × loaded yearly cost. Units: USD, months."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

MONTHS_PER_YEAR = 12.0


def loaded_usd(
    count: Array,
    months: Array,
    salary_usd_per_year: Array,
    overhead: Array,
    equity_usd_per_year: Array,
) -> Array:
    """count × months / 12 × (salary × overhead + equity). ``overhead`` loads salary with benefits,
    payroll taxes and office costs (≥ 1)."""
    return count * months / MONTHS_PER_YEAR * (salary_usd_per_year * overhead + equity_usd_per_year)
