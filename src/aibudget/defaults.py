"""Defaults shared by the library and its edges (the CLI, the API, the web), in a module light
enough for the CLI to import at start-up."""

from __future__ import annotations

from typing import Final

#: Monte Carlo draws of an estimate unless asked otherwise: a few milliseconds of model time,
#: and percentiles that move by well under 1% between seeds.
DEFAULT_SAMPLES: Final = 10_000

#: An estimate of more draws than this keeps the first ``KEPT_DRAWS`` of every figure (its
#: arrays, what the percentiles, the paired comparisons and ``.draws`` read) and, of all its
#: draws, each figure's exact mean (summed chunk by chunk, so that a bill's lines still add to
#: its total): memory bounded by this, not by the draws (``aibudget.estimate``; the JSON's
#: ``uncertainty.draws_kept``). At most this many, an estimate keeps all its draws, as before.
#: 200,000 draws of every figure are about 120 MB; at 200,000 draws a total's p10, p50 and p90
#: move by 0.05–0.15% between seeds (docs/uncertainty.md, "Many draws").
KEPT_DRAWS: Final = 200_000
#: The draws evaluated at a time after the kept ones: each chunk's working memory (about 2 kB a
#: draw in the model and its figures, ~200 MB), freed before the next.
CHUNK_DRAWS: Final = 100_000

__all__ = ["CHUNK_DRAWS", "DEFAULT_SAMPLES", "KEPT_DRAWS"]
