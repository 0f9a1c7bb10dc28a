"""The outcome vocabulary on a hand-made trace, P(referred | threat) from rule data,
and inputs that pickle."""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields, replace

import numpy as np
import pytest
from scipy.stats import norm

from borderesim.analysis.compare import load_strategies, with_targeting
from borderesim.analysis.metrics import replication_kpis
from borderesim.analysis.outcomes import Outcome, is_checked, is_counted, occupancy
from borderesim.model.scenario import load_scenario
from borderesim.model.targeting import DynamicRule, PythonRule
from borderesim.model.targeting.base import p_refer_if_threat
from borderesim.run.plan import make_plan
from borderesim.run.sampling import Inputs, sample
from borderesim.run.trace import FLUSHED, Trace
from tests.conftest import DEMO, SCENARIOS

nan = np.nan


def _toy() -> Outcome:
    """Five travellers through primary and a flushing secondary, warm-up 60, horizon 240.

    0 arrives in the warm-up; 1 queues 5 min at primary and 4 at secondary; 2 is
    flushed at secondary; 3 is still in service at secondary at the horizon, 4 still
    waiting at primary. No drain (``drain_cap: 0``): the run ends at the horizon.
    """
    data = copy.deepcopy(DEMO)
    data.update(duration="3h", warmup="1h", drain_cap=0)
    data["stages"]["secondary"]["flush_above"] = 0
    scenario = load_scenario(data)
    plan = make_plan(scenario)
    assert plan.horizon == 240 and list(plan.lanes_of(1)) == [1]
    n = 5
    inputs = Inputs(seed=0, replication=0, arrival=np.array([30.0, 70, 100, 200, 235]),
                    cls=np.zeros(n, np.int64), threat=np.zeros(n, bool),
                    service=np.ones((2, n)), caught=np.zeros((2, n), bool),
                    refer=np.array([False, True, True, True, False]),
                    p_refer_if_threat=np.array([0.1, 0.2, 0.3, 0.4, 0.5]))
    trace = Trace.empty(2, n, inputs.refer)
    trace.lane[0] = 0
    trace.entry[0] = inputs.arrival
    trace.start[0] = [30, 75, 100, 200, nan]
    trace.end[0] = [31, 76, 101, 201, nan]
    trace.lane[1] = [-1, 1, FLUSHED, 1, -1]
    trace.entry[1] = [nan, 76, 101, 201, nan]
    trace.start[1] = [nan, 80, nan, 230, nan]
    trace.end[1] = [nan, 90, nan, nan, nan]
    trace.exit[:] = [31, 90, 101, nan, nan]
    return Outcome(plan, inputs, trace)


def test_the_vocabulary_on_a_hand_made_trace():
    o = _toy()
    assert o.counted.tolist() == [False, True, True, True, True]
    assert o.finished.tolist() == [True, True, True, False, False]
    assert o.done.tolist() == [False, True, True, False, False]
    assert o.unfinished.tolist() == [False, False, False, True, True]
    assert o.entered(1).tolist() == [False, True, True, True, False]
    assert o.queued(1).tolist() == [False, True, False, True, False]
    assert o.flushed(1).tolist() == [False, False, True, False, False]
    assert o.checked(0).tolist() == [True, True, True, True, False]
    assert o.checked(1).tolist() == [False, True, False, False, False]
    assert o.checked().tolist() == [o.checked(0).tolist(), o.checked(1).tolist()]
    assert o.wait(0).tolist() == [0, 5, 0, 0, 5]  # 4 has not started: 240 - 235 at least
    assert o.censored(0).tolist() == [False, False, False, False, True]
    assert o.wait(1).tolist() == [0, 4, 0, 29, 0]
    assert not o.censored(1).any()  # 3 started (still in service)
    assert o.time_in_system().tolist() == [1, 20, 1, 40, 5]  # 3 and 4: lower bounds
    assert o.reached_referral().tolist() == [True, True, True, True, False]
    assert is_counted(np.array([59.9, 60.0]), 60.0).tolist() == [False, True]
    assert is_counted(np.array([59.9, 60.0, 239.9, 240.0]), 60.0, 240.0).tolist() == \
        [False, True, True, False]
    assert is_checked(np.array([0, 0, -1, -2]), np.array([1.0, nan, nan, nan])).tolist() == \
        [True, False, False, False]


def test_occupancy_over_one_window_and_over_many():
    o = _toy()
    # [60, 240): waiting at primary 70-75 and 235-240 (open end at the horizon)
    one = o.occupancy(0, np.array([60.0, 240.0]))
    assert one.waiting.tolist() == [[10.0]] and one.busy.tolist() == [[3.0]]
    two = o.occupancy(1, np.array([60.0, 240.0]))  # flushed traveller 2 is not there
    assert two.waiting.tolist() == [[33.0]] and two.busy.tolist() == [[20.0]]
    edges = np.array([0.0, 60, 120, 180, 240])
    many = occupancy(o.plan, o.trace, 0, edges)
    assert many.waiting.tolist() == [[0, 5, 0, 5]] and many.busy.tolist() == [[1, 2, 0, 1]]
    many = occupancy(o.plan, o.trace, 1, edges)
    assert many.waiting.tolist() == [[0, 4, 0, 29]] and many.busy.tolist() == [[0, 10, 0, 10]]
    whole = occupancy(o.plan, o.trace, 1, edges[[0, -1]])
    assert whole.waiting[:, 0] == pytest.approx(many.waiting.sum(axis=1))


def test_kpis_read_the_vocabulary():
    o = _toy()
    scenario = load_scenario({**copy.deepcopy(DEMO), "duration": "3h", "warmup": "1h",
                              "drain_cap": 0})
    k = replication_kpis(scenario, o.plan, o.inputs, o.trace)
    assert (k["arrived"], k["finished"], k["unfinished"]) == (4, 2, 2)
    assert k["secondary.flushed"] == 1 and k["secondary.visit_rate"] == 3 / 4
    # 1, 2, 3 waited 5, 0, 0; 4 is still waiting, at least 5: counted at that lower bound
    assert k["primary.wait_mean"] == pytest.approx(10 / 4)
    assert (k["primary.censored"], k["secondary.censored"]) == (1, 0)
    assert k["wait_mean"] == pytest.approx((9 + 0 + 29 + 5) / 4)
    assert k["time_in_system_mean"] == pytest.approx((20 + 1 + 40 + 5) / 4)
    assert k["primary.queue_mean"] == pytest.approx(10 / 180)
    assert k["secondary.utilization"] == pytest.approx(20 / (2 * 180))


def test_p_refer_if_threat_from_rule_data():
    static = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    thresholds = np.array([nan, 1.0, 0.5, -np.inf, nan])
    rule = DynamicRule(score=np.zeros(5), threshold=0.0, per_waiting=0.1,
                       threat_mean=np.array([0.0, 2.0, -np.inf, -np.inf, 1.0]))
    got = p_refer_if_threat(static, rule, thresholds)
    p_rule = np.array([0, 1 - norm.cdf(1.0 - 2.0), 0, 0, 0])  # -inf mean: never referred
    np.testing.assert_allclose(got, 1 - (1 - static) * (1 - p_rule), rtol=1e-14)
    assert p_refer_if_threat(static, None, thresholds) is static


def test_python_rule_code_is_never_called_by_the_kpis():
    def decide(i: int, waiting: int) -> bool:
        raise AssertionError("the KPI step called the strategy's code")

    o = _toy()
    inputs = replace(o.inputs, dynamic=PythonRule(decide))
    o.trace.threshold[:] = 1.0  # even with thresholds recorded, the static p is used
    assert Outcome(o.plan, inputs, o.trace).p_refer_if_threat() is inputs.p_refer_if_threat
    scenario = load_scenario({**copy.deepcopy(DEMO), "duration": "3h", "warmup": "1h"})
    replication_kpis(scenario, o.plan, inputs, o.trace)


def _variants():
    """Every example scenario, and each strategy of the strategies files on its scenario."""
    out = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        if not path.name.startswith("strategies"):
            out.append((path.stem, load_scenario(path)))
    for key, base in (("land", "land_crossing"), ("airport", "airport_arrivals")):
        scenario = load_scenario(SCENARIOS / f"{base}.yaml")
        seen = set()
        for v in load_strategies(SCENARIOS / f"strategies_{key}.yaml"):
            if v.group not in seen:
                seen.add(v.group)
                out.append((f"{key}:{v.group}", with_targeting(scenario, v)))
    land = load_scenario(SCENARIOS / "land_crossing.yaml").model_dump(mode="json",
                                                                      exclude_none=True)
    land["targeting"] = {"strategy": "watchlist", "coverage": 0.3,
                         "outages": [{"start": "06:00", "end": "14:00"}],
                         "fallback": {"strategy": "risk_score", "auc": 0.85, "threshold": 1.5,
                                      "per_waiting": 0.1}}
    out.append(("watchlist_queue_aware_fallback", load_scenario(land)))
    return out


@pytest.mark.parametrize("name,scenario", _variants(), ids=[n for n, _ in _variants()])
def test_inputs_pickle(name, scenario):
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed, 1)
    back = pickle.loads(pickle.dumps(inputs))
    for f in fields(Inputs):
        a, b = getattr(inputs, f.name), getattr(back, f.name)
        if isinstance(a, DynamicRule):
            for g in fields(DynamicRule):
                np.testing.assert_array_equal(getattr(a, g.name), getattr(b, g.name))
        elif isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b, f.name
    if name.endswith("queue_aware") or name.endswith("fallback"):
        assert isinstance(inputs.dynamic, DynamicRule)
