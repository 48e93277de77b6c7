"""Renderers of an :class:`~aibudget.estimation.Estimate`: terminal (rich), JSON, explanations.

Everything here formats; nothing computes. Number formatting lives in :mod:`.formatting` so
every renderer shows the same figure the same way.

Calling this package, ``aibudget.report(...)``, calls :func:`aibudget.api.report` (see
:mod:`aibudget._callable`).
"""

from aibudget._callable import make_callable

make_callable(__name__, "aibudget.api:report")
