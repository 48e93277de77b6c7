"""Renderers of an :class:`~aibudget.estimation.Estimate`: terminal (rich), JSON, explanations.

Everything here formats; nothing computes. Number formatting lives in :mod:`.formatting` so
every renderer shows the same figure the same way.
"""
