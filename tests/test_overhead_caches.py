"""What is kept per scenario or plan to cut per-replication costs (issue 18) never goes
stale: a scenario changed in one knob gets its own, a dropped scenario's is freed, and
the memory check is skipped only for the run that made it."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from borderesim import load_scenario, memo
from borderesim.analysis.metrics import confidence_interval, summarise
from borderesim.errors import ScenarioError
from borderesim.model.scenario import Lane
from borderesim.run import sampling
from borderesim.run.plan import make_plan
from borderesim.run.sampling import budget_checked, sample
from borderesim.run.simulate import plan_of, simulate

LAND = "scenarios/land_crossing.yaml"
CARGO = "scenarios/cargo_terminal.yaml"
SHORT = ["duration=6h", "warmup=0h", "drain_cap=2h"]


def _same(a: sampling.Inputs, b: sampling.Inputs) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=f == "service")
               for f in ("arrival", "cls", "threat", "service", "caught", "refer",
                         "p_refer_if_threat"))


@pytest.mark.parametrize("knob", [
    "stages.primary.lanes.general.service.mean=2min",
    "classes.ready.threat_prevalence=0.2",
    "classes.ready.share=0.6 classes.general.share=0.4",
    "arrivals.per_hour=400",
])
def test_one_knob_apart_scenarios_do_not_share_tables(knob):
    base = load_scenario(LAND, SHORT)
    changed = load_scenario(LAND, [*SHORT, *knob.split(" ")])
    plan_b, plan_c = make_plan(base), make_plan(changed)
    sample(base, plan_b, 1, 0)  # tables of the base kept first
    cached = sample(changed, plan_c, 1, 0)
    memo._KEPT.clear()
    fresh = sample(changed, plan_c, 1, 0)
    assert _same(cached, fresh)
    assert not _same(cached, sample(base, plan_b, 1, 0))


def test_tables_are_dropped_with_their_scenario():
    scenario = load_scenario(LAND, SHORT)
    sample(scenario, make_plan(scenario), 1, 0)
    key = id(scenario)
    assert key in memo._KEPT
    del scenario
    gc.collect()
    assert key not in memo._KEPT


def test_budget_checked_skips_only_its_own_scenario(monkeypatch):
    checked = []
    monkeypatch.setattr(sampling, "check_replication", checked.append)
    mine = load_scenario(LAND, SHORT)
    other = load_scenario(LAND, SHORT)  # equal, but not the run's object
    with budget_checked(mine):
        sample(mine, make_plan(mine), 1, 0)
        sample(other, make_plan(other), 1, 0)
    sample(mine, make_plan(mine), 1, 0)
    assert checked == [other, mine]


def test_simulate_checks_the_budget_once_not_per_replication(monkeypatch):
    per_replication = []
    monkeypatch.setattr(sampling, "check_replication", per_replication.append)
    simulate(load_scenario(LAND, SHORT), engine="fast", replications=3)
    assert per_replication == []


def test_too_big_a_run_is_still_refused():
    with pytest.raises(ScenarioError, match="per_hour"):
        simulate(load_scenario(LAND, ["arrivals.per_hour=5000000", "duration=365d"]),
                 engine="fast", replications=1)


def test_plan_kept_per_scenario_object_not_stale_after_set():
    base = load_scenario(LAND, SHORT)
    assert plan_of(base) is plan_of(base)
    changed = load_scenario(LAND, [*SHORT, "stages.secondary.detection_probability=0.5"])
    assert plan_of(changed) is not plan_of(base)
    assert plan_of(changed).detect_p.tolist() == make_plan(changed).detect_p.tolist()
    assert plan_of(base).detect_p.tolist() == make_plan(base).detect_p.tolist()
    assert plan_of(changed).detect_p.tolist() != plan_of(base).detect_p.tolist()


def test_single_lane_stage_lane_equals_a_validated_lane():
    scenario = load_scenario(CARGO)
    for name, stage in scenario.stages.items():
        if stage.lanes is None:
            lane = stage.lane_specs(name)[name]
            assert lane == Lane(servers=stage.servers, service=stage.service)
            assert lane.model_fields_set == {"servers", "service"}


def test_summarise_with_a_kpi_missing_or_nan_in_some_replications():
    reps = [{"wait_mean": 1.0, "detection_rate": 0.1, "extra.a": 2.0},
            {"wait_mean": 2.0, "detection_rate": 0.1},
            {"wait_mean": 4.0, "detection_rate": 0.1, "extra.a": float("nan")},
            {"wait_mean": 3.5, "detection_rate": 0.1, "extra.a": 5.0}]
    out = summarise(reps)
    assert out["wait_mean"] == confidence_interval([1.0, 2.0, 4.0, 3.5],
                                                   bounds=(0.0, float("inf")))
    assert out["extra.a"] == confidence_interval([2.0, float("nan"), float("nan"), 5.0])
    assert out["detection_rate"]["exact"] is True  # constant: no interval
    assert out["detection_rate"]["ci_low"] == out["detection_rate"]["ci_high"] == 0.1


def test_kpis_of_a_scenario_one_knob_apart_are_not_read_from_the_others_cache():
    base = load_scenario(LAND, SHORT)
    changed = load_scenario(LAND, [*SHORT, "classes.general.threat_prevalence=0.05"])
    simulate(base, engine="fast", replications=2)
    kept = simulate(changed, engine="fast", replications=2).per_replication
    memo._KEPT.clear()
    fresh = simulate(changed, engine="fast", replications=2).per_replication
    assert kept == fresh
    assert kept != simulate(base, engine="fast", replications=2).per_replication
