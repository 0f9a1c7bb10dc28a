"""KPIs by hour and offered load under shocks, against hand-computed values.

On duty by hour (``analysis/by_hour.py``) is the plan's capacity over time
(``Plan.capacity_changes``: the roster, no server in an outage), the one the engines
follow; offered load (``analysis/metrics.py``) counts the service times as slowdowns
stretch them ([slowdowns] in ``borderesim/testing/semantics.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from borderesim.analysis.by_hour import (
    duty_minutes,
    hourly_kpis,
    stage_time_sums,
    window_segments,
)
from borderesim.analysis.metrics import replication_kpis
from borderesim.model.scenario import load_scenario
from borderesim.run import drain
from borderesim.run.engines import fast, simpy_engine
from borderesim.run.plan import make_plan
from borderesim.testing.reference_kpis import replication_kpis as reference_kpis

ENGINES = {"simpy": simpy_engine.run, "fast": fast.run}
ROOT = Path(__file__).resolve().parents[1]


def crossing(servers=1, events=(), **extra) -> dict:
    """One one-lane stage of 4-minute deterministic service, 24 h counted from 00:00;
    arrivals only from what ``events`` adds (the profile's one an hour is at 23:00)."""
    data = {
        "name": "hourly shocks", "duration": "24h", "replications": 1, "seed": 3,
        "drain_cap": 0, "arrivals": {"per_hour": [0] * 23 + [1]},
        "stages": {"desk": {"servers": servers,
                            "service": {"distribution": "deterministic", "mean": 4}}},
        "events": list(events),
    }
    data.update(extra)
    return data


def run(data: dict, engine=fast.run):
    scenario = load_scenario(data)
    plan = make_plan(scenario)
    inputs, trace = drain.replay(scenario, plan, engine, scenario.seed, 0)
    return scenario, plan, inputs, trace


def outage(start: str, end: str, **more) -> dict:
    return {"kind": "outage", "stage": "desk", "from": start, "to": end, **more}


def test_an_outage_of_the_one_server_from_8_to_10_takes_60_minutes_off_hours_8_and_9():
    _, base, _, trace = run(crossing())
    _, plan, _, shocked = run(crossing(events=[outage("08:00", "10:00")]))
    before = stage_time_sums(base, trace, 0)["on_duty"]
    after = stage_time_sums(plan, shocked, 0)["on_duty"]
    assert before.tolist() == [60.0] * 24
    drop = before - after
    assert drop.tolist() == [60.0 if h in (8, 9) else 0.0 for h in range(24)]


def test_an_outage_within_hours_counts_to_the_minute_in_every_lane_it_closes():
    """Two servers; 08:30-09:15 out: hour 8 keeps 30 min x 2, hour 9 keeps 45 min x 2;
    a second lane the outage does not name keeps its hour."""
    data = crossing(servers=2, events=[outage("08:30", "09:15", lane="a")])
    service = {"distribution": "deterministic", "mean": 4}
    data["stages"]["desk"] = {"lanes": {"a": {"servers": 2, "service": service},
                                        "b": {"servers": 1, "service": service}}}
    _, plan, _, trace = run(data)
    on_duty = stage_time_sums(plan, trace, 0)["on_duty"]
    assert on_duty[8] == 2 * 30 + 60 and on_duty[9] == 2 * 45 + 60
    assert on_duty[7] == on_duty[10] == 3 * 60


def test_duty_minutes_is_the_plans_server_minutes_on_any_windows():
    """Whatever the windows, each is ``Plan.server_minutes`` (the one integral of the
    plan's capacity): outages repeating each day, an hourly roster, odd edges."""
    data = crossing(events=[outage("07:10", "09:40", every="day"),
                            outage("13:00", "13:05", preempt=True)],
                    duration="50h", warmup="95min")
    data["stages"]["desk"]["servers"] = [1, 2, 3, 0] * 6
    plan = make_plan(load_scenario(data))
    edges = np.array([0.0, 33.3, 420.0, 431.0, 600.0, 1444.4, 2000.0, 2900.0, plan.horizon])
    got = duty_minutes(plan, edges)
    want = [[plan.server_minutes(0, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_without_outages_on_duty_is_the_roster_bit_for_bit():
    data = crossing(duration="30h", warmup="37.5min")
    data["stages"]["desk"]["servers"] = [2, 3, 1, 4] * 6
    _, plan, _, trace = run(data)
    edges, hours, lengths = window_segments(plan.warmup, plan.horizon)
    np.testing.assert_array_equal(duty_minutes(plan, edges), plan.roster[:, hours] * lengths)
    want = np.bincount(hours, plan.roster[0, hours] * lengths, 24)
    np.testing.assert_array_equal(stage_time_sums(plan, trace, 0)["on_duty"], want)


@pytest.mark.parametrize("engine", ENGINES.values(), ids=ENGINES)
def test_utilisation_by_hour_under_an_outage_is_the_hand_value(engine):
    """Ten travellers at 09:00, one server, 4 min each, out from 09:30 to 10:00 (the
    traveller in hand is finished): eight start at 09:00, 09:04, ..., 09:28 (the last
    ends at 09:32, 2 min into the outage), two at 10:00 and 10:04. Hour 9: 30 min on
    duty, 32 min busy, so utilisation 30/30 and 2 min overtime; hour 10: 8/60."""
    surge = {"kind": "surge", "at": "09:00", "travellers": 10, "over": 0}
    _, plan, inputs, trace = run(crossing(events=[surge, outage("09:30", "10:00")]), engine)
    assert np.sort(trace.start[0][inputs.arrival == 540.0]).tolist() == [
        540.0 + 4 * k for k in range(8)] + [600.0, 604.0]
    sums = stage_time_sums(plan, trace, 0)
    assert (sums["on_duty"][9], sums["busy"][9], sums["overtime"][9]) == (30.0, 30.0, 2.0)
    hourly = hourly_kpis(plan, [(inputs, trace)])["desk"]
    assert hourly["utilization"][9] == 1.0
    assert hourly["utilization"][10] == 8.0 / 60.0
    assert hourly["overtime_hours"][9] == 2.0 / 60.0


def test_overall_utilisation_of_an_hourly_roster_leaves_out_the_outage():
    """The same morning with a roster that changes by the hour (1 server all day but 2
    from 23:00): over the counted day, busy within duty 30 + 8 + the 23:00 traveller's 4,
    on duty 24 x 60 + 60 (the extra server at 23:00) - 30 (the outage)."""
    surge = {"kind": "surge", "at": "09:00", "travellers": 10, "over": 0}
    data = crossing(events=[surge, outage("09:30", "10:00")])
    data["stages"]["desk"]["servers"] = [1] * 23 + [2]
    scenario, plan, inputs, trace = run(data)
    got = replication_kpis(scenario, plan, inputs, trace)
    served_at_23 = 4.0 * np.sum(inputs.arrival >= 23 * 60)
    assert got["desk.utilization"] == pytest.approx(
        (30 + 8 + served_at_23) / (24 * 60 + 60 - 30), rel=1e-12)
    assert got["desk.overtime_hours"] == pytest.approx(2 / 60, rel=1e-12)
    assert got == pytest.approx(reference_kpis(scenario, plan, inputs, trace), nan_ok=True)


def busy_crossing(**extra) -> dict:
    """A stage of two servers, random service and Poisson arrivals, and a referred
    secondary stage (its flush threshold waves some through): 12 h from 06:00. One lane
    a stage: the lane a traveller is served in does not depend on the slowdown (lanes
    draw their own service times)."""
    exp = {"distribution": "exponential", "mean": 2}
    data = {
        "name": "offered load", "duration": "12h", "warmup": "6h", "replications": 1,
        "seed": 11, "arrivals": {"per_hour": 30},
        "stages": {
            "primary": {"servers": 2, "service": exp},
            "secondary": {"servers": 1, "visits": "referred", "flush_above": 3,
                          "service": {"distribution": "lognormal", "mean": 8, "cv": 0.5}},
        },
        "targeting": {"strategy": "random", "referral_rate": 0.25},
    }
    data.update(extra)
    return data


def slowdown(stage: str, factor: float) -> dict:
    """``stage`` slowed by ``factor`` all day, every day of the run (drain included)."""
    return {"kind": "slowdown", "stage": stage, "from": "00:00", "to": "24:00",
            "factor": factor, "every": "day"}


@pytest.mark.parametrize("engine", ENGINES.values(), ids=ENGINES)
def test_a_slowdown_of_everything_by_1_5_makes_offered_load_1_5_times(engine):
    """The same travellers (common random numbers) bring 1.5 times the work."""
    scenario, plan, inputs, trace = run(busy_crossing(), engine)
    base = replication_kpis(scenario, plan, inputs, trace)
    slow = busy_crossing(events=[slowdown("primary", 1.5), slowdown("secondary", 1.5)])
    scenario, plan, inputs2, trace2 = run(slow, engine)
    m = min(inputs.n, inputs2.n)  # the drain is drawn as far as each run needs
    np.testing.assert_array_equal(inputs.service[:, :m], inputs2.service[:, :m])
    got = replication_kpis(scenario, plan, inputs2, trace2)
    assert got["secondary.flushed"] > 0  # flushed travellers bring work too
    for stage in ("primary", "secondary"):
        assert base[f"{stage}.offered_load"] > 0
        assert got[f"{stage}.offered_load"] == pytest.approx(
            1.5 * base[f"{stage}.offered_load"], rel=1e-12)
    ref = reference_kpis(scenario, plan, inputs2, trace2)
    assert got["primary.offered_load"] == pytest.approx(ref["primary.offered_load"],
                                                        rel=1e-12)


def test_a_slowdown_counts_by_when_service_started():
    """Deterministic 4 min, one server: ten travellers at 09:00 and a slowdown x2 from
    09:10 to 09:30. Starts at 09:00, 04, 08 (4 min each), 09:12, 20, 28 (8 min each:
    slowed at their start), then 09:36, 40, 44, 48: work 4 x 7 + 8 x 3 = 52 minutes of
    the 24 h x 60 on duty (the 23:00 traveller adds 4 unslowed)."""
    surge = {"kind": "surge", "at": "09:00", "travellers": 10, "over": 0}
    slow = {"kind": "slowdown", "stage": "desk", "from": "09:10", "to": "09:30",
            "factor": 2.0}
    scenario, plan, inputs, trace = run(crossing(events=[surge, slow]))
    starts = np.sort(trace.start[0][inputs.arrival == 540.0]) - 540.0
    assert starts.tolist() == [0, 4, 8, 12, 20, 28, 36, 40, 44, 48]
    got = replication_kpis(scenario, plan, inputs, trace)
    work = 52.0 + 4.0 * np.sum(inputs.arrival >= 23 * 60)
    assert got["desk.offered_load"] == pytest.approx(work / (24 * 60), rel=1e-12)


def test_an_outage_takes_its_minutes_off_offered_load_and_utilisation():
    surge = {"kind": "surge", "at": "09:00", "travellers": 10, "over": 0}
    scenario, plan, inputs, trace = run(crossing(events=[surge, outage("09:30", "10:00")]))
    got = replication_kpis(scenario, plan, inputs, trace)
    work = 40.0 + 4.0 * np.sum(inputs.arrival >= 23 * 60)
    assert got["desk.offered_load"] == pytest.approx(work / (24 * 60 - 30), rel=1e-12)
    # a constant roster too: the 2 minutes served into the outage are overtime
    assert got["desk.utilization"] == pytest.approx((work - 2) / (24 * 60 - 30), rel=1e-12)
    assert got["desk.overtime_hours"] == pytest.approx(2 / 60, rel=1e-12)
    assert got == pytest.approx(reference_kpis(scenario, plan, inputs, trace), nan_ok=True)


def reserve_morning(*events) -> dict:
    """Thirty travellers at 01:00 at one server of 4 minutes; one reserve officer called
    at once when more than two wait, leaving when nobody waits at a service's end."""
    data = crossing(events=[{"kind": "surge", "at": "01:00", "travellers": 30, "over": 0},
                            *events])
    data["stages"]["desk"]["reserve"] = {"officers": 1, "open_above": 2, "close_below": 1}
    return data


@pytest.mark.parametrize("engine", ENGINES.values(), ids=ENGINES)
def test_a_reserve_officer_on_duty_for_an_hour_adds_that_hour(engine):
    """The officer comes at 01:00; two servers do the 120 minutes of work by 02:00, when
    the officer leaves: hour 1 has 60 + 60 server-minutes on duty, all busy (no
    overtime), and the crossing's utilisation is 120 busy of 24 x 60 + 60 on duty."""
    scenario, plan, inputs, trace = run(reserve_morning(), engine)
    assert trace.reserve_minutes.tolist() == [60.0]
    assert trace.reserve_duty[0].tolist() == [0.0, 60.0] + [0.0] * 22
    sums = stage_time_sums(plan, trace, 0)
    assert sums["on_duty"].tolist() == [60.0, 120.0] + [60.0] * 22
    assert (sums["busy"][1], sums["overtime"][1]) == (120.0, 0.0)
    assert hourly_kpis(plan, [(inputs, trace)])["desk"]["utilization"][1] == 1.0
    got = replication_kpis(scenario, plan, inputs, trace)
    busy = 120.0 + 4.0 * np.sum(inputs.arrival >= 23 * 60)
    assert got["desk.utilization"] == pytest.approx(busy / (25 * 60), rel=1e-12)
    assert got["desk.offered_load"] == pytest.approx(busy / (25 * 60), rel=1e-12)
    assert got["desk.overtime_hours"] == 0.0
    assert got == pytest.approx(reference_kpis(scenario, plan, inputs, trace), nan_ok=True)


@pytest.mark.parametrize("engine", ENGINES.values(), ids=ENGINES)
def test_a_reserve_officer_in_an_outage_is_not_on_duty(engine):
    """The same with the lane out from 01:30 to 01:45: 16 done by 01:32 (the two in hand
    finish 2 min into the outage), the other 14 from 01:45 to 02:13, when the officer
    leaves. Reserve minutes 73 (from arrival to leaving), but serving 45 in hour 1 and
    13 in hour 2; on duty 45 + 45 and 60 + 13; busy 94 in hour 1 (90 within, 4 over)
    and 26 in hour 2."""
    scenario, plan, inputs, trace = run(reserve_morning(outage("01:30", "01:45")), engine)
    assert trace.reserve_minutes.tolist() == [73.0]
    assert trace.reserve_duty[0][:3].tolist() == [0.0, 45.0, 13.0]
    sums = stage_time_sums(plan, trace, 0)
    assert sums["on_duty"][:3].tolist() == [60.0, 90.0, 73.0]
    assert sums["busy"][1:3].tolist() == [90.0, 26.0]
    assert sums["overtime"][1] == 4.0
    hourly = hourly_kpis(plan, [(inputs, trace)])["desk"]
    assert hourly["utilization"][2] == 26.0 / 73.0
    assert replication_kpis(scenario, plan, inputs, trace) == pytest.approx(
        reference_kpis(scenario, plan, inputs, trace), nan_ok=True)


def test_the_engines_agree_on_reserve_duty_in_the_shock_example():
    scenario = load_scenario(ROOT / "scenarios" / "airport_shock.yaml", ["duration=10h"])
    scenario = scenario.model_copy(update={"stages": {
        name: stage.model_copy(update={"reserve": stage.reserve or _reserve()})
        for name, stage in scenario.stages.items()}})
    plan = make_plan(scenario)
    inputs, ref = drain.replay(scenario, plan, simpy_engine.run, scenario.seed, 0)
    got = fast.run(plan, inputs)
    assert ref.reserve_duty is not None and ref.reserve_duty.sum() > 0
    np.testing.assert_allclose(got.reserve_duty, ref.reserve_duty, rtol=1e-12, atol=1e-9)
    # serving in the counted window is part of the officers' time from arrival to leaving
    assert ref.reserve_duty.sum() <= ref.reserve_minutes.sum() + 1e-9


def _reserve():
    from borderesim.model.events import Reserve
    return Reserve(officers=2, open_above=10, close_below=3, call_in=5)


@pytest.mark.parametrize("engine", list(ENGINES.values()), ids=list(ENGINES))
def test_overload_warnings_read_the_same_time_on_duty(engine):
    """The overload warnings' officers on duty by hour (``overload.duty_hours``) are the
    by-hour KPIs' own: an outage of the one server from 08:00 to 10:00 leaves nobody on
    duty in hours 8 and 9, and a reserve officer adds the hour they served."""
    from borderesim.analysis.outcomes import Outcome
    from borderesim.analysis.overload import duty_hours, lane_hours

    scenario, plan, inputs, trace = run(crossing(events=[outage("08:00", "10:00")]), engine)
    duty = duty_hours(plan, trace.reserve_duty)
    assert duty[0, 8] == duty[0, 9] == 0.0
    assert duty[0, 7] == duty[0, 10] == 60.0
    samples: dict = {}
    replication_kpis(scenario, plan, inputs, trace, samples)
    assert np.array_equal(samples["lane_hours"].duty, duty)
    assert np.array_equal(lane_hours(Outcome(plan, inputs, trace)).duty, duty)

    scenario, plan, inputs, trace = run(reserve_morning(), engine)
    reserve = trace.reserve_duty[0]
    with_reserve = duty_hours(plan, trace.reserve_duty)
    assert with_reserve[0, 1] == 60.0 + 60.0 and reserve.sum() == 60.0
    assert np.array_equal(with_reserve[0], 60.0 + np.where(np.arange(24) == 1, 60.0, 0.0))
