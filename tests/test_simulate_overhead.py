"""What ``simulate()`` keeps or computes faster on small runs (issue 18) gives the same
results as computing it afresh, bit for bit.

- Strategy streams (``sampling.stream``) are seeded from kept words: the same generator
  as ``SeedSequence(seed, spawn_key=(replication, crc32(name)))``, for any seed,
  replication and name, and a run with the kept words dropped gives the same result.
- The shock KPIs decide once per scenario and plan that there is nothing to compute:
  a changed scenario (a reserve or an event added: a new object) gets its own answer.
- The overload warnings' loads of every lane at once and medians in Python are NumPy's
  lane by lane; the summary's means and spreads are ``np.mean``'s and ``np.std``'s.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderesim.analysis import metrics, overload
from borderesim.analysis.shocks import shock_kpis
from borderesim.model.scenario import load_scenario
from borderesim.run import drain, sampling
from borderesim.run.engines import get_engine
from borderesim.run.simulate import plan_of, simulate

ROOT = Path(__file__).resolve().parents[1]


def fresh_stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The stream as made before its words were kept."""
    key = (replication, zlib.crc32(name.encode()))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


@pytest.mark.parametrize(("seed", "replication", "name"), [
    (0, 0, "targeting.random"), (2024, 7, "targeting.risk_score"),
    (2**63 + 5, 123_456, "surge.2.1.targeting.random"), (1, 3, "")])
def test_stream_is_the_seed_sequences_generator(seed: int, replication: int, name: str):
    for _ in range(2):  # made, then from the kept words
        got, want = sampling.stream(seed, replication, name), fresh_stream(seed, replication,
                                                                           name)
        assert got.bit_generator.state == want.bit_generator.state
        np.testing.assert_array_equal(got.random(1000), want.random(1000))
        np.testing.assert_array_equal(got.standard_normal(100), want.standard_normal(100))
    words = sampling._stream_words(seed, replication, name)
    assert not words.flags.writeable
    # streams are independent: another replication or name has other words
    assert not np.array_equal(words, sampling._stream_words(seed, replication + 1, name))
    assert not np.array_equal(words, sampling._stream_words(seed, replication, name + "x"))


def test_kept_words_are_a_pcg64_seed_only():
    key = sampling._spawn_key(2, "a")
    words = sampling._Words(sampling._stream_words(1, 2, "a"), 1, key)
    with pytest.raises(ValueError, match="four uint64"):
        np.random.PCG64(sampling._Words(np.zeros(2, dtype=np.uint64), 1, key))
    assert words.generate_state(4, np.uint64) is words.words


def test_a_stream_spawns_the_children_its_seed_sequence_spawns():
    got, want = sampling.stream(7, 3, "targeting.random"), fresh_stream(7, 3, "targeting.random")
    for _ in range(2):  # a seed sequence counts its children: the second spawn differs
        for g, w in zip(got.spawn(2), want.spawn(2), strict=True):
            np.testing.assert_array_equal(g.random(50), w.random(50))
    # a new stream of the same name starts counting again, as a fresh seed sequence does
    again = sampling.stream(7, 3, "targeting.random").spawn(1)[0]
    np.testing.assert_array_equal(again.random(50), fresh_stream(7, 3, "targeting.random")
                                  .spawn(1)[0].random(50))


def result_of(scenario) -> tuple:
    r = simulate(scenario, engine="fast", replications=3, keep_traces=True)
    traces = [(i.arrival, i.refer, i.service, t.exit, t.lane) for i, t in r.traces]
    return r.to_json(), r.per_replication, r.influence, r.warnings, traces


def same_results(a: tuple, b: tuple) -> None:
    assert a[0] == b[0]
    assert a[3] == b[3]
    np.testing.assert_equal(a[1], b[1])  # NaN equal
    np.testing.assert_equal(a[2], b[2])
    for x, y in zip(a[4], b[4], strict=True):
        for u, v in zip(x, y, strict=True):
            np.testing.assert_array_equal(u, v)


def test_simulate_without_kept_words_is_the_same():
    scenario = load_scenario(ROOT / "scenarios/land_crossing.yaml", ["duration=8h"])
    first = result_of(scenario)
    sampling._stream_words.cache_clear()
    same_results(first, result_of(scenario))
    # the strategy's referrals are those of the fresh stream
    plan = plan_of(scenario)
    with sampling.budget_checked(scenario):
        inputs, _ = drain.replay(scenario, plan, get_engine("fast"), scenario.seed, 1)
    u = fresh_stream(scenario.seed, 1, "targeting.random").random(inputs.n)
    rates = scenario.targeting.rates(list(scenario.classes))
    np.testing.assert_array_equal(inputs.refer, u < rates[inputs.cls])


def test_shock_kpis_follow_a_changed_scenario():
    base = load_scenario(ROOT / "scenarios/land_crossing.yaml", ["duration=6h"])
    with_reserve = load_scenario(base, [
        "stages.secondary.reserve.officers=2", "stages.secondary.reserve.open_above=3",
        "stages.secondary.reserve.close_below=1", "stages.secondary.reserve.call_in=10min"])
    with_surge = load_scenario({**base.model_dump(mode="json", exclude_unset=True),
                                "events": [{"kind": "surge", "at": "02:00",
                                            "travellers": 80, "over": "10min"}]})
    for scenario, expect in ((base, set()), (with_reserve, {"reserve_officer_hours"}),
                             (with_surge, {"detection_rate.shock"}), (base, set())):
        plan = plan_of(scenario)
        with sampling.budget_checked(scenario):
            inputs, trace = drain.replay(scenario, plan, get_engine("fast"), 1, 0)
        metrics.replication_kpis(scenario, plan, inputs, trace)  # keeps the shock split
        for _ in range(2):  # decided, then kept
            got = shock_kpis(scenario, plan, inputs, trace)
            assert expect <= set(got)
            assert bool(got) == bool(expect)


floats = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from(
    [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308]))


@settings(max_examples=300, deadline=None)
@given(st.lists(floats, min_size=1, max_size=12))
def test_median_is_numpys(values: list[float]):
    with np.errstate(all="ignore"):
        want = float(np.median(np.array(values)))
    got = overload._median(values)
    assert (math.isnan(want) and math.isnan(got)) or got == want
    finite = [v for v in values if not math.isnan(v)]
    if finite:
        with np.errstate(all="ignore"):
            want = float(np.nanmedian(np.array(values)))
        got = overload._median(finite)
        assert (math.isnan(want) and math.isnan(got)) or got == want


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_loads_of_every_lane_are_each_lanes(lanes: int, seed: int):
    rng = np.random.default_rng(seed)
    work = rng.choice([0.0, 30.0, 61.5, 120.0], size=(lanes, 24)) * rng.random((lanes, 24))
    duty = rng.choice([0.0, 60.0, 120.0], size=(lanes, 24))
    loads = overload._load(work, duty)
    for ln in range(lanes):
        with np.errstate(divide="ignore", invalid="ignore"):
            want = np.where(duty[ln] > 0, work[ln] / np.where(duty[ln] > 0, duty[ln], 1.0),
                            np.where(work[ln] > 0, math.inf, 0.0))
        np.testing.assert_array_equal(loads[ln], want)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60), st.integers(2, 12), st.integers(0, 2**32 - 1),
       st.sampled_from([1e-9, 1.0, 1e12]), st.booleans())
def test_mean_std_are_numpys(kpis: int, reps: int, seed: int, scale: float, odd: bool):
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((kpis, reps)) * scale + rng.random((kpis, 1)) * scale
    rows[0] = rows[0, 0]  # a constant row
    if odd:
        rows[-1, 0] = math.inf
        rows[rng.integers(kpis)] = -0.0
    with np.errstate(invalid="ignore", over="ignore"):
        want = rows.mean(axis=1), rows.std(axis=1, ddof=1)
    got = metrics._mean_std(rows)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
