"""The summary made faster (issue 18) gives the same numbers as before, bit for bit.

Split tails (``quantiles.tail_of``'s ``near``: a replication's largest values moved to
the end of its tail in one pass) pool a percentile and its Woodruff interval from those
values alone when they hold them; the answers are the old ones
(``borderesim.testing.reference_kpis``) on generated values full of ties, NaN, signed
zeros and infinities, cut and uncut, with the upper parts tried on every pool. Also
here: the ``mean_t`` KPIs summarised together against one at a time, the rolling p95
of the recovery time window by window against ``np.percentile``, the queue peak
against one sort of entries and starts, and the shock KPIs' detection split taken from
the KPI pass against a pass of its own.
"""

from __future__ import annotations

import math
from itertools import chain
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderesim.analysis import metrics, quantiles, selection, shocks
from borderesim.analysis.kpis import is_declared, kpi_info
from borderesim.model.events import shock_window
from borderesim.model.scenario import load_scenario
from borderesim.run import drain
from borderesim.run.engines import fast
from borderesim.run.plan import make_plan
from borderesim.testing import reference_kpis as ref

ROOT = Path(__file__).resolve().parents[1]
SHARES = [0.0, 0.05, 0.5, 0.9, 0.95, 0.99, 1.0]

values = st.one_of(
    st.floats(0, 5, allow_nan=False).map(lambda v: round(v, 1)),  # ties
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, math.inf, 2.0]))


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def long_arrays(draw: st.DrawFn) -> np.ndarray:
    """A replication's values: a few hundred to a few thousand, skewed or tied."""
    n = draw(st.integers(0, 3000))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.exponential(draw(st.sampled_from([0.1, 1.0, 30.0])), n)
    if draw(st.booleans()):
        x = np.round(x)  # ties
    if draw(st.booleans()):
        x[: n // 2] = 0.0  # mostly nobody waits
    extra = draw(st.lists(values, max_size=20))
    return np.concatenate([x, np.array(extra, dtype=float)])


@st.composite
def pools(draw: st.DrawFn) -> list[np.ndarray]:
    return [long_arrays(draw) for _ in range(draw(st.integers(1, 6)))]


def check_split(arrays: list[np.ndarray], limit: int, near: float) -> None:
    """Tails split at ``near`` against the old tails, every tail split and the upper parts
    tried on every pool however small."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(quantiles, "UPPER_FROM", 0)
        mp.setattr(quantiles, "SPLIT_FROM", 0)
        _check_split(arrays, limit, near)


def _check_split(arrays: list[np.ndarray], limit: int, near: float) -> None:
    tails = [quantiles.tail_of(x.copy(), limit, near=near) for x in arrays]
    old = [ref.tail_of(x, limit) for x in arrays]
    for mine, theirs, x in zip(tails, old, arrays, strict=True):
        np.testing.assert_array_equal(np.sort(mine.top), theirs.top)
        assert mine.dropped_max == theirs.dropped_max
        floor = max(mine.floor, mine.dropped_max)  # every value outside the upper part
        assert not (mine.top[:mine.split] > floor).any()
        if mine.split:
            assert mine.floor >= mine.dropped_max and not (mine.upper <= floor).any()
        both = quantiles.tail_and_quantile(x.copy(), near, limit)
        assert both[0].split == mine.split and same(both[1], mine.quantile(near))
        for share in SHARES:
            assert same(mine.quantile(share), ref.tail_quantile(theirs, share))
    for share in SHARES:
        value, exact = quantiles.pooled_quantile(tails, share)
        want, want_exact = ref.pooled_quantile(old, share)
        assert same(value, want) and exact == want_exact
        if math.isnan(want):
            continue  # no interval count to read off a grid, before as now
        mine, theirs = quantiles.pooled_interval(tails, share), ref.pooled_interval(old, share)
        for field in ("value", "low", "high"):
            assert same(getattr(mine, field), getattr(theirs, field)), field
        assert mine.exact == theirs.exact
        np.testing.assert_array_equal(mine.influence, theirs.influence)


@settings(max_examples=150, deadline=None)
@given(pools(), st.sampled_from([64, 500, 10**6]), st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_split_tails_pool_as_before(arrays: list[np.ndarray], limit: int, near: float
                                    ) -> None:
    check_split(arrays, limit, near)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(values, st.just(math.nan)), min_size=300, max_size=600),
                min_size=1, max_size=3))
def test_split_tails_with_nan_pool_as_before(arrays: list[list[float]]) -> None:
    """NaN is above every floor (it sorts last) and stays in the upper parts."""
    check_split([np.array(a, dtype=float) for a in arrays], 10**6, 0.95)


def test_upper_parts_answer_alone_when_they_hold_the_interval(monkeypatch) -> None:
    """Replications alike: the whole tops are never pooled (the fast path is taken)."""
    rng = np.random.default_rng(3)
    arrays = [np.round(rng.exponential(4.0, 20_000), 1) for _ in range(5)]
    tails = [quantiles.tail_of(x.copy(), near=0.95) for x in arrays]
    assert all(t.upper.size < t.top.size / 3 for t in tails)
    want = ref.pooled_interval([ref.tail_of(x) for x in arrays], 0.95)

    def whole_tops(*_):
        raise AssertionError("the whole tops were pooled")

    monkeypatch.setattr(quantiles, "_pool", whole_tops)
    got = quantiles.pooled_interval(tails, 0.95)
    assert (got.value, got.low, got.high, got.exact) == (want.value, want.low, want.high,
                                                         want.exact)
    np.testing.assert_array_equal(got.influence, want.influence)


def test_a_day_far_busier_falls_back_to_the_whole_tops() -> None:
    """One replication's floor above the pooled percentile: the whole tops answer."""
    rng = np.random.default_rng(4)
    arrays = [rng.exponential(s, 10_000) for s in (1.0, 1.0, 1.0, 50.0)]
    tails = [quantiles.tail_of(x.copy(), near=0.95) for x in arrays]
    upper = quantiles._Upper(tails)
    assert upper.value(0.95) is None  # the busy day's floor is above it
    check_split(arrays, 10**6, 0.95)


# --- mean_t KPIs summarised together, as one at a time --------------------------------


def summarise_one_at_a_time(per_replication: list[dict[str, float]],
                            samples: list[dict] | None = None,
                            influence: dict | None = None) -> dict:
    """``metrics.summarise`` before it summarised the ``mean_t`` KPIs together."""
    names = list(dict.fromkeys(chain.from_iterable(per_replication)))
    kinds = {n: kpi_info(n).summary if is_declared(n) else "mean_t" for n in names}
    stats = metrics._row_stats(per_replication, [n for n in names if kinds[n] == "mean_t"])
    out: dict = {}
    for n in names:
        values = [rep.get(n, math.nan) for rep in per_replication]
        if kinds[n] == "mean_t":
            out[n] = (metrics.summarise_kpi(n, values, stats=stats.get(n)) if is_declared(n)
                      else metrics.confidence_interval(values, stats=stats.get(n)))
        elif kinds[n] == "per_replication" and samples is not None:
            pooled = n.removesuffix("_rep")
            tails = [s[pooled] for s in samples if pooled in s]
            share = kpi_info(pooled).family.quantile
            if tails and share is not None:
                out[pooled], psi = metrics.pooled_summary(tails, share)
                if influence is not None:
                    influence[pooled] = [float(v) for v in psi]
    return out


def identical(a: object, b: object) -> bool:
    """Equal, key order and float bits included (NaN equal to NaN)."""
    if isinstance(a, dict):
        return (isinstance(b, dict) and list(a) == list(b)
                and all(identical(a[k], b[k]) for k in a))
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(identical, a, b))
    if isinstance(a, float):
        return isinstance(b, float) and (a.hex() == b.hex() or (math.isnan(a) and math.isnan(b)))
    return type(a) is type(b) and a == b


KPIS = ["wait_mean", "referral_rate", "detection_rate", "threats", "primary.utilization",
        "primary.offered_load", "fairness.disparity_ratio", "my.own_count", "arrived",
        "primary.queue_mean", "class.a.wait_mean"]
kpi_values = st.one_of(
    st.sampled_from([0.0, 1.0, 0.5, math.nan, math.inf, 1e300, 3.0]),
    st.floats(-2.0, 2.0), st.floats(0, 1e6))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.data())
def test_mean_t_kpis_together_as_one_at_a_time(reps: int, data: st.DataObject) -> None:
    """NaN rows, missing KPIs, infinite means, constants (exact), intervals cut at the
    bounds, a name the catalogue does not know."""
    names = data.draw(st.lists(st.sampled_from(KPIS), min_size=1, unique=True))
    rows = []
    for _ in range(reps):
        row = {n: data.draw(kpi_values) for n in names}
        for n in data.draw(st.lists(st.sampled_from(names), max_size=2)):
            row.pop(n, None)
        rows.append(row)
    if data.draw(st.booleans()):  # a constant KPI (exact when its family says so)
        for row in rows:
            row["arrived"] = 12.0
    assert identical(metrics.summarise(rows), summarise_one_at_a_time(rows))


def test_a_run_summarises_as_one_kpi_at_a_time() -> None:
    """Every KPI of a run with pooled percentiles, influences included."""
    scenario = load_scenario(ROOT / "scenarios" / "land_crossing.yaml", ["duration=6h"])
    plan = make_plan(scenario)
    per_rep, samples = [], []
    for r in range(3):
        inputs, trace = drain.replay(scenario, plan, fast.run, scenario.seed, r)
        tails: dict = {}
        per_rep.append(metrics.replication_kpis(scenario, plan, inputs, trace, tails, 3))
        samples.append(tails)
    mine, theirs = {}, {}
    assert identical(metrics.summarise(per_rep, samples, mine),
                     summarise_one_at_a_time(per_rep, samples, theirs))
    assert identical(mine, theirs) and "wait_p95" in mine


# --- shock KPIs --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200).map(lambda v: v / 4),
                          st.one_of(st.sampled_from([0.0, 5.0, 10.0, math.nan, math.inf,
                                                     -math.inf, 1e308, -1e308]),
                                    st.floats(0, 30))), max_size=120),
       st.sampled_from([0.0, 5.0, 9.99, 10.0]))
def test_rolling_p95_window_by_window_as_numpy(people, target: float) -> None:
    """Every window's verdict, ties at the target, NaN, infinite and one-wait windows."""
    people = sorted(people, key=lambda p: p[0])
    entry = np.array([p[0] for p in people], dtype=float)
    wait = np.array([p[1] for p in people], dtype=float)
    grid = np.arange(0.0, 60.0, shocks.GRID_MIN)
    lo = np.searchsorted(entry, grid - shocks.ROLLING_MIN, side="right")
    hi = np.searchsorted(entry, grid, side="right")
    got = shocks._p95_over(wait, lo.astype(np.int64), hi.astype(np.int64), target)
    want = [p95_over_by_sorting(wait[lo[k]:hi[k]], target) for k in range(grid.size)]
    assert got.tolist() == want
    with np.errstate(invalid="ignore"):
        assert want == [bool(hi[k] > lo[k] and np.percentile(wait[lo[k]:hi[k]], 95) > target)
                        for k in range(grid.size)] or np.isinf(wait).any()


def p95_over_by_sorting(window: np.ndarray, target: float) -> bool:
    """A window's verdict as ``shocks._p95_over`` gave it before: the two order statistics
    of a sort, interpolated as ``np.percentile`` (a lone value: itself)."""
    m = window.size
    if m == 0 or np.isnan(window).any():
        return False
    ordered = np.sort(window)
    virtual = (m - 1) * 0.95
    below = math.floor(virtual)
    gamma, i = virtual - below, int(below)
    if m == 1:
        return bool(ordered[0] > target)
    low, high = float(ordered[i]), float(ordered[i + 1])
    diff = high - low
    value = low + diff * gamma
    if gamma >= 0.5:
        value = high - diff * (1 - gamma)
    return value > target


def queue_peak_by_one_sort(entry: np.ndarray, start: np.ndarray, t0: float,
                           t1: float = np.inf) -> int:
    """``shocks.queue_peak`` before: entries and starts sorted together."""
    keep = start > entry
    times = np.concatenate([entry[keep], start[keep]])
    steps = np.concatenate([np.ones(keep.sum(), np.int64), -np.ones(keep.sum(), np.int64)])
    order = np.lexsort((steps, times))  # at equal times, departures (-1) first
    level = np.cumsum(steps[order])
    times = times[order]
    at_t0 = level[times <= t0][-1] if np.any(times <= t0) else 0
    after = level[(times >= t0) & (times < t1)]
    return int(max(at_t0, after.max() if after.size else 0))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40).map(lambda v: v / 2), st.integers(0, 20)),
                max_size=60),
       st.integers(0, 25).map(lambda v: v / 2), st.sampled_from([5.0, 12.0, np.inf]))
def test_queue_peak_as_one_sort(people, t0: float, t1: float) -> None:
    entry = np.array([p[0] for p in people], dtype=float)
    start = entry + np.array([p[1] for p in people], dtype=float) / 2
    assert shocks.queue_peak(entry, start, t0, t1) == queue_peak_by_one_sort(entry, start,
                                                                             t0, t1)


def test_detection_split_is_the_kpi_passs() -> None:
    """The shock KPIs read the detection split the KPI pass made; a pass of its own gives
    the same sums."""
    scenario = load_scenario(ROOT / "scenarios" / "airport_shock.yaml")
    plan = make_plan(scenario)
    window = shock_window(scenario)
    inputs, trace = drain.replay(scenario, plan, fast.run, scenario.seed, 0)
    alone = metrics.detection_split(plan, inputs, trace, len(scenario.classes), window)
    inputs, trace = drain.replay(scenario, plan, fast.run, scenario.seed, 0)  # a new trace
    metrics.replication_kpis(scenario, plan, inputs, trace, {}, 2)
    kept = metrics.detection_split(plan, inputs, trace, len(scenario.classes), window)
    np.testing.assert_array_equal(kept, alone)
    assert kept is metrics.detection_split(plan, inputs, trace, 0, window)  # no new pass


def test_split_and_count_helpers() -> None:
    rng = np.random.default_rng(0)
    x = np.round(rng.exponential(2.0, 5000), 1)
    a = x.copy()
    split, floor = selection.split_above(a, 0.8)
    assert np.array_equal(np.sort(a), np.sort(x))
    assert (a[:split] <= floor).all() and (a[split:] > floor).all()
    assert 0.7 < split / a.size < 0.9
    starts = np.array([0, 1000, 1000, 5000], dtype=np.int64)
    value, above = selection.select_above(x, starts, 4000)
    assert value == np.sort(x)[4000]
    assert above.tolist() == [int((x[i:j] > value).sum())
                              for i, j in zip(starts[:-1], starts[1:], strict=True)]
    assert selection.select_two(x, 10, 4990) == (np.sort(x)[10], np.sort(x)[4990])

