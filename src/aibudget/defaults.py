"""Defaults shared by the library and its edges (the CLI, the API, the web), in a module light
enough for the CLI to import at start-up."""

from __future__ import annotations

from typing import Final

#: Monte Carlo draws of an estimate unless asked otherwise: a few milliseconds of model time,
#: and percentiles that move by well under 1% between seeds.
DEFAULT_SAMPLES: Final = 10_000

__all__ = ["DEFAULT_SAMPLES"]
