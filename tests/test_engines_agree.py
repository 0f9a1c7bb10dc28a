"""The fast engine agrees with the SimPy engine traveller by traveller.

Hypothesis generates small scenarios that stress the parts where an event loop can
go wrong: rosters with zero-server hours, lanes restricted to classes, hourly
profiles, overload, deterministic and empirical service times (exact ties between
completions, roster changes and, with arrivals rounded to whole minutes, arrivals),
flushing, stages only referred travellers visit, the queue-aware risk rule, and
drain caps (the run going on past the horizon while counted travellers are inside),
and shocks: surges (also all at one instant), outages with and without pre-emption,
slowdowns and reserve officers (whole-minute times, so they tie with the rest).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borderesim.model.scenario import load_scenario
from borderesim.run.engines import fast, simpy_engine
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample
from borderesim.run.trace import Trace

from .invariants import check_trace

TOL = 1e-9
"""Largest difference allowed between the engines' times (minutes)."""


def assert_same_trace(a: Trace, b: Trace) -> None:
    """Same lanes, referrals and thresholds; times equal to ``TOL`` minutes, NaN alike."""
    np.testing.assert_array_equal(a.lane, b.lane)
    np.testing.assert_array_equal(a.referred, b.referred)
    for name in ("entry", "start", "end", "exit", "threshold"):
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_array_equal(np.isnan(x), np.isnan(y), err_msg=name)
        both = ~np.isnan(x)
        if both.any():
            assert np.max(np.abs(x[both] - y[both])) <= TOL, name


def both_engines(scenario, replication: int = 0, quantise: bool = False):
    """Plan, inputs and the two engines' traces for one replication."""
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed, replication)
    if quantise:  # whole minutes: arrivals tie with each other, rosters and completions
        inputs = dataclasses.replace(inputs, arrival=np.floor(inputs.arrival))
    return plan, inputs, simpy_engine.run(plan, inputs), fast.run(plan, inputs)


SERVICE_MINUTES = [0.5, 1.0, 2.0, 3.0, 5.0, 15.0, 60.0]


@st.composite
def services(draw):
    kind = draw(st.sampled_from(["deterministic", "empirical", "exponential", "lognormal",
                                 "uniform"]))
    if kind == "deterministic":
        return {"distribution": kind, "mean": draw(st.sampled_from(SERVICE_MINUTES))}
    if kind == "empirical":
        values = draw(st.lists(st.sampled_from([1.0, 2.0, 3.0, 4.0, 30.0, 60.0]),
                               min_size=1, max_size=4))
        return {"distribution": kind, "values": values}
    mean = draw(st.floats(0.3, 12.0))
    if kind == "exponential":
        return {"distribution": kind, "mean": mean}
    if kind == "lognormal":
        return {"distribution": kind, "mean": mean, "cv": draw(st.floats(0.1, 1.5))}
    return {"distribution": kind, "low": 0.0, "high": 2 * mean}


def hourly(scalar_max: int, list_max: int):
    """One positive value, or 24 hourly values (zeros allowed, not all zero)."""
    return st.one_of(
        st.integers(1, scalar_max),
        st.lists(st.integers(0, list_max), min_size=24, max_size=24).filter(any),
    )


@st.composite
def crossing(draw):
    """A small random scenario mapping (a few hours, up to a few hundred travellers)."""
    n_cls = draw(st.integers(1, 3))
    names = [f"c{k}" for k in range(n_cls)]
    weights = draw(st.lists(st.integers(1, 5), min_size=n_cls, max_size=n_cls))
    classes = {c: {"share": w / sum(weights), "threat_prevalence": 0.05}
               for c, w in zip(names, weights, strict=True)}
    stages = {}
    for s in range(draw(st.integers(1, 3))):
        lanes = {}
        for k in range(draw(st.integers(1, 3))):
            lane = {"servers": draw(hourly(4, 3)), "service": draw(services())}
            if n_cls > 1 and draw(st.booleans()):
                lane["classes"] = draw(st.lists(st.sampled_from(names), min_size=1,
                                                max_size=n_cls, unique=True))
            lanes[f"l{k}"] = lane
        admitted = {c for lane in lanes.values() for c in lane.get("classes", names)}
        if admitted != set(names):  # every class needs a lane: open the last one to all
            lanes[f"l{len(lanes) - 1}"].pop("classes", None)
        stage = {"lanes": lanes, "detection_probability": 0.5}
        if s > 0 and draw(st.booleans()):
            stage["visits"] = "referred"
        if draw(st.integers(0, 3)) == 0:
            stage["flush_above"] = draw(st.integers(0, 6))
        stages[f"s{s}"] = stage
    per_hour = draw(hourly(150, 200))
    targeting = draw(st.sampled_from(["none", "random", "by_class", "risk", "risk_queue"]))
    scenario = {
        "name": "generated",
        "duration": draw(st.sampled_from([30, 60, 90, 120, 180, 240, 300])),
        "warmup": draw(st.sampled_from([0, 20, 60])),
        "replications": 1,
        "seed": draw(st.integers(0, 10**6)),
        "arrivals": {"per_hour": per_hour},
        "classes": classes,
        "stages": stages,
    }
    scenario["events"] = draw(events(stages, names, scenario["warmup"] + scenario["duration"]))
    for stage in stages.values():
        if draw(st.integers(0, 3)) == 0:
            open_above = draw(st.integers(0, 6))
            stage["reserve"] = {"officers": draw(st.integers(1, 3)),
                                "open_above": open_above,
                                "close_below": draw(st.integers(0, min(2, open_above + 1))),
                                "call_in": draw(st.sampled_from([0, 1, 5, 15]))}
            if draw(st.booleans()):
                stage["booths"] = draw(st.integers(1, 8))
    drain = draw(st.sampled_from([None, 0, 7, 60, 120]))
    if drain is not None:
        scenario["drain_cap"] = drain
    rate = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    if targeting == "random":
        scenario["targeting"] = {"strategy": "random", "referral_rate": rate}
    elif targeting == "by_class":
        scenario["targeting"] = {"strategy": "by_class",
                                 "referral_rate": {c: draw(st.sampled_from([0.0, 0.3, 1.0]))
                                                   for c in names}}
    elif targeting.startswith("risk"):
        scenario["targeting"] = {"strategy": "risk_score", "auc": 0.8,
                                 "threshold": draw(st.floats(-1.5, 1.5))}
        if targeting == "risk_queue":
            scenario["targeting"]["per_waiting"] = draw(st.sampled_from([0.05, 0.2, 1.0]))
    return scenario


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def events(draw, stages: dict, classes: list[str], horizon: int):
    """Up to four shocks at whole minutes inside the run."""
    out = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["surge", "outage", "slowdown"]))
        begin = draw(st.integers(0, horizon - 1))
        if kind == "surge":
            event = {"kind": kind, "at": clock(begin), "travellers": draw(st.integers(0, 40)),
                     "over": draw(st.sampled_from([0, 0, 5, 30]))}
            if draw(st.booleans()):
                event["class"] = draw(st.sampled_from(classes))
            out.append(event)
            continue
        sname = draw(st.sampled_from(sorted(stages)))
        end = min(begin + draw(st.integers(1, 90)), 24 * 60)
        event = {"kind": kind, "stage": sname, "from": clock(begin), "to": clock(end)}
        if draw(st.booleans()):
            event["lane"] = draw(st.sampled_from(sorted(stages[sname]["lanes"])))
        if kind == "outage":
            event["preempt"] = draw(st.booleans())
        else:
            event["factor"] = draw(st.sampled_from([0.5, 1.5, 3.0]))
        out.append(event)
    return out


SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(data=crossing(), quantise=st.booleans())
def test_engines_agree_on_generated_scenarios(data, quantise):
    scenario = load_scenario(data)
    plan, inputs, ref, got = both_engines(scenario, quantise=quantise)
    assert_same_trace(ref, got)
    np.testing.assert_allclose(ref.reserve_minutes, got.reserve_minutes, rtol=0, atol=TOL)
    check_drain(plan, inputs, got)
    if not quantise and not has_discrete_service(data) and not has_shocks(data):
        # the shared invariants read "waiting" with strict inequalities, so they only
        # hold when no two events share an instant (continuous times)
        check_trace(plan, inputs, got)


def has_shocks(data: dict) -> bool:
    """True if events or reserves change service times or capacities (the shared
    invariants assume sampled service times and rostered capacity)."""
    return bool(data.get("events")) or any("reserve" in s for s in data["stages"].values())


def check_drain(plan, inputs, trace: Trace) -> None:
    """[drain]: nothing is recorded at or after the run end, and past the horizon only
    while a counted traveller is inside (up to the last counted exit, when all left)."""
    times = np.concatenate([trace.entry.ravel(), trace.start.ravel(), trace.end.ravel(),
                            trace.exit])
    times = times[~np.isnan(times)]
    assert (times < plan.run_end).all()
    counted = (inputs.arrival >= plan.warmup) & (inputs.arrival < plan.horizon)
    if counted.any() and not np.isnan(trace.exit[counted]).any():
        assert (times <= max(plan.horizon, trace.exit[counted].max())).all()


def has_discrete_service(data: dict) -> bool:
    """True if some lane's service times repeat exactly (events can then tie)."""
    return any(lane["service"]["distribution"] in ("deterministic", "empirical")
               for stage in data["stages"].values() for lane in stage["lanes"].values())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=crossing(), per_waiting=st.floats(0.0, 2.0), threshold=st.floats(-2.0, 2.0))
def test_engines_agree_on_queue_aware_rule(data, per_waiting, threshold):
    """Any static referral OR-ed with a dynamic rule on every traveller's own score."""
    scenario = load_scenario(data)
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed, 0)
    # a queue-aware rule may refer anyone: the same travellers sampled under one (any
    # queue-aware strategy) have every referred stage's service time drawn, equal to
    # the static sample's wherever that drew it
    aware = load_scenario({**data, "targeting": {"strategy": "risk_score", "auc": 0.8,
                                                 "threshold": 1.0, "per_waiting": 0.1}})
    everyone = sample(aware, plan, scenario.seed, 0).service
    drawn = ~np.isnan(inputs.service)
    assert np.array_equal(everyone[drawn], inputs.service[drawn])
    inputs = dataclasses.replace(inputs, service=everyone)
    rng = np.random.default_rng(scenario.seed)
    from borderesim.model.targeting import DynamicRule

    rule = DynamicRule(score=rng.standard_normal(inputs.n), threshold=threshold,
                       per_waiting=per_waiting,
                       threat_mean=np.ones(inputs.n))
    inputs = dataclasses.replace(inputs, dynamic=rule)
    ref, got = simpy_engine.run(plan, inputs), fast.run(plan, inputs)
    assert_same_trace(ref, got)
    if plan.stage_referred.any() and inputs.n:
        decided = ~np.isnan(got.threshold)
        # the threshold recorded is the rule's at the queue then seen
        waiting = (got.threshold[decided] - threshold) / per_waiting if per_waiting else 0
        assert np.all(np.asarray(waiting) >= -1e-9)
