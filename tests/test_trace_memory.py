"""A replication's memory: narrow lane codes, no threshold without a queue-aware rule,
the same traces from both engines, and the budget's estimate against the measured peak."""

from __future__ import annotations

import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from borderesim.model.scenario import load_scenario
from borderesim.run import budget
from borderesim.run.engines import fast, simpy_engine
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample
from borderesim.run.simulate import run_replication
from borderesim.run.trace import Trace, lane_dtype, no_threshold

from .test_engines_agree import assert_same_trace

ROOT = Path(__file__).resolve().parent.parent
LAND = ROOT / "scenarios" / "land_crossing.yaml"
QUEUE_AWARE = "targeting={strategy: risk_score, auc: 0.85, referral_rate: 0.03, per_waiting: 0.1}"
EXP = {"distribution": "exponential", "mean": 1.0}


def test_lane_codes_take_the_narrowest_integer_that_holds_them():
    assert [lane_dtype(n) for n in (1, 127, 128, 32767, 32768)] == [
        np.int8, np.int8, np.int16, np.int16, np.int32]


def test_both_engines_write_one_byte_lane_codes_and_no_threshold_without_a_rule():
    scenario = load_scenario(LAND, ["duration=6h", "warmup=0"])
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed, 0)
    assert inputs.dynamic is None
    traces = [simpy_engine.run(plan, inputs), fast.run(plan, inputs)]
    assert_same_trace(*traces)
    for trace in traces:
        assert trace.lane.dtype == np.int8
        assert trace.threshold.shape == (inputs.n,) and trace.threshold.strides == (0,)
        assert np.isnan(trace.threshold).all()
        assert {-2, -1} & set(np.unique(trace.lane)) == {-1}  # no flushing here


def test_a_queue_aware_rule_gets_thresholds_on_both_engines():
    scenario = load_scenario(LAND, ["duration=6h", "warmup=0", QUEUE_AWARE])
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed, 0)
    traces = [simpy_engine.run(plan, inputs), fast.run(plan, inputs)]
    assert_same_trace(*traces)
    for trace in traces:
        assert trace.threshold.flags.writeable and trace.threshold.strides == (8,)
        assert (~np.isnan(trace.threshold)).sum() > 100


def test_over_127_lanes_use_two_byte_codes_and_the_engines_agree():
    lanes = {f"l{i}": {"servers": 1, "service": EXP} for i in range(130)}
    scenario = load_scenario({  # 150 travellers' work a minute: every lane is used
        "name": "wide", "duration": 60.0, "warmup": 0.0, "replications": 1, "seed": 3,
        "arrivals": {"per_hour": [9000.0] * 24},
        "classes": {"a": {"share": 1.0, "threat_prevalence": 0.0}},
        "stages": {"hall": {"lanes": lanes}, "exit": {"servers": 200, "service": EXP}},
    })
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed, 0)
    a, b = simpy_engine.run(plan, inputs), fast.run(plan, inputs)
    assert a.lane.dtype == b.lane.dtype == np.int16
    assert_same_trace(a, b)
    assert b.lane[1].max() == 130 and b.lane[0].max() > 127  # codes past int8's range


def test_a_trace_without_thresholds_pickles_small_and_back_the_same():
    scenario = load_scenario(LAND, ["duration=6h", "warmup=0"])
    plan = make_plan(scenario)
    trace = fast.run(plan, sample(scenario, plan, scenario.seed, 0))
    back = pickle.loads(pickle.dumps(trace))
    assert_same_trace(trace, back)
    assert back.threshold.strides == (0,) and back.lane.dtype == np.int8
    # the thresholds' NaNs are not written out: only the stored arrays are
    stored = sum(getattr(trace, f).nbytes for f in ("lane", "entry", "start", "end", "exit",
                                                    "referred"))
    assert len(pickle.dumps(trace)) < stored + 2000
    full = Trace(**{**trace.__dict__, "threshold": np.full(len(trace.exit), np.nan)})
    assert len(pickle.dumps(full)) > stored + 8 * len(trace.exit)
    assert pickle.loads(pickle.dumps(full)).threshold.strides == (8,)
    assert no_threshold(0).shape == (0,)


@pytest.mark.parametrize("extra", [[], [QUEUE_AWARE]], ids=["static", "queue-aware"])
def test_memory_estimate_matches_the_measured_peak(extra):
    """``budget.estimate`` against tracemalloc's peak of a real replication (which sees
    arrays allocated in compiled code too: numba allocates through Python's allocator)."""
    scen = load_scenario(LAND, ["arrivals.per_hour=1250", "duration=2d", *extra])
    plan = make_plan(scen)
    run_replication(scen, plan, "fast", 1, 0)  # compile and import outside the measurement
    tracemalloc.start()
    try:
        run_replication(scen, plan, "fast", 1, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = budget.estimate(scen, 1, "fast").replication_bytes
    assert 0.94 < estimate / peak < 1.02, (estimate, peak, estimate / peak)
