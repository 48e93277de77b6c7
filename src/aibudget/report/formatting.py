"""The old name of :mod:`aibudget.formatting`, which moved below the results (they show figures
too); inside the library, import :mod:`aibudget.formatting`."""

from aibudget.formatting import *  # noqa: F403
from aibudget.formatting import __all__ as __all__
