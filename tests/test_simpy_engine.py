"""The SimPy engine: conservation, rosters, lanes, flushing, warm-up, overload."""

from __future__ import annotations

import numpy as np
import pytest

from borderesim import load_scenario, simulate
from borderesim.run.engines.simpy_engine import run
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample
from borderesim.run.trace import FLUSHED
from tests.conftest import single_stage
from tests.invariants import check_trace

ENGINE = "simpy"


def traced(data, seed=1, replication=0, engine_run=run):
    sc = load_scenario(data)
    plan = make_plan(sc)
    inputs = sample(sc, plan, seed, replication)
    return sc, plan, inputs, engine_run(plan, inputs)


def test_demo_invariants(demo):
    demo["duration"] = "8h"
    _, plan, inputs, trace = traced(demo)
    check_trace(plan, inputs, trace)


def test_conservation_under_overload(demo):
    demo["duration"] = "6h"
    res = simulate(demo, engine=ENGINE, replications=3)
    for rep in res.per_replication:
        assert rep["arrived"] == rep["finished"] + rep["unfinished"]
    assert res.mean("unfinished") > 0
    assert any("grows without bound" in w for w in res.warnings)


def test_heavy_overload_runs_to_horizon():
    sc = single_stage(600, 1, {"distribution": "exponential", "mean": 1}, hours=12, warmup=0,
                      replications=2)
    res = simulate(sc, engine=ENGINE)
    assert res.mean("desk.offered_load") > 9
    assert res.mean("unfinished") > 5000
    assert any("grows without bound" in w for w in res.warnings)


def test_roster_drop_finishes_traveller_in_hand():
    # 50-minute services; one server in hour 0, none in hours 1-2, one again from hour 3.
    roster = [1, 0, 0] + [1] * 21
    data = single_stage(3, roster, {"distribution": "deterministic", "mean": 50}, hours=6,
                        warmup=0)
    sc, plan, inputs, trace = traced(data, seed=3)
    check_trace(plan, inputs, trace)
    start, end = trace.start[0], trace.end[0]
    began = ~np.isnan(start)
    # nobody starts while the roster is zero, but a service begun in hour 0 ends in hour 1
    assert not np.any((start[began] >= 60) & (start[began] < 180))
    assert np.any((start < 60) & (end > 60))
    assert np.any(start == 180.0)  # the queue restarts exactly when the roster returns


def test_lanes_by_class_and_shortest_queue(demo):
    demo["duration"] = "6h"
    demo["stages"]["primary"] = {
        "lanes": {
            "egate": {"servers": 3, "classes": ["resident"],
                      "service": {"distribution": "lognormal", "mean": "20s", "cv": 0.3}},
            "desk": {"servers": 4,
                     "service": {"distribution": "lognormal", "mean": "60s", "cv": 0.5}},
        },
        "detection_probability": 0.05,
    }
    sc, plan, inputs, trace = traced(demo)
    check_trace(plan, inputs, trace)
    egate, desk = plan.lanes_of(0)
    visitors = inputs.cls == list(sc.classes).index("visitor")
    assert not np.any(trace.lane[0][visitors] == egate)
    residents = ~visitors & ~np.isnan(trace.entry[0])
    assert np.any(trace.lane[0][residents] == egate) and np.any(trace.lane[0][residents] == desk)


def test_flushing(demo):
    demo["duration"] = "6h"
    demo["stages"]["secondary"]["flush_above"] = 3
    demo["targeting"]["referral_rate"] = 0.3
    demo["classes"]["visitor"]["threat_prevalence"] = 0.2
    sc, plan, inputs, trace = traced(demo)
    check_trace(plan, inputs, trace)
    flushed = trace.lane[1] == FLUSHED
    assert flushed.sum() > 10
    assert np.all(np.isnan(trace.start[1][flushed]))
    res = simulate(demo, engine=ENGINE, replications=2)
    assert res.mean("secondary.flushed") > 0


def test_warmup_travellers_not_counted(demo):
    demo["duration"] = "3h"
    demo["warmup"] = "1h"
    res = simulate(demo, engine=ENGINE, replications=1, keep_traces=True)
    inputs, _ = res.traces[0]
    # counted: arrived in [warm-up, horizon); later arrivals (the drain) are not
    assert res.mean("arrived") == ((inputs.arrival >= 60) & (inputs.arrival < 240)).sum()
    assert inputs.arrival.max() >= 240


def test_same_seed_same_result_and_seed_changes_it(demo):
    demo["duration"] = "4h"
    a = simulate(demo, engine=ENGINE, replications=2, seed=3).to_dict()
    b = simulate(demo, engine=ENGINE, replications=2, seed=3).to_dict()
    c = simulate(demo, engine=ENGINE, replications=2, seed=4).to_dict()
    assert a == b and a != c


@pytest.mark.parametrize("rate,p1,p2", [(0.3, 0.2, 0.9), (0.0, 0.5, 0.9), (1.0, 0.0, 0.6)])
def test_detection_rate_matches_probability_law(demo, rate, p1, p2):
    demo["duration"] = "12h"
    demo["classes"] = {"all": {"share": 1, "threat_prevalence": 0.3}}
    demo["arrivals"]["per_hour"] = 120
    demo["stages"]["secondary"]["servers"] = 60
    demo["stages"]["primary"]["detection_probability"] = p1
    demo["stages"]["secondary"]["detection_probability"] = p2
    demo["targeting"]["referral_rate"] = rate
    res = simulate(demo, engine=ENGINE, replications=8)
    theory = 1 - (1 - p1) * (1 - rate * p2)
    for kpi in ("detection_rate", "detection_rate_observed"):
        ci = res.kpis[kpi]
        assert ci["ci_low"] - 1e-9 <= theory <= ci["ci_high"] + 1e-9, (kpi, theory, ci)
