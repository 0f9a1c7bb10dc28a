"""A year's tails by histogram (issue 18): ``selection.select_top`` gives what a sort gives.

``quantiles.tail_of`` cuts a replication bigger than its limit (a year: ~10^7 waits) to
its largest values and a grid of the rest through :func:`selection.select_top`: a
histogram of the values' bits, then one pass that copies the largest values out and
gathers the few buckets holding a wanted rank. Checked here against ``np.sort`` and the
in-place :func:`selection.select_many` it replaces, on arrays just big enough to take
the histogram: mostly-zero waits, distinct times, ties in the middle, negatives, signed
zeros, infinities and NaN (which takes ``select_many``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderesim.analysis import selection
from borderesim.analysis.quantiles import GRID, KEEP_SHARE, tail_of
from borderesim.testing import reference_kpis as ref

N = selection._TOP_FROM + 12_345
"""Values of the arrays here: past where the histogram starts."""


def tail_ranks(n: int, limit: int) -> np.ndarray:
    """The ranks ``quantiles.tail_of`` asks for: a grid of the dropped values and the cut."""
    m = min(n, math.ceil(KEEP_SHARE * n) + 1, limit)
    d = n - m
    grid = np.unique(np.round(np.linspace(0, d - 1, min(GRID, limit, d))).astype(np.int64))
    return np.unique(np.append(grid, [d - 1, d]))


def shaped(seed: int, zeros: float, tie: float, negative: float, nan: int, inf: int,
           n: int = N) -> np.ndarray:
    """Waits-like values: a share exactly zero (half of them ``-0.0`` when ``negative``),
    a share tied at 1.5, a share negative, exponential otherwise, with NaN and ±inf."""
    rng = np.random.default_rng(seed)
    x = rng.exponential(3.0, n)
    u = rng.random(n)
    x[u < zeros] = 0.0
    x[(u >= zeros) & (u < zeros + tie)] = 1.5
    x[(u >= zeros + tie) & (u < zeros + tie + negative)] *= -1.0
    if negative:
        x[(u < zeros) & (rng.random(n) < 0.5)] = -0.0
    x[rng.integers(0, n, nan)] = math.nan
    x[rng.integers(0, n, inf)] = math.inf
    x[rng.integers(0, n, inf)] = -math.inf
    return x


def check(x: np.ndarray, ranks: np.ndarray, histogram: bool = False) -> None:
    """``select_top`` of ``x`` at ``ranks`` is the sorted values and the sorted top, and
    the values ``select_many`` gives; ``x`` keeps its values, untouched when it was to
    take the ``histogram`` (``select_many`` would reorder it)."""
    want = np.sort(x)
    a = x.copy()
    values, top = selection.select_top(a, ranks)
    np.testing.assert_array_equal(values, want[ranks])  # NaN equal to NaN; -0.0 to 0.0
    np.testing.assert_array_equal(np.sort(top), want[ranks[-1]:])
    np.testing.assert_array_equal(values, selection.select_many(x.copy(), ranks))
    np.testing.assert_array_equal(np.sort(a), want)
    if histogram:  # its passes only read it
        np.testing.assert_array_equal(a, x)


@pytest.mark.parametrize("zeros, tie, negative, nan, inf, histogram", [
    (0.67, 0.0, 0.0, 0, 0, True),   # a year's waits: two thirds exactly zero
    (0.0, 0.0, 0.0, 0, 0, True),    # times in the crossing: all distinct
    (0.67, 0.0, 0.0, 0, 5, True),   # and infinities (-inf is no NaN)
    (0.9, 0.0, 0.0, 0, 0, True),    # the cut itself among the zeros
    (1.0, 0.0, 0.0, 0, 0, True),    # all zero
    (0.2, 0.5, 0.0, 0, 0, True),    # half tied in the middle, holding ranks
    (0.0, 0.0, 1.0, 0, 0, True),    # all negative
    (0.3, 0.0, 0.3, 0, 5, False),   # both signs, -0.0 among the zeros: buckets too wide
    (0.0, 0.0, 0.0, 40, 3, False),  # NaN (ranked last)
])
def test_tail_ranks_are_the_sorted_values(zeros: float, tie: float, negative: float,
                                          nan: int, inf: int, histogram: bool) -> None:
    """Arrays with NaN, or whose buckets holding ranks are too big to gather (values
    of both signs: the buckets are spread over the keys, about logarithmically), take
    ``select_many``."""
    x = shaped(3, zeros, tie, negative, nan, inf)
    for limit in (N // 10, N // 3, N - 5):
        check(x, tail_ranks(x.size, limit), histogram)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0, 1), st.floats(0, 0.5), st.floats(0, 0.5),
       st.sampled_from([0, 0, 0, 7]), st.integers(0, 50),
       st.lists(st.integers(0, N - 1), min_size=1, max_size=30))
def test_any_ranks_are_the_sorted_values(seed: int, zeros: float, tie: float,
                                         negative: float, nan: int, inf: int,
                                         ranks: list[int]) -> None:
    x = shaped(seed, zeros, tie, negative, nan, inf)
    check(x, np.unique(np.array(ranks, dtype=np.int64)))


def test_sorted_and_clustered_values() -> None:
    """Values in order (a sample of every ``n // size``-th one is then exact), and all
    within a few units in the last place (buckets of single keys)."""
    x = np.sort(shaped(5, 0.5, 0.0, 0.0, 0, 0))
    check(x, tail_ranks(x.size, N // 4), True)
    check(x[::-1].copy(), tail_ranks(x.size, N // 4), True)
    near = 1.0 + np.random.default_rng(9).integers(0, 50, N) * np.finfo(float).eps
    check(near, tail_ranks(near.size, N // 4))


@pytest.mark.parametrize("zeros", [0.0, 0.67])
def test_tail_of_a_big_replication_is_the_sorted_one(zeros: float) -> None:
    """``tail_of`` through ``select_top``: the same top, cut and grid as the reference
    (sorted tails, ``np.partition``), with and without the split for ``near``."""
    x = shaped(11, zeros, 0.0, 0.0, 0, 0)
    limit = N // 8
    old = ref.tail_of(x, limit)
    for near in (None, 0.95):
        tail = tail_of(x.copy(), limit, own=True, near=near)
        assert (tail.n, tail.dropped_max) == (old.n, old.dropped_max)
        np.testing.assert_array_equal(np.sort(tail.top), old.top)
        np.testing.assert_array_equal(tail.grid, old.grid)
        assert tail.quantile(0.95) == ref.tail_quantile(old, 0.95)
