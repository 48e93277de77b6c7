"""aibudget._quantiles: np.percentile's numbers, bit for bit, without importing numpy.ma."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from aibudget import _quantiles


def _hostile_rows(n: int) -> list[np.ndarray]:
    """Rows of ``n`` draws: ties, infinities, signed zeros, NaN of either sign, the largest and
    smallest floats."""
    rng = np.random.default_rng(n)
    rows = [
        rng.lognormal(0.0, 2.0, n) * 1e6,
        rng.integers(0, 4, n).astype(float),
        rng.uniform(-1e300, 1e300, n),
        rng.normal(0.0, 1e-300, n),
        np.where(rng.random(n) < 0.5, -0.0, 0.0),
        np.where(rng.random(n) < 0.3, np.inf, rng.normal(0.0, 1.0, n)),
        np.where(rng.random(n) < 0.5, -np.inf, np.inf),
        np.where(rng.random(n) < 0.5, -0.0, rng.normal(0.0, 1.0, n)),
        np.where(rng.random(n) < 0.5, 0.0, rng.normal(0.0, 1.0, n)),
        np.where(rng.random(n) < 0.3, -0.0, np.where(rng.random(n) < 0.5, 0.0, 1.0)),
        np.where(rng.random(n) < 0.1, np.nan, rng.normal(0.0, 1.0, n)),
        np.where(rng.random(n) < 0.1, np.inf - np.inf, rng.normal(0.0, 1.0, n)),
    ]
    rows[-1][0] = np.inf - np.inf  # NaN with its sign bit set
    rows[-2][-1] = np.nan
    return rows


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf - inf, as numpy's own
@pytest.mark.parametrize("n", [2, 3, 5, 10, 11, 999, 1_000, 1_001, 10_000, 10_001])
def test_deciles_of_rows_are_numpys_to_the_bit(n: int) -> None:
    drawn = np.stack(_hostile_rows(n))
    want = np.percentile(drawn, [10, 50, 90], axis=1)
    got = _quantiles.deciles(drawn, drawn.mean(axis=1))
    assert got.tobytes() == want.tobytes()
    # a stack of the rows as scratch: the same numbers, the rows themselves untouched
    rows = _hostile_rows(n)
    kept = [row.copy() for row in rows]
    scratch = np.stack(rows)
    got = _quantiles.deciles(scratch, scratch.mean(axis=1), rows)
    assert got.tobytes() == want.tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(rows, kept, strict=True))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 1_001])
@pytest.mark.parametrize("q", [[10, 90], [10, 50, 90], [0, 100], [90, 50, 10], [33.3, 99.9, 0.1]])
def test_percentiles_of_numbers_are_numpys_to_the_bit(n: int, q: list[float]) -> None:
    for row in [*_hostile_rows(n), np.full(n, -0.0), np.arange(n), np.array([-0.0] * n)]:
        want = np.percentile(row, q)
        got = _quantiles.percentiles(row, q)
        assert got.tobytes() == np.asarray(want, dtype=float).tobytes(), (row[:5], q)


def test_percentiles_take_any_shape_flat_and_lists() -> None:
    grid = [[3.0, 1.0], [2.0, 5.0]]
    assert _quantiles.percentiles(grid, [50]).tolist() == np.percentile(grid, [50]).tolist()
    assert _quantiles.percentiles([4], [10, 90]).tolist() == [4.0, 4.0]


def test_no_numbers_is_numpys_error() -> None:
    with pytest.raises(IndexError):
        np.percentile(np.array([]), [10])
    with pytest.raises(IndexError):
        _quantiles.percentiles([], [10])


def test_percentiles_import_no_numpy_ma() -> None:
    """np.percentile's first call imports numpy.ma (about 15 ms of a command's start-up)."""
    code = (
        "import sys, numpy as np\n"
        "from aibudget import _quantiles\n"
        "_quantiles.percentiles(np.arange(9.0), [10, 50, 90])\n"
        "_quantiles.deciles(np.arange(20.0).reshape(2, 10), np.ones(2))\n"
        "print('numpy.ma' in sys.modules)\n"
        "np.percentile(np.arange(9.0), [10, 50, 90])\n"
        "print('numpy.ma' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]  # the second: the reason this module exists


def _counting_rows(n: int) -> dict[str, np.ndarray]:
    """Rows of finite numbers that take each way of counting (_quantiles._counted)."""
    rng = np.random.default_rng(n)
    lognormal = rng.lognormal(0.0, 1.0, (3, n))
    return {
        "costs (top bits)": lognormal * 1e6,
        "both signs (equal steps)": rng.normal(0.0, 1.0, (3, n)),
        "a few numbers (buckets of one)": rng.integers(0, 5, (3, n)).astype(float),
        "thirty orders of magnitude (top bits)": lognormal * 10.0 ** rng.integers(-15, 15, (3, n)),
        "a few tiny and huge (rounds)": np.where(
            rng.random((3, n)) < 0.02, rng.choice([5e-324, 1e-300, 1e300], (3, n)), lognormal
        ),
        "signed zeros among numbers": np.where(rng.random((3, n)) < 0.3, -0.0, lognormal),
        "zeros of both signs among a few (rounds)": rng.choice([0.0, -0.0, 1.0, 2.0, 3.0], (3, n)),
        "near the largest float": 1.79e308 * (1.0 - rng.random((3, n)) * 1e-3),
        "one number throughout": np.full((3, n), -2.5),
    }


@pytest.mark.parametrize("n", [_quantiles.COUNTED_FROM, 10_001, 100_000])
def test_counted_order_statistics_are_a_sorts(n: int) -> None:
    places = sorted({999, 1_000, n // 2, n // 2 + 1, n - 2, n - 1, 0})
    rounds: list[int] = []
    within = _quantiles._within

    def counting(*args: object) -> None:
        rounds.append(len(args[4]))  # type: ignore[arg-type]
        within(*args)  # type: ignore[arg-type]

    for name, rows in _counting_rows(n).items():
        rounds.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_quantiles, "_within", counting)
            got, left = _quantiles._counted(rows, places)
        assert left.size == 0, name  # counted, none left to a partition
        want = np.sort(rows, axis=1)[:, places]
        assert np.array_equal(got, want), name  # equal numbers (0.0 and -0.0 alike)
        nonzero = want != 0
        assert got[nonzero].tobytes() == want[nonzero].tobytes(), name
        if "rounds" in name:
            assert len(rounds) >= 2, name  # a bucket counted again
        if name == "one number throughout":
            assert rounds == [], name


def test_a_row_mostly_one_number_is_partitioned_with_the_same_numbers() -> None:
    rng = np.random.default_rng(7)
    rows = np.where(rng.random((4, 10_000)) < 0.6, 3.0, rng.lognormal(0.0, 1.0, (4, 10_000)))
    rows[0] = rng.lognormal(0.0, 1.0, 10_000)  # counted
    places = [999, 1_000, 8_999, 9_000]
    got, left = _quantiles._counted(rows, places)
    assert left.tolist() == [1, 2, 3]
    assert got[0].tolist() == np.sort(rows[0])[places].tolist()
    want = _quantiles.deciles(rows, rows.mean(axis=1))
    assert want.tobytes() == np.percentile(rows, [10, 50, 90], axis=1).tobytes()


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # a mean past the largest float
def test_deciles_of_counted_partitioned_and_broadcast_rows_are_numpys_to_the_bit() -> None:
    n = 10_000
    rows = np.concatenate([np.stack(_hostile_rows(n)), *_counting_rows(n).values()])
    want = np.percentile(rows, [10, 50, 90], axis=1)
    assert _quantiles.deciles(rows, rows.mean(axis=1)).tobytes() == want.tobytes()
    one = np.broadcast_to(rows[:1], (3, n))  # a view, not a copy (grid's summaries)
    want = np.percentile(one, [10, 50, 90], axis=1)
    assert _quantiles.deciles(one, one.mean(axis=1)).tobytes() == want.tobytes()
