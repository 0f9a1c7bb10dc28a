"""Compiled order statistics (issue 18) give exactly what a sort gives.

:mod:`borderesim.analysis.selection` replaces ``np.partition`` in every percentile; each
function is checked against ``np.sort`` on Hypothesis-generated arrays full of ties,
NaN, infinities and signed zeros, from empty to large enough to take the sampled
bracket (and its fallback), and on the tie-heavy shapes waits have (mostly zero).
Also here: the other compiled helpers the KPI pass uses (hours of day, the stable
order of spells, rolling percentiles of the recovery time) and the summary's one-call
means and spreads.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from borderesim.analysis import selection
from borderesim.analysis.by_hour import hour_of_day
from borderesim.analysis.metrics import _mean, _row_stats, confidence_interval
from borderesim.analysis.overload import _stable_order, hour_at, hour_span
from borderesim.analysis.quantiles import quantile, rank, tail_of
from borderesim.analysis.shocks import recovery_minutes
from borderesim.testing.reference_kpis import recovery_minutes as reference_recovery

values = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 2.5, math.inf, -math.inf, math.nan]),
    st.floats(0, 4).map(lambda v: round(v, 0)),  # ties
    st.floats(-1e9, 1e9, allow_nan=False))


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def value_arrays(max_size: int) -> st.SearchStrategy[np.ndarray]:
    """Small arrays of anything, or longer ones made of a few repeated pieces (ties and
    long runs, as waits have), long enough for the sampled brackets."""
    small = arrays(np.float64, st.integers(0, 80), elements=values)
    pieces = st.lists(st.tuples(values, st.integers(1, max_size // 4)), min_size=1,
                      max_size=6)
    long = st.tuples(pieces, arrays(np.float64, st.integers(0, 300), elements=values),
                     st.integers(0, 2**32 - 1)).map(_shuffled)
    return st.one_of(small, long)


def _shuffled(args: tuple) -> np.ndarray:
    pieces, noise, seed = args
    x = np.concatenate([np.full(n, v) for v, n in pieces] + [noise])
    order = np.random.default_rng(seed).permutation(x.size)
    return x[order] if seed % 3 else np.sort(x)  # some already in order


@settings(max_examples=300, deadline=None)
@given(value_arrays(6000), st.floats(0, 1))
def test_select_is_the_sorted_value(x: np.ndarray, share: float) -> None:
    if x.size == 0:
        return
    k = rank(x.size, share)
    before = x.copy()
    assert same(selection.select(x, k), np.sort(x)[k])
    np.testing.assert_array_equal(x, before)  # untouched
    assert same(quantile(x, share), np.sort(x)[k])


@settings(max_examples=150, deadline=None)
@given(value_arrays(6000), st.floats(0, 1), st.floats(0, 1))
def test_window_holds_the_ranks_between(x: np.ndarray, a: float, b: float) -> None:
    if x.size == 0:
        return
    k_lo, k_hi = sorted((rank(x.size, a), rank(x.size, b)))
    below, near = selection.window(x, k_lo, k_hi)
    want = np.sort(x)
    for j in (k_lo, (k_lo + k_hi) // 2, k_hi):
        assert below <= j < below + near.size
        assert same(selection.select(near, j - below), want[j])


@settings(max_examples=150, deadline=None)
@given(value_arrays(3000), st.data())
def test_many_ranks_are_the_sorted_values_in_place(x: np.ndarray, data) -> None:
    if x.size < 2:
        return
    want = np.sort(x)
    ranks = np.unique(np.array(data.draw(st.lists(st.integers(0, x.size - 1), min_size=1,
                                                  max_size=40)), dtype=np.int64))
    b = x.copy()
    np.testing.assert_array_equal(selection.select_many(b, ranks), want[ranks])
    np.testing.assert_array_equal(np.sort(b), want)  # reordered, same values
    for d in ranks.tolist():  # partitioned at every rank (NaN sorts last in both)
        np.testing.assert_array_equal(np.sort(b[:d]), want[:d])


@settings(max_examples=100, deadline=None)
@given(value_arrays(3000), st.floats(0, 5))
def test_count_at_most(x: np.ndarray, v: float) -> None:
    assert selection.count_at_most(x, v) == np.count_nonzero(x <= v)


@pytest.mark.parametrize("zeros", [0.0, 0.6, 0.95, 1.0])
def test_tie_heavy_waits_as_a_sort_gives_them(zeros: float) -> None:
    """Mostly-zero waits (np.partition's slow case), a tail cut from them kept in place."""
    rng = np.random.default_rng(7)
    x = np.where(rng.random(200_000) < zeros, 0.0, np.floor(rng.exponential(3.0, 200_000)))
    want = np.sort(x)
    for share in (0.0, 0.5, 0.95, 0.99, 1.0):
        assert selection.select(x, rank(x.size, share)) == want[rank(x.size, share)]
    scratch = x.copy()
    tail = tail_of(scratch, 20_000, own=True)
    np.testing.assert_array_equal(np.sort(tail.top), want[-tail.top.size:])
    assert tail.dropped_max == want[x.size - tail.top.size - 1]
    np.testing.assert_array_equal(np.sort(scratch), want)  # its values, reordered


def test_tail_of_keeps_own_values_without_a_copy() -> None:
    x = np.array([3.0, 0.0, 0.0, 1.0])
    assert np.shares_memory(tail_of(x, own=True).top, x)
    assert not np.shares_memory(tail_of(x).top, x)


@given(st.lists(st.floats(0, 10 * 24 * 60, allow_nan=False), max_size=40))
def test_hour_of_day_once_an_hour_is_as_by_hour(times: list[float]) -> None:
    times += [60.0 * h - d for h in range(1, 30) for d in (0.0, 1e-12, 1e-9)]
    for t in times:
        h, lo, hi = hour_span(t)
        assert h == hour_at(t) == int(hour_of_day(np.array([t]))[0])
        for u in (lo, (lo + hi) / 2, np.nextafter(hi, -np.inf)):
            if lo <= u < hi:
                assert hour_at(u) == h


@given(st.lists(st.integers(0, 6).map(float), max_size=60), st.integers(0, 3))
def test_stable_order_is_a_stable_argsort(keys: list[float], shift: int) -> None:
    x = np.array(keys + sorted(keys)[shift:], dtype=float)  # nearly and not in order
    np.testing.assert_array_equal(_stable_order(x), np.argsort(x, kind="stable"))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 20), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_summary_statistics_in_one_call_are_bit_identical(reps: int, kpis: int,
                                                          seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((reps, kpis)) * 10.0 ** rng.integers(-6, 6, kpis)
    table[:, 0] = 3.0  # constant
    rows = [{f"k{j}": float(v) for j, v in enumerate(row)} for row in table]
    if kpis > 1:
        rows[0]["k1"] = math.nan  # left to the per-KPI path
    got = _row_stats(rows, list(rows[0]))
    assert "k1" not in got
    for name, (mean, spread) in got.items():
        x = np.array([r[name] for r in rows])
        assert mean == float(x.mean()) and spread == float(x.std(ddof=1))
        assert confidence_interval(list(x), stats=(mean, spread)) == confidence_interval(x)


@given(st.integers(0, 20_000), st.integers(0, 2**32 - 1))
def test_mean_is_numpy_mean_bit_for_bit(n: int, seed: int) -> None:
    x = np.random.default_rng(seed).exponential(3.0, n)
    assert same(_mean(x), float(x.mean()) if n else math.nan)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400).map(lambda v: v / 4),
                          st.one_of(st.sampled_from([0.0, 5.0, 10.0, math.nan]),
                                    st.floats(0, 30))), max_size=200),
       st.sampled_from([0.0, 5.0, 9.99, 10.0]), st.floats(0, 60))
def test_recovery_time_is_as_the_plain_loop_gives_it(people, target: float,
                                                     shock: float) -> None:
    """Rolling p95 windows (ties, NaN, empty windows, one-wait windows) as the
    ``np.percentile`` loop it replaces decides them."""
    entry = np.array([p[0] for p in people], dtype=float)
    wait = np.array([p[1] for p in people], dtype=float)
    got = recovery_minutes(entry, wait, shock, 120.0, target)
    assert got == reference_recovery(entry, wait, shock, 120.0, target)
