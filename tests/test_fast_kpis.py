"""The compiled per-replication KPIs equal the plain NumPy reference.

``borderesim.analysis.metrics.replication_kpis`` (compiled loops, ``kpi_kernel``) against
``borderesim.testing.reference_kpis.replication_kpis`` (the NumPy statement of the
definitions): same names in the same order, values equal to 1e-12 (relative; most
are bit-identical, sums in a different order differ in the last bits), and the same
tails kept for pooled percentiles, on every example scenario and on
Hypothesis-generated ones (quantised arrivals, flushing, referred stages, the
queue-aware rule, drain caps), on the inputs and trace a run really has
(``drain.replay``). Time integrals clock hour by clock hour (utilisation, overtime and
queue length under an hourly roster) are differences of cumulative sums in the
reference, good to about 1e-16 times the sum of all start times: those agree to
``OCCUPANCY_ABS``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borderesim.analysis import kpi_kernel
from borderesim.analysis.metrics import replication_kpis
from borderesim.analysis.outcomes import Outcome
from borderesim.analysis.overload import lane_hours
from borderesim.analysis.shocks import _detection_split, shock_kpis, waiting_intervals
from borderesim.model.events import shock_window
from borderesim.model.scenario import load_scenario
from borderesim.run import drain, philox, sampling
from borderesim.run.engines import fast
from borderesim.run.plan import make_plan
from borderesim.testing.reference_kpis import detection_split, recovery_minutes
from borderesim.testing.reference_kpis import lane_hours as reference_lane_hours
from borderesim.testing.reference_kpis import replication_kpis as reference_kpis

from .test_engines_agree import crossing

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(
    (ROOT / "scenarios" / "options").glob("*.yaml"))
REL = 1e-12
OCCUPANCY_ABS = 1e-9
"""Minutes (or hours, or travellers) the reference's cumulative-sum integrals may be off."""
OCCUPANCY = (".utilization", ".overtime_hours", ".queue_mean")


def assert_same_kpis(got: dict[str, float], want: dict[str, float]) -> None:
    """Same names in the same order; values equal to ``REL`` (NaN and inf alike)."""
    assert list(got) == list(want)
    for name, w in want.items():
        g = got[name]
        if math.isnan(w) or math.isinf(w):
            assert g == w or (math.isnan(g) and math.isnan(w)), name
        else:
            tol = REL * max(1.0, abs(w))
            if name.endswith(OCCUPANCY):
                tol = max(tol, OCCUPANCY_ABS)
            assert abs(g - w) <= tol, (name, g, w)


def compare(scenario, replication: int = 0, quantise: bool = False) -> None:
    plan = make_plan(scenario)
    engine = fast.run
    if quantise:  # whole minutes: ties everywhere
        def engine(p, inputs):
            return fast.run(p, dataclasses.replace(inputs, arrival=np.floor(inputs.arrival)))
    inputs, trace = drain.replay(scenario, plan, engine, scenario.seed, replication)
    if quantise:
        inputs = dataclasses.replace(inputs, arrival=np.floor(inputs.arrival))
    mine, theirs = {}, {}
    assert_same_kpis(replication_kpis(scenario, plan, inputs, trace, mine, 3),
                     reference_kpis(scenario, plan, inputs, trace, theirs, 3))
    assert sorted(mine) == sorted([*theirs, "lane_hours"])
    want = reference_lane_hours(Outcome(plan, inputs, trace))
    for field in dataclasses.fields(want):  # the overload warnings' lane hours, same pass
        np.testing.assert_array_equal(getattr(mine["lane_hours"], field.name),
                                      getattr(want, field.name), field.name)
    for name, tail in theirs.items():  # what pooled percentiles are made of
        assert mine[name].n == tail.n
        np.testing.assert_array_equal(mine[name].top, tail.top)
        np.testing.assert_array_equal(mine[name].grid, tail.grid)
        assert mine[name].dropped_max == tail.dropped_max
    assert_same_kpis(replication_kpis(scenario, plan, inputs, trace),
                     reference_kpis(scenario, plan, inputs, trace))


def loadable(path: Path) -> bool:
    try:
        load_scenario(path)
    except Exception:  # strategies or sweep files beside the scenarios
        return False
    return True


@pytest.mark.parametrize("path", [p for p in EXAMPLES if loadable(p)], ids=lambda p: p.stem)
def test_examples_match_the_reference(path):
    scenario = load_scenario(path, ["duration=12h"])
    for r in range(2):
        compare(scenario, r)


def test_overloaded_run_cut_by_the_drain_cap_matches():
    """Censored waits, unfinished travellers and a stuck secondary queue."""
    scenario = load_scenario(ROOT / "scenarios" / "land_crossing.yaml",
                             ["duration=6h", "drain_cap=20", "stages.secondary.servers=1",
                              "stages.primary.lanes.general.servers=3"])
    compare(scenario)


def test_many_stages_match_the_reference():
    """Seven stages: stages past the sixth read again from the trace (no byte code for them)."""
    stages = {f"s{j}": {"servers": 2 + j % 2, "detection_probability": 0.1,
                        "service": {"distribution": "exponential", "mean": "1min"}}
              for j in range(6)}
    stages["s3"]["visits"] = "referred"
    stages["last"] = {"servers": 1, "detection_probability": 0.5, "visits": "referred",
                      "service": {"distribution": "exponential", "mean": "5min"}}
    scenario = load_scenario({
        "name": "seven", "duration": "8h", "warmup": "1h", "seed": 3,
        "arrivals": {"per_hour": 60},
        "classes": {"a": {"share": 0.5, "threat_prevalence": 0.01},
                    "b": {"share": 0.5, "threat_prevalence": 0.02}},
        "stages": stages,
        "targeting": {"strategy": "by_class", "referral_rate": {"a": 0.1, "b": 0.3}}})
    assert make_plan(scenario).n_stages > 6
    compare(scenario)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=crossing(), quantise=st.booleans())
def test_generated_scenarios_match_the_reference(data, quantise):
    compare(load_scenario(data), quantise=quantise)


def test_a_year_of_tails_is_cut_as_the_reference_cuts_it():
    """More waits than a replication may keep: the same tail (largest ones and grid)."""
    scenario = load_scenario(ROOT / "scenarios" / "land_crossing.yaml", ["duration=24h"])
    plan = make_plan(scenario)
    inputs, trace = drain.replay(scenario, plan, fast.run, scenario.seed, 0)
    mine, theirs = {}, {}
    replication_kpis(scenario, plan, inputs, trace, mine, 10**5)  # keeps 100 a KPI
    reference_kpis(scenario, plan, inputs, trace, theirs, 10**5)
    assert mine["wait_p95"].dropped > 0
    for name, tail in theirs.items():
        np.testing.assert_array_equal(mine[name].top, tail.top)
        np.testing.assert_array_equal(mine[name].grid, tail.grid)


def test_hourly_busy_time_is_split_at_the_clock_hours():
    edges = np.array([30.0, 60.0, 120.0, 150.0])
    out = np.zeros(3)
    kpi_kernel._split(out, edges, 50.0, 130.0)
    kpi_kernel._split(out, edges, 30.0, 40.0)
    kpi_kernel._split(out, edges, 70.0, 70.0)
    np.testing.assert_array_equal(out, [10.0 + 10.0, 60.0, 10.0])


@given(st.lists(st.floats(0.01, 5), min_size=1, max_size=12),
       st.lists(st.floats(0, 1, exclude_max=True), max_size=40))
def test_class_draws_are_a_binary_search(shares, u):
    """``philox.class_of`` is ``searchsorted`` capped at the last class."""
    edges = np.cumsum(shares) / np.sum(shares)
    u = np.array(u + [float(edges[0]), float(edges[-1])])
    want = np.minimum(np.searchsorted(edges, u, "right"), len(edges) - 1)
    np.testing.assert_array_equal([philox.class_of(edges, x) for x in u], want)


@given(st.lists(st.floats(0, 400), min_size=24, max_size=24), st.integers(1, 4000),
       st.integers(0, 10**6), st.sampled_from([0, 1 << 20]))
def test_arrivals_sorted_hour_by_hour_are_sorted(rates, horizon, seed, small):
    """Sorting each clock hour's times gives the one global sort of the same draws,
    placed by whole-array temporaries or hour by hour (a long run)."""
    saved, sampling._SMALL = sampling._SMALL, small
    try:
        got = sampling.sample_arrivals(rates, float(horizon), np.random.default_rng(seed))
    finally:
        sampling._SMALL = saved
    rng = np.random.default_rng(seed)
    starts, expected = sampling.hourly_segments(rates, float(horizon))
    counts = rng.poisson(expected)
    lengths = np.append(starts[1:], horizon)[:len(starts)] - starts
    seg = np.repeat(np.arange(len(starts)), counts)
    np.testing.assert_array_equal(got, np.sort(starts[seg] + rng.random(len(seg))
                                               * lengths[seg]))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32])
def test_any_integer_lane_type_gives_the_same_kpis(dtype):
    """A trace may store lanes in a small integer type: the same KPIs, tails and lane
    hours as with int64."""
    scenario = load_scenario(ROOT / "scenarios" / "airport_arrivals.yaml", ["duration=6h"])
    plan = make_plan(scenario)
    inputs, trace = drain.replay(scenario, plan, fast.run, scenario.seed, 0)
    small = dataclasses.replace(trace, lane=trace.lane.astype(dtype))
    mine, theirs = {}, {}
    assert_same_kpis(replication_kpis(scenario, plan, inputs, small, mine, 3),
                     replication_kpis(scenario, plan, inputs, trace, theirs, 3))
    for field in dataclasses.fields(theirs["lane_hours"]):
        np.testing.assert_array_equal(getattr(mine["lane_hours"], field.name),
                                      getattr(theirs["lane_hours"], field.name))
    alone = lane_hours(Outcome(plan, inputs, small))
    for field in dataclasses.fields(alone):
        np.testing.assert_array_equal(getattr(alone, field.name),
                                      getattr(theirs["lane_hours"], field.name))


@pytest.mark.parametrize("name", ["airport_shock", "land_crossing"])
def test_shock_kpis_match_the_reference(name):
    """The detection estimator split by the shock window (from the KPI pass) and the
    recovery times (rolling percentiles) as the NumPy versions give them."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml", ["duration=24h"])
    plan = make_plan(scenario)
    inputs, trace = drain.replay(scenario, plan, fast.run, scenario.seed, 1)
    outcome = Outcome(plan, inputs, trace)
    window = shock_window(scenario) or (600.0, 700.0)  # an arbitrary one without events
    assert_same_kpis(_detection_split(scenario, outcome, window),
                     detection_split(scenario, outcome, window))
    got = shock_kpis(scenario, plan, inputs, trace)
    for s, sname in enumerate(plan.stage_names):
        entry, start = waiting_intervals(outcome, s)
        want = recovery_minutes(entry, start - entry, window[0], plan.horizon,
                                scenario.recovery_target)
        assert got.get(f"{sname}.recovery_min", want) == want
