"""Shocks in a region (issue 20): each crossing's shock KPIs, surges in a crossing's own
file, and probing a queue-aware rule at a quiet time."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

from borderesim.analysis.shocks import shock_kpis
from borderesim.cli import main
from borderesim.model.scenario import load_scenario
from borderesim.run.engines import get_engine
from borderesim.run.plan import make_plan
from borderesim.run.region import GREEN, load_region, route_replication, simulate_region
from borderesim.run.region.kpis import crossing_shocks, shock_name
from borderesim.run.region.sampling import crossing_draws, crossing_strategies, sample_travellers
from borderesim.run.sampling import stream
from borderesim.run.simulate import simulate
from tests.conftest import ROOT
from tests.test_region import DESK, crossing, one_origin, two_stage, write_region

RATE, SHARE_A = 100.0, 0.6
"""Departures per hour from the one origin, and the share of them going to crossing a."""
OUTAGE = {"kind": "outage", "stage": "desk", "from": "02:00", "to": "02:30"}
SURGE = {"kind": "surge", "at": "03:00", "travellers": 80, "over": "10min"}


def desk_crossing(events: list[dict] | None = None, servers: int = 2) -> dict:
    """One desk (exponential 1 min) with a 1 % threat class; its events, if any."""
    out = crossing({"desk": {"servers": servers, "service": DESK,
                             "detection_probability": 0.5}})
    if events:
        out["events"] = events
    return out


def thinned(tmp_path, a_events=None, b_events=None, **fields):
    """Crossings a and b fed by one origin with fixed shares, nobody informed, no travel:
    a's arrivals are Poisson at ``SHARE_A * RATE`` per hour, a thinning of the origin's."""
    data = {"duration": "6h", "warmup": "1h", "replications": 4, "seed": 11,
            "origins": one_origin(RATE, {"a": 0, "b": 0}, {"a": SHARE_A, "b": 1 - SHARE_A}),
            "information": {"informed_share": 0}}
    data.update(fields)
    return write_region(tmp_path, {"a": desk_crossing(a_events), "b": desk_crossing(b_events)},
                        **data)


def single(tmp_path, region_path, name: str = "a"):
    """Crossing ``name`` as a single-crossing scenario with the region's run window and
    its share of the region's demand."""
    region = yaml.safe_load(region_path.read_text())
    return load_scenario(tmp_path / f"{name}.yaml", [
        f"duration={region['duration']}", f"warmup={region['warmup']}",
        f"arrivals.per_hour={RATE * SHARE_A}", f"seed={region['seed']}"])


# ------------------------------------------------------------------- shock KPIs per crossing


def test_a_crossings_shock_kpis_are_those_of_the_single_crossing_run(tmp_path):
    path = thinned(tmp_path, a_events=[OUTAGE])
    region = load_region(path)
    alone = single(tmp_path, path)
    plan = make_plan(alone)
    res = simulate_region(region, keep_runs=True)
    rows = []
    for rep in res.runs:
        run = rep.crossings["a"]
        # the single crossing's own run on the travellers the region sent there
        trace = get_engine("fast")(plan, run.inputs)
        expected = shock_kpis(alone, plan, run.inputs, trace)
        assert expected["desk.queue_peak"] > 20  # the outage builds a queue
        assert run.shocks == expected
        assert {k: run.kpis[k] for k in expected} == expected
        rows.append(expected)
    for name in rows[0]:  # summarised across replications as every regional KPI
        mean = float(np.mean([r[name] for r in rows]))
        assert res.kpis[shock_name("a", name)]["mean"] == pytest.approx(mean, abs=1e-12)
        assert res.crossings["a"][name]["mean"] == pytest.approx(mean, abs=1e-12)
    assert crossing_shocks(region, res.kpis)["a"].keys() == rows[0].keys()
    # crossing b has no events: no shock KPIs anywhere
    assert res.runs[0].crossings["b"].shocks == {}
    assert not any(k.startswith("region.route.b.") and "queue_peak" in k for k in res.kpis)
    assert "desk.queue_peak" not in res.crossings["b"] and "b" not in crossing_shocks(
        region, res.kpis)


def test_a_thinned_crossing_has_the_single_crossings_shock_kpis_in_distribution(tmp_path):
    """The region's a is fed by Poisson(SHARE_A * RATE): the single crossing with that
    demand (its own draws) gives the same shock KPIs within sampling error."""
    path = thinned(tmp_path, a_events=[OUTAGE], replications=30)
    res = simulate_region(load_region(path))
    alone = simulate(single(tmp_path, path), engine="fast", replications=30, seed=99)
    for name in ("desk.queue_peak", "desk.recovery_min", "detection_rate.shock"):
        mine, theirs = res.kpis[shock_name("a", name)], alone.kpis[name]
        se = math.hypot(mine["ci_high"] - mine["mean"], theirs["ci_high"] - theirs["mean"]) / 2
        assert abs(mine["mean"] - theirs["mean"]) <= 3 * se + 1e-9, (name, mine, theirs)
    assert res.kpis[shock_name("a", "desk.queue_peak")]["mean"] > 25


def test_shock_kpis_reach_run_compare_report_and_sweep(tmp_path, capsys):
    path = thinned(tmp_path, a_events=[OUTAGE], replications=2)
    assert main(["run", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "region.route.a.desk.queue_peak" in out["kpis"]
    assert "desk.recovery_min" in out["crossings"]["a"]
    assert "desk.queue_peak" not in out["crossings"]["b"]
    assert main(["run", str(path)]) == 0
    text = capsys.readouterr().out
    table = text[text.index("Shocks at each crossing"):]
    assert "desk.queue_peak" in table and "travellers" in table and "\nb " not in table
    # compare: paired differences of the shock KPIs (a longer outage raises the peak)
    variants = tmp_path / "variants.yaml"
    longer = [dict(OUTAGE, to="03:00")]
    variants.write_text(yaml.safe_dump({"variants": {"as_is": {}, "again": {},
                                                     "longer": {"crossings.a.events": longer}}},
                                       sort_keys=False))
    assert main(["compare", str(path), "--variants", str(variants), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["variants"]
    peak = "region.route.a.desk.queue_peak"
    assert data["again"]["difference"][peak]["mean"] == 0
    assert data["longer"]["difference"][peak]["mean"] > 0
    assert main(["compare", str(path), "--variants", str(variants)]) == 0
    text = capsys.readouterr().out
    assert "Shocks at each crossing" in text and "longer − as_is" in text
    # the report shows them with the numbers of `run --json`
    page = tmp_path / "r.html"
    assert main(["report", str(path), "-o", str(page)]) == 0
    html = page.read_text()
    assert '<section id="region-shocks">' in html and "an outage at desk 02:00–02:30" in html
    mean = out["kpis"][peak]["mean"]
    assert f'data-kpi="{peak}" data-mean="{json.dumps(mean)}"' in html
    # a sweep's rows carry them, replication by replication as `run`
    import pandas as pd

    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"scenario": "region.yaml", "replications": 2,
                                     "grid": {"information.informed_share": [0.0]}}))
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "s"), "--no-progress"]) == 0
    df = pd.read_parquet(tmp_path / "s" / "results.parquet").sort_values("replication")
    res = simulate_region(load_region(path))
    assert list(df[peak]) == [k[peak] for k in res.per_replication]


def test_a_region_without_events_has_an_empty_shock_section(tmp_path):
    from borderesim.output.report.region import build_region, shocks

    report = build_region(thinned(tmp_path), engine="fast", replications=1)
    section = shocks(report)
    assert section.id == "region-shocks" and not section.tables
    assert "no shock KPIs" in section.paragraphs[0]


def test_the_incident_example_shows_each_crossings_shock_kpis(capsys):
    path = ROOT / "scenarios" / "region" / "incident.yaml"
    assert main(["run", str(path), "--replications", "1"]) == 0
    text = capsys.readouterr().out
    table = text[text.index("Shocks at each crossing"):]
    rows = {tuple(line.split()[:2]) for line in table.splitlines()}
    for c in ("north", "east"):
        assert (c, "primary.queue_peak") in rows and (c, "detection_rate.shock") in rows


# ------------------------------------------------------------------ surges at a crossing


def test_a_surge_arrives_at_its_crossing_and_is_counted(tmp_path):
    calm = load_region(thinned(tmp_path))
    surge = load_region(thinned(tmp_path, a_events=[SURGE]))
    for r in range(2):
        base, more = route_replication(calm, 3, r), route_replication(surge, 3, r)
        extra = more.people.fixed >= 0
        assert extra.sum() == 80 and np.all(more.people.fixed[extra] == 0)
        assert np.all(more.route[extra] == 0)  # chose a, whatever the shares
        # drawn from the surge's own streams, keyed by crossing, event and day
        u = stream(3, r, "crossing.a.surge.0.1.arrivals").random(80)
        assert np.array_equal(more.people.depart[extra], 180 + np.sort(u) * 10)
        # the origin's travellers, and what each would meet anywhere, are unchanged
        n = base.people.n
        assert more.people.n_origin == n
        for field in ("depart", "cls", "threat", "u_route"):
            assert np.array_equal(getattr(more.people, field)[:n], getattr(base.people, field))
        assert np.array_equal(more.route[:n], base.route)
        for i in range(2):
            d0, d1 = base.draws[i], more.draws[i]
            assert np.array_equal(d1.service[:, :n], d0.service)
            assert np.array_equal(d1.caught[:, :n], d0.caught)
            assert np.array_equal(d1.decision.refer[:n], d0.decision.refer)
        # b's travellers meet exactly what they met without the surge
        b0, b1 = base.crossings["b"], more.crossings["b"]
        assert np.array_equal(b0.who, b1.who)
        assert np.array_equal(b0.trace.exit, b1.trace.exit, equal_nan=True)
        assert b1.shocks == {}
        # a counts 80 more arrivals (all in the counted window), and so does the region
        a0, a1 = base.crossings["a"], more.crossings["a"]
        assert a1.kpis["arrived"] == a0.kpis["arrived"] + 80
        assert more.kpis["region.arrivals_per_hour"] == pytest.approx(
            base.kpis["region.arrivals_per_hour"] + 80 / 6)  # 6 counted hours
        # and its shock KPIs see it (a surge alone makes a shock window)
        assert a1.shocks["desk.queue_peak"] >= 40 > a0.kpis["desk.wait_mean"]
        assert more.kpis["region.route.a.desk.queue_peak"] == a1.shocks["desk.queue_peak"]
        assert a1.shocks["desk.flushed_in_shock"] == 0


def test_a_surge_at_one_crossing_leaves_the_other_crossings_surge_draws_alone(tmp_path):
    both = load_region(thinned(tmp_path, a_events=[SURGE], b_events=[SURGE]))
    only_b = load_region(thinned(tmp_path, b_events=[SURGE]))
    p, q = sample_travellers(both, 2, 0), sample_travellers(only_b, 2, 0)
    b_p, b_q = p.fixed == 1, q.fixed == 1
    for field in ("depart", "cls", "threat"):
        assert np.array_equal(getattr(p, field)[b_p], getattr(q, field)[b_q])
    strategies = crossing_strategies(both)
    plan = make_plan(both.scenarios["b"])
    dp = crossing_draws(both, "b", plan, strategies["b"], p, 2, 0)
    dq = crossing_draws(only_b, "b", plan, strategies["b"], q, 2, 0)
    assert np.array_equal(dp.service[:, b_p], dq.service[:, b_q])
    assert np.array_equal(dp.caught[:, b_p], dq.caught[:, b_q])
    # the same surge at a draws from a's streams, not b's
    assert not np.array_equal(p.depart[p.fixed == 0], p.depart[b_p])
    # the a surge's travellers never reach b
    assert np.all(np.isnan(dp.arrival[p.fixed == 0]))


def test_a_surge_class_and_threats_count_in_the_region(tmp_path):
    classes = {"coach": {"share": 0.1, "threat_prevalence": 0.5},
               "car": {"share": 0.9, "threat_prevalence": 0.0}}
    path = write_region(
        tmp_path, {"a": crossing({"desk": {"servers": 3, "service": DESK,
                                           "detection_probability": 0.5}}, classes=classes),
                   "b": crossing({"desk": {"servers": 3, "service": DESK,
                                           "detection_probability": 0.5}}, classes=classes)},
        origins=one_origin(60, {"a": 10, "b": 10}, {"a": 0.5, "b": 0.5}), duration="6h")
    region = load_region(path, ["crossings.a.events=[{kind: surge, at: '03:00', "
                                "travellers: 200, over: 20min, class: coach}]"])
    rep = route_replication(region, 1, 0)
    extra = rep.people.fixed >= 0
    assert np.all(rep.people.cls[extra] == list(region.classes).index("coach"))
    assert rep.people.threat[extra].mean() == pytest.approx(0.5, abs=0.15)
    calm = route_replication(load_region(path), 1, 0)
    assert rep.kpis["region.threats_per_day"] == pytest.approx(
        calm.kpis["region.threats_per_day"] + 200 * 0.5 / 6 * 24)
    assert rep.kpis["region.threats"] == calm.kpis["region.threats"] + \
        rep.people.threat[extra].sum()
    # surge threats do not choose a route: nothing displaced, all on route a
    assert rep.kpis["region.displacement_share"] == 0


def test_engines_agree_traveller_by_traveller_with_a_surge(tmp_path):
    path = write_region(
        tmp_path, {"a": crossing(two_stage(servers=1), {"strategy": "random",
                                                        "referral_rate": 0.1}),
                   "b": crossing(two_stage(servers=2), {"strategy": "risk_score", "auc": 0.8,
                                                        "threshold": 1.0,
                                                        "per_waiting": 0.2})},
        duration="4h", warmup="0h",
        origins={"x": {"per_hour": 100, "travel": {"a": 5, "b": 12}}},
        information={"informed_share": 0.6, "refresh": "10min"},
        green_border={"travel": "1h", "detection_probability": 0.2},
        adversary={"behaviour": "displacement", "knowledge": 0.5})
    region = load_region(path, [
        "crossings.a.events=[{kind: surge, at: '01:00', travellers: 60, over: 5min}]",
        "crossings.b.events=[{kind: surge, at: '01:30', travellers: 40, over: 0, every: day},"
        " {kind: outage, stage: primary, from: '02:00', to: '02:20'}]"])
    fast = route_replication(region, 9, 0, "fast")
    slow = route_replication(region, 9, 0, "simpy")
    assert (fast.people.fixed >= 0).sum() == 100
    assert np.array_equal(fast.route, slow.route)
    assert np.array_equal(fast.posted, slow.posted)
    for c in region.crossing_names:
        f, s = fast.crossings[c].trace, slow.crossings[c].trace
        for name in ("lane", "entry", "start", "end", "exit", "referred", "threshold"):
            assert np.array_equal(getattr(f, name), getattr(s, name), equal_nan=True), name
        assert fast.crossings[c].shocks == pytest.approx(slow.crossings[c].shocks)
    assert fast.kpis == pytest.approx(slow.kpis, nan_ok=True)
    # informed drivers see the surge in the posted waits and turn to b while it lasts
    k = np.searchsorted(fast.refresh_times, 70.0)
    assert fast.posted[k, 0] > fast.posted[k - 2, 0] + 5


def test_a_surge_at_equal_times_comes_after_the_origins_travellers(tmp_path):
    path = thinned(tmp_path, a_events=[dict(SURGE, over=0)])
    rep = route_replication(load_region(path), 0, 0)
    run = rep.crossings["a"]
    at = run.inputs.arrival == 180.0
    assert at.sum() == 80
    assert np.all(run.who[at] >= rep.people.n_origin)
    assert np.all(np.diff(run.who[at]) > 0)  # in their own order


# ---------------------------------------------------------------- probing at a quiet time


def test_probing_a_queue_aware_rule_is_done_at_a_quiet_time(tmp_path):
    """A prober learns its referral at an empty queue (``score >= threshold``): it avoids
    every crossing where that refers it, however long the queue it would meet; and a
    prober that passed is never referred, since the threshold only rises with the queue,
    so detection on the crossings' routes is exactly 0."""
    aware = {"strategy": "risk_score", "auc": 0.9, "threshold": 1.0, "per_waiting": 0.5}
    cross = crossing(two_stage(primary=0.0, secondary=0.8, servers=1), aware)
    path = write_region(
        tmp_path, {"a": cross, "b": cross}, replications=3,
        origins=one_origin(150, {"a": 10, "b": 20}, {"a": 0.5, "b": 0.5}),
        green_border={"travel": "2h", "detection_probability": 0.3},
        adversary={"behaviour": "probing", "knowledge": 1.0})
    region = load_region(path)
    spared = 0
    for r in range(3):
        rep = route_replication(region, 5, r)
        refused = np.stack([d.score >= 1.0 for d in rep.draws], axis=1)[:rep.people.n_origin]
        green = rep.threat_route == 2
        assert np.array_equal(green, refused.all(axis=1))
        for i, run in enumerate(rep.crossings.values()):
            assert not refused[rep.threat_route == i, i].any()
            threats = run.inputs.threat
            assert not run.trace.referred[threats].any()
            spared += run.kpis["queue_aware_spared"]
        for c in "ab":
            assert rep.kpis[f"region.route.{c}.detection_rate"] == 0.0
    assert spared > 0  # the queues were long enough to spare some referrals


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("event", "field"), [
    ({"kind": "outage", "stage": "gate", "from": "02:00", "to": "03:00"}, "events.0.stage"),
    ({"kind": "surge", "at": "02:00", "travellers": 5, "class": "vip"}, "events.0.class"),
    ({"kind": "surge", "at": "25:00", "travellers": 5}, "events.0.at"),
])
def test_a_bad_event_in_a_crossing_file_gets_one_line(tmp_path, capsys, event, field):
    path = thinned(tmp_path, b_events=[event])
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "b.yaml") in err[0] and field in err[0], err
    assert "Traceback" not in err[0]


def test_a_region_with_a_surge_too_big_for_memory_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BORDERESIM_MEMORY_LIMIT", "50M")
    path = thinned(tmp_path)
    assert main(["run", str(path), "--replications", "1"]) == 0
    capsys.readouterr()
    huge = "crossings.b.events=[{kind: surge, at: '02:00', travellers: 2000000}]"
    assert main(["run", str(path), "--set", huge]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}: origins:" in err[0] and "a surge's travellers" in err[0]


def test_knowing_threats_never_displace_a_surges_travellers(tmp_path):
    path = thinned(tmp_path, a_events=[SURGE], adversary={"behaviour": "displacement",
                                                          "knowledge": 1.0},
                   green_border={"travel": 0, "detection_probability": 0.0})
    rep = route_replication(load_region(path), 4, 0)
    extra = rep.people.fixed >= 0
    assert np.all(rep.threat_route[extra] == 0)
    assert np.all(rep.threat_route[~extra] == 2)  # everyone else would take the green border
    assert GREEN in load_region(path).routes
