"""The region runner's refresh loop, made faster, gives the same results bit for bit.

``reference_replication`` is the runner as it was before (every refresh replayed, up to
the run end, each crossing's routed travellers from the last empty moment): the slow
reference. Every traveller's route, the posted waits, every crossing's trace and every
KPI of :func:`route_replication` must equal it exactly, on both engines, on the example
regions and on small regions built to reach each shortcut (skipped refreshes, the
look-ahead of a distant crossing, a crossing's run over in the drain, surges, outages
with and without pre-emption, both posting rules, probing threats).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from borderesim.analysis.metrics import replication_kpis
from borderesim.analysis.shocks import shock_kpis
from borderesim.run.engines import get_engine
from borderesim.run.plan import make_plan
from borderesim.run.region import load_region, route_replication
from borderesim.run.region.adversary import (
    informed_route,
    threat_route,
    travel_matrix,
    uninformed_route,
)
from borderesim.run.region.kpis import regional_kpis
from borderesim.run.region.runner import (
    CrossingRun,
    RegionReplication,
    _Posting,
    empty_since,
    first_open_stage,
    in_arrival_order,
    lane_mean_service,
    servers_at,
    settled_route,
    up_to,
)
from borderesim.run.region.sampling import (
    crossing_draws,
    crossing_inputs,
    crossing_strategies,
    routed_extra,
    sample_travellers,
)
from borderesim.run.simulate import choose_engine
from tests.conftest import ROOT
from tests.test_region import DESK, crossing, two_stage, write_region

TRACE = ("lane", "entry", "start", "end", "exit", "referred", "threshold")


def posted_wait(plan, trace, t0: float, t1: float, previous: float, rule: str = "served",
                lane_mean: np.ndarray | None = None) -> float:
    """The wait (minutes) a crossing posts at ``t1`` for its posted stage (the runner's,
    before it was made faster).

    ``served``: mean wait of those who started service in ``[t0, t1)`` (``previous``
    when nobody did). ``queue``: the travellers waiting at ``t1`` times their lane's mean
    service time (``lane_mean``, minutes), over the stage's servers on duty (``previous``
    when none is on duty).
    """
    s = first_open_stage(plan)
    start, entry = trace.start[s], trace.entry[s]
    if rule == "queue":
        waiting = (trace.lane[s] >= 0) & (entry < t1) & np.isnan(start)
        servers = sum(plan.capacity(ln, t1) for ln in plan.lanes_of(s))
        if servers == 0:
            return previous
        return float(lane_mean[trace.lane[s][waiting]].sum()) / servers
    mine = (start >= t0) & (start < t1)
    if not mine.any():
        return previous
    return float((start[mine] - entry[mine]).mean())


def reference_replication(region, seed: int, replication: int, engine: str = "fast"
                          ) -> RegionReplication:
    """The region runner before it was made faster (kept as the slow reference)."""
    people = sample_travellers(region, seed, replication)
    names = region.crossing_names
    strategies = crossing_strategies(region)
    plans = [make_plan(region.scenarios[c]) for c in names]
    runs = [get_engine(choose_engine(region.scenarios[c], engine)[0]) for c in names]
    draws = [crossing_draws(region, c, plans[i], strategies[c], people, seed, replication)
             for i, c in enumerate(names)]
    travel = travel_matrix(region)
    uninformed = uninformed_route(region, people)
    naive = uninformed.copy()
    threat = naive.copy()
    chooses = people.fixed < 0
    route = np.where(chooses, -1, people.fixed)
    run_end = region.run_end
    refresh = region.spec.information.refresh
    posting = region.spec.information.posted
    lane_means = [lane_mean_service(region.scenarios[c]) for c in names]
    if people.informed.any():
        edges = np.append(np.arange(0.0, run_end, refresh), run_end)
    else:
        edges = np.array([0.0, run_end])
    posted = np.zeros((len(edges) - 1, len(names)))
    now = np.zeros(len(names))
    since = np.full(len(names), -np.inf)
    for k in range(len(edges) - 1):
        t0, t1 = edges[k], edges[k + 1]
        batch = np.flatnonzero(chooses & (people.depart >= t0) & (people.depart < t1))
        posted[k] = now
        informed = batch[people.informed[batch]]
        naive[informed] = informed_route(travel, people.origin[informed], now,
                                         uninformed[informed])
        threat[batch] = threat_route(region, people, batch, naive[batch], draws)
        route[batch] = np.where(people.threat[batch], threat[batch], naive[batch])
        if k + 2 < len(edges):
            for i in range(len(names)):
                who = in_arrival_order(draws[i], np.flatnonzero(
                    (route == i) & (draws[i].arrival >= since[i])))
                trace = runs[i](up_to(plans[i], float(t1)),
                                crossing_inputs(draws[i], who, seed, replication))
                now[i] = posted_wait(plans[i], trace, t0, t1, now[i], posting, lane_means[i])
                since[i] = empty_since(draws[i].arrival[who], trace.exit, t1, since[i])
    crossings = {}
    for i, c in enumerate(names):
        who = in_arrival_order(draws[i], np.flatnonzero((route == i)
                                                        & (draws[i].arrival < run_end)))
        extra = routed_extra(region, c, strategies[c], people, draws[i],
                             np.isin(np.arange(people.n), who), seed, replication)
        inputs = crossing_inputs(draws[i], who, seed, replication, extra)
        trace = runs[i](plans[i], inputs)
        samples: dict = {}
        kpis = replication_kpis(region.scenarios[c], plans[i], inputs, trace, samples, 10)
        shocks = shock_kpis(region.scenarios[c], plans[i], inputs, trace)
        kpis.update(shocks)
        crossings[c] = CrossingRun(plans[i], who, inputs, trace, kpis, samples, shocks)
    rep = RegionReplication(people, draws, naive, threat, route, posted, edges[:-1], crossings)
    rep.kpis = regional_kpis(region, rep, rep.samples, 10)
    return rep


def same_number(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def assert_identical(new: RegionReplication, ref: RegionReplication) -> None:
    """Every route, posted wait, trace and KPI equal, bit for bit."""
    for name in ("route", "naive", "threat_route", "posted", "refresh_times"):
        a, b = getattr(new, name), getattr(ref, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert new.kpis.keys() == ref.kpis.keys()
    assert all(same_number(new.kpis[k], ref.kpis[k]) for k in ref.kpis), "regional KPIs"
    for c, run in ref.crossings.items():
        mine = new.crossings[c]
        assert np.array_equal(mine.who, run.who), c
        for name in TRACE:
            assert np.array_equal(getattr(mine.trace, name), getattr(run.trace, name),
                                  equal_nan=True), (c, name)
        assert mine.kpis.keys() == run.kpis.keys()
        assert all(same_number(mine.kpis[k], run.kpis[k]) for k in run.kpis), c


@pytest.mark.parametrize("name", ["north", "incident"])
def test_the_example_regions_run_exactly_as_before(name):
    region = load_region(ROOT / "scenarios" / "region" / f"{name}.yaml")
    new = route_replication(region, 2024, 1, "fast")
    assert new.people.informed.sum() > 1000
    assert_identical(new, reference_replication(region, 2024, 1, "fast"))


def test_the_incident_region_runs_exactly_as_before_on_simpy():
    region = load_region(ROOT / "scenarios" / "region" / "incident.yaml")
    assert_identical(route_replication(region, 7, 0, "simpy"),
                     reference_replication(region, 7, 0, "simpy"))


def busy_region(tmp_path, posted: str, behaviour: str, preempt: bool):
    """Two crossings near saturation, one far from every origin (look-ahead), with a
    surge and an outage at ``a`` and a queue-aware rule at ``b``; 3 h and a drain."""
    a = crossing(two_stage(servers=1), {"strategy": "random", "referral_rate": 0.15})
    b = crossing(two_stage(servers=2), {"strategy": "risk_score", "auc": 0.8,
                                        "threshold": 1.0, "per_waiting": 0.2})
    a["stages"]["primary"]["service"] = {"distribution": "exponential", "mean": 0.9}
    path = write_region(
        tmp_path, {"a": a, "b": b}, duration="3h", warmup="20min", drain_cap="2h",
        origins={"x": {"per_hour": [70] * 12 + [40] * 12, "travel": {"a": 5, "b": 25}},
                 "y": {"per_hour": 30, "travel": {"a": 40, "b": 22},
                       "shares": {"a": 0.5, "b": 0.5}}},
        information={"informed_share": 0.5, "refresh": "10min", "posted": posted},
        green_border={"travel": "1h", "detection_probability": 0.2},
        adversary={"behaviour": behaviour, "knowledge": 0.7})
    events = (f"crossings.a.events=[{{kind: surge, at: '01:10', travellers: 40, over: 5min}},"
              f" {{kind: outage, stage: primary, from: '01:33', to: '01:52',"
              f" preempt: {str(preempt).lower()}}}]")
    return load_region(path, [events])


@pytest.mark.parametrize(("posted", "behaviour", "preempt"), [
    ("queue", "displacement", False), ("served", "probing", False),
    ("queue", "naive", True), ("served", "displacement", True)])
def test_a_small_busy_region_runs_exactly_as_before_on_both_engines(tmp_path, posted,
                                                                    behaviour, preempt):
    region = busy_region(tmp_path, posted, behaviour, preempt)
    for engine in ("fast", "simpy"):
        for replication in (0, 1):
            new = route_replication(region, 11, replication, engine)
            assert new.people.informed.sum() > 50 and (new.people.fixed >= 0).sum() == 40
            assert new.posted.max() > 0
            assert_identical(new, reference_replication(region, 11, replication, engine))


@pytest.mark.parametrize("posted", ["queue", "served"])
def test_quiet_periods_and_a_region_without_informed_travellers(tmp_path, posted):
    """Few informed travellers (most refreshes skipped, their posted waits read from the
    full run; a pre-empting outage undoes starts, so its crossing replays every refresh)
    and nobody informed (no refresh at all)."""
    slow = two_stage(servers=3)
    slow["primary"]["service"] = {"distribution": "exponential", "mean": 3}
    path = write_region(
        tmp_path, {"a": crossing(slow), "b": crossing({"desk": {
            "servers": 1, "service": DESK, "detection_probability": 0.5}})},
        duration="4h", warmup="0h",
        origins={"x": {"per_hour": 50, "travel": {"a": 5, "b": 8}}},
        information={"informed_share": 0.03, "refresh": "5min", "posted": posted})
    outage = ("crossings.a.events=[{kind: outage, stage: primary, from: '01:03', to: '01:31',"
              " preempt: true, every: day}, {kind: outage, stage: primary, from: '02:22',"
              " to: '02:41', preempt: true}]")
    for share, events in (("0.03", []), ("0.03", [outage]), ("0.0", [])):
        region = load_region(path, [f"information.informed_share={share}", *events])
        for engine in ("fast", "simpy"):
            assert_identical(route_replication(region, 3, 0, engine),
                             reference_replication(region, 3, 0, engine))


@pytest.mark.parametrize(("mean", "origins"), [
    (1.2, {"x": {"per_hour": 90, "travel": {"a": 4, "b": 6, "c": 9},
                 "shares": {"a": 0.2, "b": 0.5, "c": 0.3}},
           "y": {"per_hour": 40, "travel": {"a": 9, "b": 5, "c": 4}}}),
    # uninformed, everybody goes to c, 30 min away; informed, they weigh a against b
    (3.0, {"y": {"per_hour": 15, "travel": {"a": 4, "b": 6, "c": 30}, "shares": {"c": 1.0}}}),
])
def test_three_crossings_close_together_run_exactly_as_before(tmp_path, mean, origins):
    """Informed travellers between three crossings a few minutes apart: each posted wait
    can move them (the bounds settle only some periods)."""
    desk = {"desk": {"servers": 1, "service": {"distribution": "exponential", "mean": mean},
                     "detection_probability": 0.3}}
    path = write_region(
        tmp_path, {"a": crossing(desk), "b": crossing(desk), "c": crossing(two_stage())},
        duration="3h", warmup="0h", origins=origins,
        information={"informed_share": 0.9, "refresh": "5min"})
    region = load_region(path)
    for engine in ("fast", "simpy"):
        new = route_replication(region, 5, 0, engine)
        assert (new.naive != uninformed_route(region, new.people)).sum() > 20
        assert_identical(new, reference_replication(region, 5, 0, engine))


def test_servers_at_is_plan_capacity_summed_over_the_stage(tmp_path):
    region = busy_region(tmp_path, "queue", "naive", True)
    plan = make_plan(region.scenarios["a"])
    times = np.arange(0.0, plan.run_end, 7.5)
    s = first_open_stage(plan)
    expected = [sum(plan.capacity(ln, t) for ln in plan.lanes_of(s)) for t in times]
    assert servers_at(plan, s, times).tolist() == expected
    assert 0 in expected  # the outage


def test_settled_route_is_the_informed_choice_at_every_wait_in_the_box():
    travel = np.array([[4.0, 6.0, 30.0], [9.0, 5.0, 4.0]])
    rng = np.random.default_rng(1)
    settled = unsettled = 0
    for _ in range(1000):
        origin = rng.integers(0, 2, 5)
        uninformed = rng.integers(0, 3, 5)
        low = rng.choice([0.0, 1.0, 1.97, 2.0, 2.03, 26.0], 3)
        high = low + rng.choice([0.0, 0.03, 0.5, 1.97, 2.0, 2.03, 5.0, 30.0], 3)
        choice = settled_route(travel, origin, low, high, uninformed)
        grid = [np.array([a, b, c]) for a in np.linspace(low[0], high[0], 9)
                for b in np.linspace(low[1], high[1], 9) for c in (low[2], high[2])]
        choices = {tuple(informed_route(travel, origin, p, uninformed)) for p in grid}
        if choice is None:
            unsettled += 1
            continue
        settled += 1
        assert choices == {tuple(choice)}
    assert settled > 50 and unsettled > 50
    # a tie within the box is never settled, nor a choice that flips at its edge
    # (from the first origin: a at 4 min, b at 6 min)
    one, b, c = np.array([0]), np.array([1]), np.array([2])
    assert settled_route(travel, one, np.zeros(3), np.array([2.0, 0, 0]), b) is None
    assert settled_route(travel, one, np.zeros(3), np.array([1.99, 0, 0]), b).tolist() == [0]
    assert settled_route(travel, one, np.zeros(3), np.array([2.1, 0, 0]), c) is None
    assert settled_route(travel, one, np.zeros(3), np.array([1.99, 0, 0]), c).tolist() == [0]
    assert settled_route(travel, one, np.zeros(3), np.array([2.0, 0, 0]), one).tolist() == [0]


def test_the_bound_on_a_posted_wait_holds_and_can_be_tight(tmp_path, monkeypatch):
    region = busy_region(tmp_path, "queue", "naive", False)
    seen = []
    bound = _Posting.bound

    def spy(self, k, route, edges):
        value = bound(self, k, route, edges)
        seen.append((k, self.index, value))
        return value

    monkeypatch.setattr(_Posting, "bound", spy)
    rep = route_replication(region, 11, 0, "fast")
    ratio = np.array([rep.posted[k, i] / b for k, i, b in seen if b])
    assert len(ratio) > 20
    assert ratio.max() <= 1.0 and ratio.max() > 0.75
