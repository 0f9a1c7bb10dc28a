"""A region of crossings (issue 20): exact answers for routing, information and adversaries."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from borderesim.analysis.theory import mg1_mean_wait, mmc_mean_wait
from borderesim.cli import main
from borderesim.run.plan import make_plan
from borderesim.run.region import GREEN, load_region, route_replication, simulate_region
from borderesim.run.region.sampling import crossing_draws, crossing_strategies, sample_travellers
from tests.conftest import ROOT

DESK = {"distribution": "exponential", "mean": 1}


def crossing(stages: dict, targeting: dict | None = None, classes: dict | None = None) -> dict:
    """A crossing scenario (its arrivals are replaced in a region)."""
    out = {"name": "crossing", "arrivals": {"per_hour": 1},
           "classes": classes or {"all": {"share": 1.0, "threat_prevalence": 0.01}},
           "stages": stages}
    if targeting is not None:
        out["targeting"] = targeting
    return out


def two_stage(primary: float = 0.1, secondary: float = 0.9, servers: int = 4) -> dict:
    return {"primary": {"servers": servers, "service": {"distribution": "exponential",
                                                        "mean": 0.5},
                        "detection_probability": primary},
            "secondary": {"visits": "referred", "servers": servers, "service": DESK,
                          "detection_probability": secondary}}


def write_region(tmp_path, crossings: dict[str, dict], **fields):
    """Write the crossing files and a region file naming them; return the region's path."""
    for name, sc in crossings.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(sc))
    data = {"name": "test region", "duration": "12h", "warmup": "1h", "replications": 3,
            "seed": 5, "crossings": {n: {"scenario": f"{n}.yaml"} for n in crossings}}
    data.update(fields)
    path = tmp_path / "region.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def one_origin(per_hour: float = 60, travel: dict | None = None, shares: dict | None = None):
    origin = {"per_hour": per_hour, "travel": travel or {"a": 10, "b": 20}}
    if shares is not None:
        origin["shares"] = shares
    return {"town": origin}


# ---------------------------------------------------------------------------- queues


def test_fixed_shares_give_thinned_poisson_queues(tmp_path):
    """informed_share 0: each crossing is the single-crossing model fed by thinned
    Poisson demand (Erlang-C at one, Pollaczek-Khinchine at the other)."""
    lognormal = {"distribution": "lognormal", "mean": 0.75, "cv": 0.5}
    path = write_region(
        tmp_path,
        {"a": crossing({"desk": {"servers": 2, "service": DESK}}),
         "b": crossing({"desk": {"servers": 1, "service": lognormal}})},
        duration="4d", warmup="1d", replications=10,
        origins=one_origin(120, {"a": 5, "b": 30}, {"a": 0.6, "b": 0.4}))
    region = load_region(path)
    res = simulate_region(region)
    lam_a, lam_b = 2.0 * 0.6, 2.0 * 0.4  # per minute
    theory = {"a": mmc_mean_wait(lam_a, 1.0, 2),
              "b": mg1_mean_wait(lam_b, *region.scenarios["b"].stages["desk"].service.moments())}
    for c, rate in (("a", lam_a), ("b", lam_b)):
        ci = res.crossings[c]["desk.wait_mean"]
        assert ci["ci_low"] <= theory[c] <= ci["ci_high"], (c, theory[c], ci)
        arr = res.crossings[c]["arrivals_per_hour"]
        assert arr["ci_low"] <= rate * 60 <= arr["ci_high"], (c, arr)
    assert res.mean("region.displacement_share") == 0.0


def test_no_shares_means_the_nearest_crossing(tmp_path):
    path = write_region(tmp_path, {"a": crossing({"desk": {"servers": 2, "service": DESK}}),
                                   "b": crossing({"desk": {"servers": 2, "service": DESK}})},
                        origins=one_origin(30, {"a": 40, "b": 15}))
    rep = route_replication(load_region(path), 1, 0)
    assert rep.crossings["a"].who.size == 0 and rep.crossings["b"].who.size > 0


def _identical_pair(tmp_path, share: float):
    return write_region(
        tmp_path, {"a": crossing({"desk": {"servers": 2, "service": DESK}}),
                   "b": crossing({"desk": {"servers": 2, "service": DESK}})},
        duration="1d", warmup="3h", replications=8,
        origins=one_origin(216, {"a": 0, "b": 0}, {"a": 0.5, "b": 0.5}),
        information={"informed_share": share, "refresh": "1min"})


def test_posted_waits_even_out_two_identical_crossings(tmp_path):
    res = simulate_region(load_region(_identical_pair(tmp_path, 1.0)))
    a, b = (res.crossings[c]["wait_mean"] for c in "ab")
    assert a["ci_low"] <= b["mean"] <= a["ci_high"] and b["ci_low"] <= a["mean"] <= b["ci_high"]
    # paired against informed_share 0 (the random split) on the same travellers
    saving = res.kpis["region.information_time_saving"]
    assert saving["ci_low"] > 0, saving
    split = simulate_region(load_region(_identical_pair(tmp_path, 0.0)))
    assert res.mean("region.wait_mean") < split.mean("region.wait_mean")
    assert res.mean("region.wait_mean") + saving["mean"] == pytest.approx(
        split.mean("region.wait_mean"))


def test_changing_information_changes_no_draw(tmp_path):
    """Common random numbers: who travels and what they would meet do not depend on the
    information, the shares or the adversary."""
    region = load_region(_identical_pair(tmp_path, 0.3))
    other = load_region(_identical_pair(tmp_path, 0.9))
    p, q = sample_travellers(region, 4, 1), sample_travellers(other, 4, 1)
    for name in ("depart", "cls", "threat", "knowing", "u_route"):
        assert np.array_equal(getattr(p, name), getattr(q, name))
    assert p.informed.sum() < q.informed.sum()
    plan = make_plan(region.scenarios["a"])
    da = crossing_draws(region, "a", plan, None, p, 4, 1)
    db = crossing_draws(other, "a", plan, None, q, 4, 1)
    assert np.array_equal(da.service, db.service)


@pytest.mark.parametrize("posted", ["queue", "served"])
def test_engines_agree_traveller_by_traveller_with_informed_travellers(tmp_path, posted):
    path = write_region(
        tmp_path, {"a": crossing(two_stage(servers=1), {"strategy": "random",
                                                        "referral_rate": 0.1}),
                   "b": crossing(two_stage(servers=2), {"strategy": "risk_score", "auc": 0.8,
                                                        "threshold": 1.0,
                                                        "per_waiting": 0.2})},
        duration="5h", warmup="0h",
        origins={"x": {"per_hour": 100, "travel": {"a": 5, "b": 12}},
                 "y": {"per_hour": 60, "travel": {"a": 9, "b": 3},
                       "shares": {"a": 0.3, "b": 0.7}}},
        information={"informed_share": 0.6, "refresh": "10min", "posted": posted},
        green_border={"travel": "1h", "detection_probability": 0.2},
        adversary={"behaviour": "displacement", "knowledge": 0.5})
    region = load_region(path)
    fast = route_replication(region, 9, 0, "fast")
    slow = route_replication(region, 9, 0, "simpy")
    assert fast.people.informed.sum() > 100
    assert np.array_equal(fast.route, slow.route)
    assert np.array_equal(fast.posted, slow.posted)
    assert fast.posted.max() > 0
    for c in region.crossing_names:
        f, s = fast.crossings[c].trace, slow.crossings[c].trace
        for name in ("lane", "entry", "start", "end", "exit", "referred", "threshold"):
            assert np.array_equal(getattr(f, name), getattr(s, name), equal_nan=True), name
    assert fast.kpis == pytest.approx(slow.kpis, nan_ok=True)
    # exact: the posted waits are what the final full run shows at each refresh
    for i, run in enumerate(fast.crossings.values()):
        entry, start, lane = run.trace.entry[0], run.trace.start[0], run.trace.lane[0]
        value = 0.0
        for k, t in enumerate(fast.refresh_times[1:], start=1):
            if posted == "served":
                mine = (start >= t - 600 / 60) & (start < t)
                value = float((start - entry)[mine].mean()) if mine.any() else value
            else:
                waiting = (lane >= 0) & (entry < t) & ~(start < t)
                servers = run.plan.capacity(0, t)
                value = 0.5 * waiting.sum() / servers  # primary: exponential, mean 0.5 min
            assert fast.posted[k, i] == pytest.approx(value, abs=1e-9), (k, i)


# ---------------------------------------------------------------------------- adversaries

GREEN_P = 0.3


def _displacement(tmp_path, green: float, knowledge: float = 1.0, behaviour="displacement"):
    # a: primary 0.1, secondary 0.9 for half the travellers -> 1 - 0.9 * (1 - 0.5 * 0.9)
    # b: the same stages, 5 % referred -> 1 - 0.9 * (1 - 0.05 * 0.9) = 0.1405
    path = write_region(
        tmp_path, {"a": crossing(two_stage(), {"strategy": "random", "referral_rate": 0.5}),
                   "b": crossing(two_stage(), {"strategy": "random", "referral_rate": 0.05})},
        origins=one_origin(60, {"a": 10, "b": 20}, {"a": 0.7, "b": 0.3}),
        green_border={"travel": "2h", "detection_probability": green},
        adversary={"behaviour": behaviour, "knowledge": knowledge})
    return load_region(path)


@pytest.mark.parametrize(("green", "route"), [(GREEN_P, "b"), (0.05, GREEN)])
def test_knowing_threats_take_the_least_watched_route(tmp_path, green, route):
    best = min(1 - 0.9 * (1 - 0.05 * 0.9), green)
    res = simulate_region(_displacement(tmp_path, green))
    for k in res.per_replication:
        assert k["region.detection_rate"] == pytest.approx(best, abs=1e-12)
        assert k[f"region.route.{route}.threat_share"] == pytest.approx(1.0)
    # under `naive` the same threats split as everyone does and are caught more often
    naive = simulate_region(_displacement(tmp_path, green, behaviour="naive"))
    assert naive.mean("region.detection_rate") > best + 0.1
    assert naive.mean("region.displacement_share") == 0.0
    assert res.mean("region.displacement_share") > 0.6
    half = simulate_region(_displacement(tmp_path, green, knowledge=0.5))
    assert best < half.mean("region.detection_rate") < naive.mean("region.detection_rate")


def test_displaced_threats_really_travel_there(tmp_path):
    region = _displacement(tmp_path, GREEN_P)
    rep = route_replication(region, 2, 0)
    threats = np.flatnonzero(rep.people.threat)
    assert threats.size > 0
    assert np.all(rep.route[threats] == 1)  # crossing b
    innocent = ~rep.people.threat
    assert np.mean(rep.route[innocent] == 0) == pytest.approx(0.7, abs=0.05)


def _probing(tmp_path, targeting: dict, classes: dict | None = None, primary: float = 0.0):
    cross = crossing(two_stage(primary=primary, secondary=0.8, servers=6), targeting, classes)
    path = write_region(
        tmp_path, {"a": cross, "b": cross},
        origins=one_origin(60, {"a": 10, "b": 20}, {"a": 0.5, "b": 0.5}),
        green_border={"travel": "2h", "detection_probability": GREEN_P},
        adversary={"behaviour": "probing", "knowledge": 1.0})
    return load_region(path)


def test_probing_a_deterministic_profile_sends_threats_to_the_green_border(tmp_path):
    classes = {"risky": {"share": 0.2, "threat_prevalence": 0.05},
               "other": {"share": 0.8, "threat_prevalence": 0.0}}
    region = _probing(tmp_path, {"strategy": "by_class",
                                 "referral_rate": {"risky": 1.0, "other": 0.0}},
                      classes, primary=0.1)
    res = simulate_region(region)
    for k in res.per_replication:
        assert k["region.detection_rate"] == pytest.approx(GREEN_P, abs=1e-12)
        assert k[f"region.route.{GREEN}.threat_share"] == pytest.approx(1.0)


RISK = {"strategy": "risk_score", "auc": 0.9, "threshold": 1.0}


def test_probing_a_risk_threshold_leaves_only_the_green_border(tmp_path):
    res = simulate_region(_probing(tmp_path, RISK))
    for k in res.per_replication:
        green = k[f"region.route.{GREEN}.threat_share"]
        assert 0.5 < green < 1.0  # referred at both crossings: the green border
        assert k["region.detection_rate"] == pytest.approx(green * GREEN_P, abs=1e-12)
        for c in "ab":  # threats crossing at a port pass its profile unreferred
            assert k[f"region.route.{c}.detection_rate"] == pytest.approx(0.0, abs=1e-12)
    region, seen = _probing(tmp_path, RISK), 0
    for r in range(4):  # the threats who crossed at a port were really never referred
        for run in route_replication(region, 5, r).crossings.values():
            threats = run.inputs.threat
            seen += threats.sum()
            assert not run.trace.referred[threats].any()
    assert seen > 0


@pytest.mark.parametrize("explore", [0.05, 0.2])
def test_a_random_share_restores_detection_at_the_crossings(tmp_path, explore):
    layered = {"layers": [RISK, {"strategy": "explore", "share": explore}]}
    res = simulate_region(_probing(tmp_path, layered))
    for k in res.per_replication:
        for c in "ab":
            assert k[f"region.route.{c}.detection_rate"] >= explore * 0.8 - 1e-12
            assert k[f"region.route.{c}.detection_rate"] == pytest.approx(explore * 0.8)
    plain = simulate_region(_probing(tmp_path, RISK))
    assert res.mean("region.detection_rate") > plain.mean("region.detection_rate")


def test_a_shared_watchlist_lists_a_traveller_at_every_crossing(tmp_path):
    wl = {"strategy": "watchlist", "coverage": 0.5, "false_hit_rate": 0.01}

    def decisions(shared: bool):
        path = write_region(tmp_path, {"a": crossing(two_stage(), wl),
                                       "b": crossing(two_stage(), wl)},
                            origins=one_origin(3000), shared_watchlist=shared,
                            duration="24h")
        region = load_region(path)
        people = sample_travellers(region, 1, 0)
        strategies = crossing_strategies(region)
        out = []
        for c in "ab":
            plan = make_plan(region.scenarios[c])
            draws = crossing_draws(region, c, plan, strategies[c], people, 1, 0)
            out.append(draws.decision.refer)
        return people, out

    people, (a, b) = decisions(shared=True)
    assert np.array_equal(a, b)  # a hit at one crossing applies at the other
    assert a[people.threat].mean() == pytest.approx(0.75, abs=0.08)  # the union of two lists
    people, (a, b) = decisions(shared=False)
    assert not np.array_equal(a, b)
    assert a[people.threat].mean() == pytest.approx(0.5, abs=0.08)


# ---------------------------------------------------------------------------- files and CLI


def test_the_example_region_runs_from_the_command_line(capsys):
    path = ROOT / "scenarios" / "region" / "north.yaml"
    assert main(["run", str(path), "--replications", "2", "--json"]) == 0
    out = yaml.safe_load(capsys.readouterr().out)
    assert set(out["crossings"]) == {"north", "east"}
    assert out["kpis"]["region.detection_rate"]["mean"] > 0
    assert main(["run", str(path), "--replications", "1",
                 "--set", "information.informed_share=0"]) == 0
    assert "region.information_time_saving" in capsys.readouterr().out


@pytest.mark.parametrize(("change", "field"), [
    ({"origins": {"town": {"per_hour": 10, "travel": {"a": 5, "west": 3}}}},
     "origins.town.travel.west"),
    ({"origins": {"town": {"per_hour": 10, "travel": {"a": 5, "b": 3},
                           "shares": {"a": 0.5, "b": 0.2}}}}, "origins.town.shares"),
    ({"origins": {"town": {"per_hour": 10, "travel": {"a": 5},
                           "shares": {"a": 0.5, "b": 0.5}}}}, "origins.town.shares.b"),
    ({"crossings": {"a": {"scenario": "a.yaml"}, "b": {"scenario": "missing.yaml"}}},
     "crossings.b.scenario"),
    ({"adversary": {"behaviour": "clever"}}, "adversary.behaviour"),
    ({"information": {"informed_share": 1.5}}, "information.informed_share"),
    ({"green_border": {"travel": "1h", "detection_probability": [0.1] * 23}},
     "green_border.detection_probability"),
    ({"crossing": {}}, "crossing"),
    ({"information": {"informed_share": 0.5, "refresh": "0.001min"}}, "information.refresh"),
])
def test_a_bad_region_file_gets_one_line(tmp_path, capsys, change, field):
    path = write_region(tmp_path, {"a": crossing({"desk": {"servers": 1, "service": DESK}}),
                                   "b": crossing({"desk": {"servers": 1, "service": DESK}})},
                        origins=one_origin(10))
    data = yaml.safe_load(path.read_text())
    data.update(change)
    path.write_text(yaml.safe_dump(data))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and f": {field}:" in err[0], err


def test_a_crossing_file_with_its_own_error_is_named(tmp_path, capsys):
    bad = crossing({"desk": {"servers": 1, "service": DESK}})
    bad["stages"]["desk"]["servrs"] = 2
    path = write_region(tmp_path, {"a": crossing({"desk": {"servers": 1, "service": DESK}}),
                                   "b": bad}, origins=one_origin(10))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "b.yaml") in err[0] and "stages.desk.servrs" in err[0]


def test_crossings_must_share_class_names(tmp_path, capsys):
    other = crossing({"desk": {"servers": 1, "service": DESK}},
                     classes={"x": {"share": 1.0}})
    path = write_region(tmp_path, {"a": crossing({"desk": {"servers": 1, "service": DESK}}),
                                   "b": other}, origins=one_origin(10))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "crossings.b" in err and "class" in err


def test_a_region_too_big_for_memory_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BORDERESIM_MEMORY_LIMIT", "50M")
    path = write_region(tmp_path, {"a": crossing({"desk": {"servers": 1, "service": DESK}}),
                                   "b": crossing({"desk": {"servers": 1, "service": DESK}})},
                        origins=one_origin(200_000), duration="30d")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}: origins:" in err[0] and "may be used" in err[0], err


def test_run_out_writes_the_summary(tmp_path, capsys):
    path = write_region(tmp_path, {"a": crossing({"desk": {"servers": 2, "service": DESK}}),
                                   "b": crossing({"desk": {"servers": 2, "service": DESK}})},
                        origins=one_origin(30), replications=2)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    data = yaml.safe_load((tmp_path / "out" / "summary.json").read_text())
    assert data["region"] == "test region" and set(data["crossings"]) == {"a", "b"}
    assert "wrote" in capsys.readouterr().out


def test_validate_accepts_a_region_file(capsys):
    path = ROOT / "scenarios" / "region" / "north.yaml"
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok — region 'Northern border region', crossings: north, east" in out
    assert main(["validate", str(path), "--print"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["adversary"]["behaviour"] == "displacement"


def test_variants_are_compared_on_the_same_travellers(tmp_path):
    from borderesim.run.region.compare import compare_regions

    region = _displacement(tmp_path, GREEN_P)
    naive = load_region(region, ["adversary.behaviour=naive"])
    out = compare_regions({"displacement": region, "again": region, "naive": naive},
                          replications=4)
    same = out.differences["again"]
    assert all(ci["mean"] == 0 for ci in same.values() if ci["mean"] == ci["mean"])
    diff = out.differences["naive"]["region.detection_rate"]
    assert diff["ci_low"] > 0  # naive threats are caught more often, paired per replication
    assert out.differences["naive"]["region.wait_mean"]["mean"] == pytest.approx(0, abs=0.05)


def test_region_classes_replace_the_crossings(tmp_path):
    classes = {"all": {"share": 1.0, "threat_prevalence": 0.2}}
    path = write_region(tmp_path, {"a": crossing({"desk": {"servers": 1, "service": DESK}}),
                                   "b": crossing({"desk": {"servers": 1, "service": DESK}})},
                        origins=one_origin(10), classes=classes)
    region = load_region(path)
    assert all(sc.classes["all"].threat_prevalence == 0.2 for sc in region.scenarios.values())


def test_the_map_draws_names_as_written(tmp_path):
    from borderesim.run.region.figure import flows, plot_region

    region = load_region(_displacement(tmp_path, 0.05), [r"name=$\badmacro$ region"])
    res = simulate_region(region, replications=2, keep_runs=True)
    f = flows(res)
    assert f[("town", GREEN)] > 0 and f[("town", "a")] > f[("town", "b")] > 0
    assert sum(f.values()) == pytest.approx(res.mean("region.arrivals_per_hour"), rel=0.05)
    path = plot_region(res, {"as given": res}, tmp_path / "map.png")
    assert path.stat().st_size > 10_000


NORTH = str(ROOT / "scenarios" / "region" / "north.yaml")
OUTAGE = ("crossings.north.events=[{kind: outage, stage: primary, lane: general, "
          "from: '08:00', to: '10:00'}]")


def test_an_outage_at_one_crossing_applies_in_the_region_on_both_engines():
    calm = load_region(NORTH, ["duration=12h", "warmup=1h"])
    shock = load_region(NORTH, ["duration=12h", "warmup=1h", OUTAGE])
    base = simulate_region(calm, engine="fast", replications=2)
    fast = simulate_region(shock, engine="fast", replications=2)
    slow = simulate_region(shock, engine="simpy", replications=2)
    assert fast.mean("region.wait_mean") > 2 * base.mean("region.wait_mean")
    assert fast.mean("region.wait_mean") == pytest.approx(slow.mean("region.wait_mean"),
                                                          rel=1e-9)
