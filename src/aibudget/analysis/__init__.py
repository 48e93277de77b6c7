"""Questions asked of many estimates: comparisons, sweeps, trade-offs, validation against published
runs and serving results. Reads what it needs from the Estimate; tradeoffs, validation and
serving_validation still resolve scenarios themselves (pyproject.toml's import-linter exceptions).

Modules: comparison, serving_validation, tradeoffs, validation.
"""
