"""Pooled percentiles and lane hours made faster (issue 18) give the same numbers as before.

The versions before are kept in :mod:`borderesim.testing.reference_kpis`; the new ones
must agree bit for bit on the example scenarios and on generated values (ties, NaN,
infinities, from none to many, cut tails).
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderesim.analysis import quantiles
from borderesim.analysis.metrics import replication_kpis
from borderesim.analysis.outcomes import Outcome
from borderesim.analysis.overload import lane_hours
from borderesim.model.scenario import load_scenario
from borderesim.run import drain
from borderesim.run.engines import fast
from borderesim.run.plan import make_plan
from borderesim.testing import reference_kpis as ref

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ["land_crossing.yaml", "airport_arrivals.yaml", "cargo_terminal.yaml"]
SHARES = [0.0, 0.05, 0.5, 0.9, 0.95, 0.99, 1.0]


def same(a: float, b: float) -> bool:
    """Equal floats, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_same_tail(mine: quantiles.Tail, theirs: quantiles.Tail) -> None:
    """Same values kept (the new ones are not sorted), same cut and grid."""
    assert mine.n == theirs.n
    np.testing.assert_array_equal(np.sort(mine.top), theirs.top)
    np.testing.assert_array_equal(mine.grid, theirs.grid)
    assert mine.dropped_max == theirs.dropped_max


def assert_same_interval(tails: list[quantiles.Tail], old: list[quantiles.Tail],
                         share: float) -> None:
    mine, theirs = quantiles.pooled_interval(tails, share), ref.pooled_interval(old, share)
    for field in ("value", "low", "high"):
        assert same(getattr(mine, field), getattr(theirs, field)), field
    assert mine.exact == theirs.exact
    np.testing.assert_array_equal(mine.influence, theirs.influence)
    value, exact = quantiles.pooled_quantile(tails, share)
    want, want_exact = ref.pooled_quantile(old, share)
    assert same(value, want) and exact == want_exact


def check(arrays: list[np.ndarray], limit: int) -> None:
    """New against old on the tails of ``arrays`` (one a replication)."""
    tails = [quantiles.tail_of(x, limit) for x in arrays]
    old = [ref.tail_of(x, limit) for x in arrays]
    for mine, theirs in zip(tails, old, strict=True):
        assert_same_tail(mine, theirs)
        for share in SHARES:
            assert same(mine.quantile(share), ref.tail_quantile(theirs, share))
        for x in {*theirs.top[:3].tolist(), *theirs.top[-3:].tolist(), 0.0, 1.5}:
            if not math.isnan(x) and (x >= theirs.dropped_max or theirs.grid.size):
                assert quantiles.count_at_most(mine, x) == ref.count_at_most(theirs, x)
    for share in SHARES:
        assert_same_interval(tails, old, share)


values = st.one_of(
    st.floats(0, 5, allow_nan=False).map(lambda v: round(v, 1)),  # ties
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, math.inf, 2.0]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(values, max_size=40), min_size=1, max_size=6),
       st.sampled_from([1, 3, 8, 64]))
def test_tails_and_pooled_intervals_are_as_before(arrays: list[list[float]],
                                                  limit: int) -> None:
    check([np.array(a, dtype=float) for a in arrays], limit)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(values, st.just(math.nan)), min_size=1, max_size=30),
                min_size=1, max_size=4))
def test_nan_values_are_kept_and_selected_as_before(arrays: list[list[float]]) -> None:
    """NaN sorts last in both (only all-kept tails: a NaN pooled value has no interval
    count to read off a grid, before as now)."""
    tails = [quantiles.tail_of(np.array(a, dtype=float)) for a in arrays]
    old = [ref.tail_of(np.array(a, dtype=float)) for a in arrays]
    for mine, theirs in zip(tails, old, strict=True):
        assert_same_tail(mine, theirs)
        for share in SHARES:
            assert same(mine.quantile(share), ref.tail_quantile(theirs, share))
    for share in SHARES:
        value, exact = quantiles.pooled_quantile(tails, share)
        want, want_exact = ref.pooled_quantile(old, share)
        assert same(value, want) and exact == want_exact
        if not math.isnan(want):
            assert_same_interval(tails, old, share)


@pytest.mark.parametrize("seed", [0, 1])
def test_large_skewed_replications_cut_and_pooled_as_before(seed: int) -> None:
    """Tens of thousands of values a replication, cut to a tail and grid, one day far
    busier than the rest (so the pooled percentile may come from the grid)."""
    rng = np.random.default_rng(seed)
    arrays = [np.floor(rng.exponential(s, size)) for s, size in
              ((5.0, 20_000), (5.0, 30_000), (60.0, 25_000), (1.0, 1), (5.0, 0))]
    check(arrays, 2_000)
    check(arrays, 40_000)


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_pool_and_lane_hours_as_before(name: str) -> None:
    scenario = load_scenario(ROOT / "scenarios" / name, ["duration=24h"])
    plan = make_plan(scenario)
    samples = []
    for r in range(3):
        inputs, trace = drain.replay(scenario, plan, fast.run, scenario.seed, r)
        mine: dict = {}
        replication_kpis(scenario, plan, inputs, trace, mine, 3)
        samples.append(mine)
        outcome = Outcome(plan, inputs, trace)
        want = ref.lane_hours(outcome)
        for got in (lane_hours(outcome), mine.pop("lane_hours")):  # alone, in the KPI pass
            for field in want.__dataclass_fields__:
                np.testing.assert_array_equal(getattr(got, field), getattr(want, field),
                                              field)
    for name_ in samples[0]:
        tails = [s[name_] for s in samples]
        old = [ref.tail_of(t.top) for t in tails]  # all kept at 3 replications
        for share in (0.5, 0.95, 0.99):
            assert_same_interval(tails, old, share)


def fake_outcome(data: st.DataObject, n: int) -> SimpleNamespace:
    """Two stages (lanes 0-1, then 2) of ``n`` travellers: entries and waits on a coarse
    grid (ties, travellers out of order), some never served (NaN start), flushed, not
    visiting or not counted."""
    grid = st.integers(0, 600).map(lambda v: v / 2)
    lanes = [(0, 1), (2,)]
    entry, start = np.full((2, n), math.nan), np.full((2, n), math.nan)
    lane = np.full((2, n), -1, dtype=np.int64)
    for s in range(2):
        for i in range(n):
            lane[s, i] = data.draw(st.sampled_from([-2, -1, *lanes[s], *lanes[s]]))
            if lane[s, i] != -1:
                entry[s, i] = data.draw(grid)
            if lane[s, i] >= 0 and data.draw(st.integers(0, 5)):
                start[s, i] = entry[s, i] + data.draw(st.sampled_from([0.0, 0.5, 7.0, 30.0]))
    service = np.array(data.draw(st.lists(st.floats(0.1, 9.0), min_size=3 * n,
                                          max_size=3 * n))).reshape(3, n)
    counted = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    one_each = SimpleNamespace(times=np.array([0.0]), on_duty=lambda: np.ones((1, 3)))
    plan = SimpleNamespace(roster=np.ones((3, 24)), warmup=float(data.draw(grid)) / 4,
                           horizon=240.0, run_end=400.0, n_stages=2, n_lanes=3,
                           capacity_changes=lambda: one_each,  # one server a lane, always
                           lanes_of=lambda s: range(*((0, 2), (2, 3))[s]))
    trace = SimpleNamespace(entry=entry, start=start, lane=lane, reserve_duty=None)
    return SimpleNamespace(plan=plan, trace=trace, inputs=SimpleNamespace(service=service),
                           counted=counted, queued=lambda s: lane[s] >= 0)


@settings(max_examples=150, deadline=None)
@given(st.data(), st.integers(0, 40))
def test_lane_hours_are_as_before_on_generated_traces(data: st.DataObject, n: int) -> None:
    outcome = fake_outcome(data, n)
    got, want = lane_hours(outcome), ref.lane_hours(outcome)
    for field in want.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field), field)
