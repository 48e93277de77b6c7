"""An estimate of more draws than it keeps (defaults.KEPT_DRAWS): the draws evaluated in chunks,
the first ones kept, each figure's mean of all of them (issue 15)."""

from __future__ import annotations

import gc
import io
import math
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from aibudget import api
from aibudget import formatting as fmt
from aibudget.assumptions import MonteCarlo
from aibudget.estimation import contract, run
from aibudget.estimation.contract import mean_of, summarize
from aibudget.estimation.run import estimate
from aibudget.report.terminal import render_estimate


@pytest.mark.parametrize("uniform", [False, True])
def test_chunks_of_a_stream_are_the_one_calls_numbers(uniform: bool) -> None:
    whole = MonteCarlo(10, seed=3).numbers("training.mfu", uniform)
    first = MonteCarlo.chunked(4, seed=3)
    again = first.numbers("training.mfu", uniform)
    np.testing.assert_array_equal(first.numbers("training.mfu", uniform), again)  # asked twice
    second = first.next_chunk(6)
    chunked = np.concatenate([again, second.numbers("training.mfu", uniform)])
    np.testing.assert_array_equal(chunked, whole)
    with pytest.raises(ValueError, match="chunked"):
        MonteCarlo(4).next_chunk(2)


def _means(a: Any, b: Any, path: str = "") -> list[tuple[str, float, float]]:
    """Every ``mean`` of two JSON contracts side by side."""
    if isinstance(a, dict):
        out = []
        for k, v in a.items():
            if k == "mean" and isinstance(v, float):
                out.append((path, v, b[k]))
            elif isinstance(v, dict | list):
                out += _means(v, b[k], f"{path}.{k}")
        return out
    if isinstance(a, list):
        return [
            m
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for m in _means(x, y, f"{path}[{i}]")
        ]
    return []


@pytest.mark.parametrize("name", ["startup-1b", "gpt3-175b-serving"])
def test_a_chunked_estimate_has_the_means_of_all_its_draws(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = estimate(name, samples=2_500, seed=4)
    expected = whole.to_dict()
    assert "draws_kept" not in expected["uncertainty"]
    monkeypatch.setattr(run, "KEPT_DRAWS", 1_000)
    monkeypatch.setattr(run, "CHUNK_DRAWS", 700)  # 1,000 kept, then 700, 700 and 100
    est = estimate(name, samples=2_500, seed=4)
    got = est.to_dict()

    assert est.draws_kept == 1_000
    assert est.samples == 2_500
    assert got["uncertainty"]["draws_kept"] == 1_000
    assert got["uncertainty"]["samples"] == 2_500
    # the kept draws are the first of all of them
    np.testing.assert_array_equal(est.total("usd"), whole.total("usd")[:1_000])
    np.testing.assert_array_equal(est.training.usd, whole.training.usd[:1_000])
    # every mean in the JSON is of all 2,500 draws
    means = _means(expected, got)
    assert len(means) > 50
    for path, want, have in means:
        assert have == pytest.approx(want, rel=1e-12, abs=1e-300), path
    # and the percentiles of the kept draws
    p10, p50, p90 = np.percentile(est.total("usd"), [10, 50, 90])
    assert got["total"]["usd"]["p10"] == p10
    assert got["total"]["usd"]["p90"] == p90
    assert got["total"]["usd"]["p50"] == p50
    assert not math.isclose(p10, expected["total"]["usd"]["p10"], rel_tol=1e-9)
    # the bill still adds up
    lines = sum(p["usd"]["mean"] for p in got["phases"])
    assert lines == pytest.approx(got["total"]["usd"]["mean"], rel=1e-12)
    # the explanations, the notebook views and mean_of() show the all-draw means too
    for a, b in zip(whole.explanations, est.explanations, strict=True):
        assert b.value == pytest.approx(a.value, rel=1e-12), a.figure
    assert est.usd.mean == pytest.approx(whole.usd.mean, rel=1e-12)
    assert mean_of(est.total("usd")) == pytest.approx(float(np.mean(whole.total("usd"))), rel=1e-12)
    assert est.summary()["usd"].mean == pytest.approx(whole.summary()["usd"].mean, rel=1e-12)
    # the terminal's bill: the all-draw total, and which draws its range is of
    out = Console(width=200, record=True, file=io.StringIO())
    render_estimate(est, out)
    shown = out.export_text()
    text = " ".join(shown.split())
    total = next(line for line in shown.splitlines() if line.startswith(" Total"))
    assert fmt.usd(whole.usd.mean, exact=True) in total
    assert "mean of 2,500 draws" in text
    assert "of the first 1,000 draws, the ones kept" in text
    # once the estimate is gone, the kept draws are nobody's: their own mean again
    kept = est.total("usd")
    del est
    gc.collect()
    assert summarize(kept)["mean"] == float(np.mean(kept))
    assert not contract._ALL_DRAWS


def test_kept_draws_up_to_the_limit_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = estimate("startup-1b", samples=1_000, seed=2).to_dict()
    monkeypatch.setattr(run, "KEPT_DRAWS", 1_000)
    assert estimate("startup-1b", samples=1_000, seed=2).to_dict() == whole


def test_the_api_takes_a_hundred_million_draws_and_names_samples_beyond() -> None:
    api._check(100_000_000, 0)
    with pytest.raises(ValueError, match="samples must be a whole number from 0"):
        api._check(100_000_001, 0)


def test_two_figures_alike_in_the_kept_draws_only_keep_their_kept_summary() -> None:
    tally = run._Tally()
    for _ in range(2):  # two figures, the same first three draws
        tally.first(np.array([1.0, 2.0, 3.0]))
    tally.first(np.array([5.0, 5.0, 5.0]))  # one value in the kept draws, not after
    tally.start()
    tally(np.array([4.0]))
    tally(np.array([10.0]))
    tally(np.array([7.0]))
    summaries = tally.summaries(4)
    assert tally.clashed == 1
    assert len(summaries) == 1  # the clashed digest is left out: its kept draws' summary
    (only,) = summaries.values()
    assert only == (5.5, 5.0, 5.0, 5.0)  # mean of all four, percentiles of the three kept
