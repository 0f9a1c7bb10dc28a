"""Shocks and agile response against exact answers, on both engines.

Surges, outages, slowdowns and reserve officers (``borderesim/model/events.py``; rules in
``borderesim/testing/semantics.py``), their KPIs (``borderesim/analysis/shocks.py``) and the
bad-input messages.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from borderesim.analysis.shocks import queue_peak, recovery_minutes, shock_kpis
from borderesim.errors import ScenarioError
from borderesim.model.events import occurrences
from borderesim.model.scenario import load_scenario
from borderesim.run.engines import fast, simpy_engine
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample
from borderesim.testing.cases import Case, Stage

from .test_engines_agree import assert_same_trace

ENGINES = {"simpy": simpy_engine.run, "fast": fast.run}


def crossing(**extra) -> dict:
    """One stage of deterministic service; arrivals only from what ``extra`` adds."""
    data = {
        "name": "shock test", "duration": "6h", "replications": 1, "seed": 5,
        "arrivals": {"per_hour": [0] * 23 + [1]},  # none in the 6 hours run
        "stages": {"desk": {"servers": 3,
                            "service": {"distribution": "deterministic", "mean": 4}}},
    }
    data.update(extra)
    return data


def traces(scenario, replication: int = 0):
    """Plan, inputs and the (identical) trace of both engines."""
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed, replication)
    ref, got = simpy_engine.run(plan, inputs), fast.run(plan, inputs)
    assert_same_trace(ref, got)
    np.testing.assert_allclose(ref.reserve_minutes, got.reserve_minutes, atol=1e-9)
    return plan, inputs, got


def test_surge_at_once_leaves_in_batches_of_c_every_d():
    """N = 10 at once at an empty stage of c = 3 servers, d = 4 min: 3, 3, 3, 1 leave
    at 64, 68, 72, 76."""
    scenario = load_scenario(crossing(events=[
        {"kind": "surge", "at": "01:00", "travellers": 10, "over": 0}]))
    _, inputs, trace = traces(scenario)
    assert inputs.n == 10 and np.all(inputs.arrival == 60.0)
    times, counts = np.unique(trace.exit, return_counts=True)
    assert times.tolist() == [64.0, 68.0, 72.0, 76.0]
    assert counts.tolist() == [3, 3, 3, 1]
    assert trace.exit.tolist() == sorted(trace.exit.tolist())  # FIFO by traveller


def periodic(stages, every: float, n: int, service: float, **case) -> Case:
    """``n`` travellers arriving every ``every`` minutes with deterministic service."""
    n_lanes = sum(len(s.lanes) for s in stages)
    return Case(name="periodic", rule="", why="", stages=stages,
                arrival=[k * every for k in range(n)],
                service=[[service] * n_lanes] * n, expected=[], **case)


def waiting_at(trace, t: float) -> int:
    """Number waiting (queued, not started) at stage 0 just after ``t``."""
    entry, start = trace.entry[0], np.where(np.isnan(trace.start[0]), np.inf, trace.start[0])
    return int(np.sum((entry <= t) & (start > t)))


@pytest.mark.parametrize("engine", ENGINES)
def test_outage_builds_the_arrivals_backlog_and_clears_at_mu_minus_lambda(engine):
    """D/D/1, arrivals every 5 min (lambda 0.2/min), service 2 min (mu 0.5/min); outage
    100 to 160. The backlog as it ends is exactly the T * lambda = 12 arrivals at 100,
    105, ..., 155 (the one at 100 comes after the outage starts: capacity changes
    first); from 160 the server works back to back, so after the (m+1)-th start at
    160 + 2m the queue is 12 + (arrivals in [160, 160 + 2m]) - (m + 1), falling at
    1/d - lambda = 0.3 a minute until it clears about 12 / 0.3 = 40 minutes on."""
    case = periodic([Stage()], every=5.0, n=80, service=2.0,
                    outages=[(0, 100.0, 160.0, False)])
    trace = ENGINES[engine](case.plan(), case.inputs())
    backlog = int(np.sum((np.arange(80) * 5.0 >= 100) & (np.arange(80) * 5.0 < 160)))
    assert backlog == 12 == 60 / 5
    # the one served at 100 had arrived then; nobody starts in the outage
    assert not np.any((trace.start[0] > 100) & (trace.start[0] < 160))
    assert waiting_at(trace, 160.0 - 1e-9) == backlog
    m = 0
    while waiting_at(trace, 160.0 + 2 * m) > 0:
        arrived = int(np.sum((np.arange(80) * 5.0 >= 160) & (np.arange(80) * 5.0 <= 160 + 2 * m)))
        # the one starting at 160 + 2m has left the queue
        assert waiting_at(trace, 160.0 + 2 * m) == backlog + arrived - (m + 1)
        m += 1
    clear = 160.0 + 2 * m
    assert abs((clear - 160.0) - backlog / (1 / 2.0 - 1 / 5.0)) <= 2 * 2.0
    # after it clears, back to no waiting at all
    late = trace.start[0] > clear
    np.testing.assert_array_equal(trace.start[0][late], trace.entry[0][late])


@pytest.mark.parametrize("engine", ENGINES)
def test_preempted_outage_restarts_service_in_full(engine):
    case = periodic([Stage()], every=30.0, n=3, service=20.0,
                    outages=[(0, 10.0, 15.0, True)])
    trace = ENGINES[engine](case.plan(), case.inputs())
    assert trace.start[0].tolist() == [15.0, 35.0, 60.0]
    assert trace.end[0].tolist() == [35.0, 55.0, 80.0]


@pytest.mark.parametrize("engine", ENGINES)
def test_slowdown_on_d_d_1_is_exact(engine):
    """Arrivals every 5 min, service 2 min, x3 for starts in [100, 160): the k-th
    traveller from 100 starts at 100 + 6k and waits k minutes while 100 + 6k < 160
    (k <= 9); traveller k = 10 starts at 160 unslowed; then the backlog of 10 - 2 ...
    clears 3 minutes a service."""
    case = periodic([Stage()], every=5.0, n=60, service=2.0,
                    slowdowns=[(0, 100.0, 160.0, 3.0)])
    trace = ENGINES[engine](case.plan(), case.inputs())
    first = 20  # arrives at 100
    for k in range(10):
        i = first + k
        assert trace.start[0, i] == 100.0 + 6 * k
        assert trace.end[0, i] == 100.0 + 6 * k + 6
    assert trace.start[0, first + 10] == 160.0 and trace.end[0, first + 10] == 162.0
    # unslowed again: each later start 2 after the previous end until caught up
    k = first + 11
    while trace.start[0, k] > trace.entry[0, k]:
        assert trace.start[0, k] == trace.end[0, k - 1]
        k += 1
    before = trace.start[0, :first] - trace.entry[0, :first]
    assert np.all(before == 0)


def test_adding_a_surge_changes_nothing_for_the_other_travellers():
    data = crossing(arrivals={"per_hour": 40},
                    classes={"a": {"share": 0.7}, "b": {"share": 0.3, "threat_prevalence": 0.1}},
                    targeting={"strategy": "random", "referral_rate": 0.2})
    data["stages"]["desk"]["service"] = {"distribution": "exponential", "mean": 4}
    base = load_scenario(data)
    shocked = load_scenario({**data, "events": [
        {"kind": "surge", "at": "02:00", "travellers": 50, "over": "10min", "class": "b"},
        {"kind": "surge", "at": "03:00", "travellers": 20, "over": 0}]})
    b = sample(base, make_plan(base), 5, 0)
    s = sample(shocked, make_plan(shocked), 5, 0)
    assert s.n == b.n + 70
    mine = np.isin(s.arrival, b.arrival)
    assert mine.sum() == b.n
    for name in ("arrival", "cls", "threat", "refer", "p_refer_if_threat"):
        np.testing.assert_array_equal(getattr(s, name)[mine], getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(s.service[:, mine], b.service)
    np.testing.assert_array_equal(s.caught[:, mine], b.caught)
    surge = s.arrival[~mine]
    assert np.all(s.cls[(s.arrival >= 120) & (s.arrival <= 130) & ~mine] == 1)
    assert np.sum(surge == 180.0) == 20
    assert np.all(np.diff(s.arrival) >= 0)
    # at equal times profile travellers come first: none tie here, surges keep list order
    tied = np.flatnonzero(s.arrival == 180.0)
    assert np.all(np.diff(tied) == 1)


def test_reserve_is_called_counted_and_agrees():
    data = crossing(arrivals={"per_hour": 60})
    data["stages"]["desk"] = {"servers": 1, "service": {"distribution": "exponential",
                                                         "mean": 1.5},
                              "reserve": {"officers": 2, "open_above": 5, "close_below": 2,
                                          "call_in": "10min"}, "booths": 3}
    data["events"] = [{"kind": "surge", "at": "01:00", "travellers": 60, "over": "5min"}]
    scenario = load_scenario(data)
    plan, inputs, trace = traces(scenario)
    assert 0 < trace.reserve_minutes[0] <= 2 * plan.horizon
    k = shock_kpis(scenario, plan, inputs, trace)
    assert k["reserve_officer_hours"] == pytest.approx(trace.reserve_minutes[0] / 60)
    assert k["desk.queue_peak"] > 5
    # without the reserve the same travellers wait longer and nobody is counted
    data["stages"]["desk"].pop("reserve")
    plain = load_scenario(data)
    p2, i2, t2 = traces(plain)
    np.testing.assert_array_equal(i2.arrival, inputs.arrival)
    assert np.nansum(t2.start[0] - t2.entry[0]) > np.nansum(trace.start[0] - trace.entry[0])
    assert shock_kpis(plain, p2, i2, t2)["reserve_officer_hours"] == 0.0


def test_queue_peak_and_recovery_by_hand():
    entry = np.array([0.0, 1.0, 2.0, 10.0])
    start = np.array([0.0, 5.0, 6.0, 10.0])
    assert queue_peak(entry, start, 0.0) == 2  # 1 and 2 wait together in [2, 5)
    assert queue_peak(np.array([1.0, 5.0]), np.array([5.0, 7.0]), 0.0) == 1  # hand-over
    # one entry a minute; waits of 20 min for entries 100..129, else 0. The p95 of the
    # 30 entries in (t - 30, t] (numpy's linear interpolation: sorted element 27 plus
    # 0.55 of the step to 28) is 20 while 3 or more long waits are in the window, at
    # most 11 with 2: the last minute over 15 is t = 156 (entries 127-129 in it), so
    # the stage has recovered from t = 157, 57 minutes after the shock at 100
    entry = np.arange(0.0, 300.0, 1.0)
    wait = np.where((entry >= 100) & (entry < 130), 20.0, 0.0)
    assert recovery_minutes(entry, wait, 100.0, 300.0, 15.0) == pytest.approx(57.0)
    assert recovery_minutes(entry, np.zeros_like(entry), 100.0, 300.0, 15.0) == 0.0
    assert recovery_minutes(entry, np.full_like(entry, 99.0), 100.0, 300.0, 15.0) == 200.0


def test_flushed_and_detection_split_during_the_shock():
    # 30 an hour, none from 01:00 to 03:00: the surge finds the desk idle, nobody waiting
    data = crossing(arrivals={"per_hour": [30, 0, 0] + [30] * 21},
                    classes={"all": {"share": 1.0, "threat_prevalence": 0.2}})
    data["stages"] = {"primary": {"servers": 1, "flush_above": 3, "detection_probability": 1,
                                  "service": {"distribution": "deterministic", "mean": 1}}}
    data["events"] = [{"kind": "surge", "at": "02:00", "travellers": 40, "over": 0}]
    scenario = load_scenario(data)
    plan, inputs, trace = traces(scenario)
    k = shock_kpis(scenario, plan, inputs, trace)
    # one served; four wait (a traveller is waved through only when more than 3 wait);
    # the other 35 are flushed
    assert k["primary.flushed_in_shock"] == 40 - 5
    assert k["detection_rate.outside"] > 0.9
    assert k["detection_rate.shock"] < 0.5


def test_every_day_repeats_and_day_shifts():
    data = crossing(duration="3d", events=[
        {"kind": "outage", "stage": "desk", "from": "12:00", "to": "13:30", "every": "day"},
        {"kind": "surge", "at": "08:00", "travellers": 5, "day": 2}])
    scenario = load_scenario(data)
    occ = occurrences(scenario.events, scenario.horizon)
    assert [(o.start, o.end) for o in occ if o.index == 0] == [
        (720.0, 810.0), (2160.0, 2250.0), (3600.0, 3690.0)]
    assert [o.start for o in occ if o.index == 1] == [1440.0 + 480.0]
    plan = make_plan(scenario)
    assert plan.capacity(0, 2200.0) == 0 and plan.capacity(0, 2250.0) == 3
    assert plan.server_minutes(0, 0.0, 1440.0) == 3 * (1440 - 90)


BAD_EVENTS = [
    ({"kind": "outage", "stage": "nope", "from": "02:00", "to": "03:00"},
     "events.0.stage: unknown stage 'nope'"),
    ({"kind": "outage", "stage": "desk", "lane": "x", "from": "02:00", "to": "03:00"},
     "events.0.lane: unknown lane 'x'"),
    ({"kind": "slowdown", "stage": "desk", "from": "02:00", "to": "01:00", "factor": 2},
     "events.0: 'to' must be after 'from'"),
    ({"kind": "surge", "at": "10:00", "travellers": -5},
     "events.0.travellers: Input should be greater than or equal to 0"),
    ({"kind": "slowdown", "stage": "desk", "from": "02:00", "to": "03:00", "factor": 0},
     "events.0.factor: Input should be greater than 0"),
    ({"kind": "outage", "stage": "desk", "from": "02:00", "to": "03:00", "day": 2},
     "events.0.from: 02:00 on day 2 is not within the run"),
    ({"kind": "surge", "at": "25:00", "travellers": 5},
     "events.0.at: '25:00' is not a clock time"),
    ({"kind": "quake", "at": "10:00"}, "events.0: unknown kind 'quake'"),
]


@pytest.mark.parametrize(("event", "message"), BAD_EVENTS)
def test_bad_events_get_one_line_naming_the_field(event, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(crossing(events=[event]))
    assert message in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_bad_reserve_and_cli_exit_2(tmp_path):
    data = crossing()
    data["stages"]["desk"]["reserve"] = {"officers": 0, "open_above": 4, "close_below": 1}
    with pytest.raises(ScenarioError, match="stages.desk.reserve.officers"):
        load_scenario(data)
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\narrivals: {per_hour: 5}\nstages:\n  desk: {servers: 1, "
                    "service: {distribution: deterministic, mean: 1}}\nevents:\n"
                    "  - {kind: outage, stage: desk, lane: egate, from: '10:00', to: '11:00'}\n")
    done = subprocess.run([sys.executable, "-m", "borderesim", "validate", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(
        f"{path}: events.0.lane: unknown lane 'egate' of stage 'desk'; lanes are ['desk']")


def test_fast_engine_supports_events_and_reserve():
    from borderesim.run.engines.fast import supports

    data = crossing(events=[{"kind": "surge", "at": "01:00", "travellers": 3}])
    data["stages"]["desk"]["reserve"] = {"officers": 1, "open_above": 4, "close_below": 1}
    assert supports(load_scenario(data)) is None


# --- response policies, the figure ------------------------------------------------------

POLICIES = """
description: test policies
policies:
  none: {}
  reserve:
    stages: {desk: {reserve: {officers: 2, open_above: 3, close_below: 1, call_in: 5min}}}
  flush:
    stages: {desk: {flush_above: 4}}
"""


def shocked_scenario() -> dict:
    data = crossing(arrivals={"per_hour": 30}, replications=3)
    data["stages"]["desk"]["servers"] = 1
    data["stages"]["desk"]["service"] = {"distribution": "exponential", "mean": 1.5}
    data["events"] = [{"kind": "surge", "at": "02:00", "travellers": 30, "over": "5min"},
                      {"kind": "outage", "stage": "desk", "from": "03:00", "to": "03:20"}]
    return data


def test_compare_policies_pairs_the_same_travellers(tmp_path):
    from borderesim.analysis.compare import compare, load_policies

    path = tmp_path / "policies.yaml"
    path.write_text(POLICIES)
    comparison = compare(shocked_scenario(), load_policies(path), engine="fast")
    assert [v.label for v in comparison.variants] == ["none", "reserve", "flush"]
    assert "desk.recovery_min" in comparison.key_kpis
    assert "reserve_officer_hours" in comparison.key_kpis
    arrived = {tuple(r["arrived"] for r in res.per_replication) for res in comparison.results}
    assert len(arrived) == 1
    assert comparison.mean(1, "reserve_officer_hours") > 0
    assert comparison.mean(0, "reserve_officer_hours") == 0
    assert comparison.mean(2, "desk.flushed_in_shock") > 0
    assert comparison.mean(2, "desk.queue_peak") <= 5
    peak = comparison.difference(2, "desk.queue_peak")
    assert peak["mean"] < 0 and peak["ci_high"] < 0
    data = comparison.to_dict()
    assert data["strategies"][1]["changes"]["stages"]["desk"]["reserve"]["officers"] == 2


@pytest.mark.parametrize(("text", "message"), [
    ("policies: {a: {arrivals: {per_hour: 5}}}",
     "policies.a.arrivals: a policy may change only stages and targeting"),
    ("policies: {a: {stages: {desk: {reserve: {officers: -1, open_above: 1, "
     "close_below: 0}}}}}", "policies.a (scenario stages.desk.reserve.officers)"),
    ("strategies: {}", "strategies: unknown field; allowed: policies, description"),
])
def test_bad_policies_get_one_line(tmp_path, text, message):
    from borderesim.analysis.compare import compare, load_policies

    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        compare(shocked_scenario(), load_policies(path), engine="fast")
    assert message in str(err.value)


def test_cli_compare_policies_prints_the_shock_kpis(tmp_path, capsys):
    from borderesim.cli import main

    scenario, policies = tmp_path / "s.yaml", tmp_path / "p.yaml"
    import yaml

    scenario.write_text(yaml.safe_dump(shocked_scenario()))
    policies.write_text(POLICIES)
    assert main(["compare", str(scenario), "--policies", str(policies), "--engine", "fast",
                 "--replications", "2"]) == 0
    out = capsys.readouterr().out
    assert "same travellers for every policy" in out and "desk.recovery_min" in out


def test_profile_and_figure(tmp_path):
    from borderesim.analysis.shocks import profile
    from borderesim.output.plots.shock import plot_shock_response

    scenario = load_scenario(shocked_scenario())
    plan = make_plan(scenario)
    runs = []
    for r in range(2):
        inputs = sample(scenario, plan, scenario.seed, r)
        runs.append((inputs, fast.run(plan, inputs)))
    prof = profile(plan, runs, "desk", bin_minutes=10.0)
    assert prof.queue.shape == prof.wait.shape == (len(prof.edges) - 1,)
    # the time-average number waiting is the waiting minutes over the bin's length
    inputs, trace = runs[0]
    single = profile(plan, [runs[0]], "desk", bin_minutes=plan.horizon)
    begin = np.where(np.isnan(trace.start[0]), plan.run_end, trace.start[0])
    waited = np.nansum(np.minimum(begin, plan.horizon) - np.minimum(trace.entry[0],
                                                                     plan.horizon))
    assert single.queue[0] == pytest.approx(waited / plan.horizon)
    assert prof.queue[12:19].max() > prof.queue[:6].max()  # 02:00-03:10 against 00:00-01:00
    path = plot_shock_response({"$x$ policy": prof}, "desk",
                               occurrences(scenario.events, scenario.horizon),
                               (60.0, 300.0), tmp_path / "f.png", "title with $dollars$")
    assert path.stat().st_size > 10_000


def test_workshop_incident_logic():
    from borderesim.workshop.incident import (
        Incident,
        apply_incidents,
        default_incident,
        incident_event,
        lanes_by_stage,
    )

    scenario = load_scenario(shocked_scenario())
    assert lanes_by_stage(scenario) == {"desk": ["desk"]}
    outage = default_incident(scenario, "outage", 150.0)
    assert incident_event(outage) == {"kind": "outage", "stage": "desk", "from": "02:30",
                                      "to": "03:30", "preempt": False, "day": 1,
                                      "lane": "desk"}
    surge = default_incident(scenario, "surge", 200.0)
    assert surge.travellers == 50
    pressed = apply_incidents(scenario, (outage, surge))
    assert len(pressed.events) == len(scenario.events) + 2
    plan = make_plan(pressed)
    assert plan.capacity(0, 160.0) == 0
    assert apply_incidents(scenario, ()) is scenario
    with pytest.raises(ScenarioError, match=r"incident.0.lane: unknown lane 'gate'"):
        apply_incidents(scenario, (Incident("outage", 60.0, 30.0, "desk", "gate"),))
    with pytest.raises(ScenarioError, match=r"incident.0.at: .* is not within the run"):
        apply_incidents(scenario, (Incident("surge", 600.0, 5.0, travellers=5),))
