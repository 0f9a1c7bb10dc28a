"""Targeting strategies against theory: binormal risk scores, watchlists, Press's square
root, layers, and the fairness / burden KPIs they feed."""

from __future__ import annotations

import copy
import math
import subprocess
import sys

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from borderesim.analysis.metrics import fairness_kpis
from borderesim.cli import main
from borderesim.errors import ScenarioError
from borderesim.model.scenario import load_scenario
from borderesim.model.targeting.base import UNIFORMS, Decision
from borderesim.model.targeting.layers import combine_p
from borderesim.model.targeting.risk_score import (
    d_prime,
    expected_referral_share,
    threshold_for_rate,
)
from borderesim.model.targeting.sqrt_biased import class_rates
from borderesim.model.targeting.watchlist import Outage
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample
from borderesim.run.simulate import simulate

SECONDARY_P = 0.8


def crossing(targeting, classes=None, per_hour=600.0, hours=2.0, reps=4, seed=11,
             secondary_servers=200, secondary_service=1.0) -> dict:
    """A crossing with no queue at primary and (by default) none at secondary.

    Primary detects nothing, so detection = P(referred | threat) * SECONDARY_P.
    """
    return {
        "name": "targeting test",
        "duration": f"{hours}h",
        "warmup": 0,
        "replications": reps,
        "seed": seed,
        "arrivals": {"per_hour": per_hour},
        "classes": classes or {"all": {"share": 1.0, "threat_prevalence": 0.3}},
        "stages": {
            "primary": {"servers": 60,
                        "service": {"distribution": "deterministic", "mean": "6s"}},
            "secondary": {"visits": "referred", "servers": secondary_servers,
                          "service": {"distribution": "deterministic",
                                      "mean": secondary_service},
                          "detection_probability": SECONDARY_P},
        },
        "targeting": targeting,
    }


def sampled(data: dict, replication: int = 0):
    scenario = load_scenario(data)
    return sample(scenario, make_plan(scenario), scenario.seed, replication)


def binomial_close(observed: float, expected: float, n: int, z: float = 4.5) -> bool:
    """|observed - expected| within z binomial standard errors (plus rounding slack)."""
    se = math.sqrt(max(expected * (1 - expected), 1e-12) / n)
    return abs(observed - expected) <= z * se + 1e-9


# --------------------------------------------------------------------------- risk_score


@pytest.mark.parametrize("auc,threshold", [(0.7, 0.5), (0.85, 1.0), (0.95, 2.0)])
def test_risk_score_rates_match_binormal_formulas(auc, threshold):
    inputs = sampled(crossing({"strategy": "risk_score", "auc": auc, "threshold": threshold},
                              per_hour=50_000))
    d = math.sqrt(2) * norm.ppf(auc)
    tpr, fpr = 1 - norm.cdf(threshold - d), 1 - norm.cdf(threshold)
    threats, innocent = inputs.threat, ~inputs.threat
    assert binomial_close(inputs.refer[threats].mean(), tpr, threats.sum())
    assert binomial_close(inputs.refer[innocent].mean(), fpr, innocent.sum())
    # the estimator's input is the exact formula, for every traveller
    np.testing.assert_allclose(inputs.p_refer_if_threat, tpr, rtol=1e-12)
    assert d_prime(auc) == pytest.approx(d)


@pytest.mark.parametrize("target", [
    {"threshold": 1.2},
    {"referral_rate": 0.15},
])
def test_risk_score_detection_and_false_referrals_end_to_end(target):
    auc = 0.85
    data = crossing({"strategy": "risk_score", "auc": auc, **target})
    result = simulate(data, engine="simpy")
    d = d_prime(auc)
    if "threshold" in target:
        t = target["threshold"]
    else:
        t = threshold_for_rate(0.15, d, np.array([1.0]), np.array([0.3]), np.array([0.0]))
        assert 0.7 * (1 - norm.cdf(t)) + 0.3 * (1 - norm.cdf(t - d)) == pytest.approx(0.15)
        n = sum(r["arrived"] for r in result.per_replication)
        assert binomial_close(result.mean("referral_rate"), 0.15, int(n))
    tpr, fpr = 1 - norm.cdf(t - d), 1 - norm.cdf(t)
    threats = int(sum(r["threats"] for r in result.per_replication))
    innocents = int(sum(r["arrived"] - r["threats"] for r in result.per_replication))
    assert threats > 1000
    assert binomial_close(result.mean("detection_rate_observed"), tpr * SECONDARY_P, threats)
    assert binomial_close(result.mean("false_referral_rate"), fpr, innocents)
    # no queue, everyone finished: the low-variance estimator is the formula itself
    assert result.mean("detection_rate") == pytest.approx(tpr * SECONDARY_P, abs=2e-3)


def test_referral_rate_accounts_for_class_shares_prevalence_and_shift():
    classes = {"low": {"share": 0.6, "threat_prevalence": 0.01},
               "high": {"share": 0.4, "threat_prevalence": 0.2}}
    block = {"strategy": "risk_score", "auc": 0.9, "referral_rate": 0.1, "shift": {"high": 0.7}}
    inputs = sampled(crossing(block, classes=classes, per_hour=60_000))
    assert binomial_close(inputs.refer.mean(), 0.1, inputs.n)


@settings(max_examples=60, deadline=None)
@given(
    auc=st.floats(0.5, 0.995),
    rate=st.floats(1e-4, 0.9999),
    shares=st.lists(st.floats(0.05, 1.0), min_size=1, max_size=4),
    data=st.data(),
)
def test_threshold_for_rate_hits_the_rate(auc, rate, shares, data):
    k = len(shares)
    shares = np.array(shares) / np.sum(shares)
    prev = np.array(data.draw(st.lists(st.floats(0, 1), min_size=k, max_size=k)))
    shift = np.array(data.draw(st.lists(st.floats(-2, 2), min_size=k, max_size=k)))
    d = d_prime(auc)
    t = threshold_for_rate(rate, d, shares, prev, shift)
    assert expected_referral_share(t, d, shares, prev, shift) == pytest.approx(rate, abs=1e-8)
    higher = threshold_for_rate(min(1.0, rate * 1.5) if rate < 0.6 else rate, d, shares,
                                prev, shift)
    assert higher <= t + 1e-9


def test_risk_scores_are_the_same_travellers_across_knobs():
    """A traveller's score never depends on the threshold, the AUC or the other layers."""
    refer = [sampled(crossing({"strategy": "risk_score", "auc": 0.8, "threshold": t},
                              per_hour=5000)).refer for t in (0.5, 1.0, 1.5, 2.0)]
    for wider, narrower in zip(refer, refer[1:], strict=False):
        assert np.all(narrower <= wider)  # raising the threshold only removes travellers
    alone = sampled(crossing({"strategy": "risk_score", "auc": 0.8, "threshold": 1.0},
                             per_hour=5000))
    layered = sampled(crossing({"layers": [
        {"strategy": "watchlist", "coverage": 0.5},
        {"strategy": "risk_score", "auc": 0.8, "threshold": 1.0}]}, per_hour=5000))
    assert np.all(layered.refer >= alone.refer)


def test_queue_aware_threshold_rises_with_the_queue():
    block = {"strategy": "risk_score", "auc": 0.85, "referral_rate": 0.3, "per_waiting": 0.2}
    data = crossing(block, reps=2, secondary_servers=2, secondary_service=4.0, per_hour=300)
    static = copy.deepcopy(data)
    static["targeting"]["per_waiting"] = 0
    aware = simulate(data, engine="simpy", keep_traces=True)
    fixed = simulate(static, engine="simpy")
    assert aware.mean("referral_rate") < fixed.mean("referral_rate")
    inputs, trace = aware.traces[0]
    base = inputs.dynamic.threshold
    thresholds = trace.threshold[~np.isnan(trace.threshold)]
    assert thresholds.min() == pytest.approx(base)
    assert thresholds.max() > base + 0.2
    steps = (thresholds - base) / 0.2
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)  # base + 0.2 * waiting
    assert aware.mean("secondary.wait_mean") < fixed.mean("secondary.wait_mean")


# --------------------------------------------------------------------------- watchlist


def test_watchlist_detection_is_coverage_times_detection_probability():
    block = {"strategy": "watchlist", "coverage": 0.6, "false_hit_rate": 0.02}
    result = simulate(crossing(block), engine="simpy")
    threats = int(sum(r["threats"] for r in result.per_replication))
    innocents = int(sum(r["arrived"] - r["threats"] for r in result.per_replication))
    assert binomial_close(result.mean("detection_rate_observed"), 0.6 * SECONDARY_P, threats)
    assert result.mean("detection_rate") == pytest.approx(0.6 * SECONDARY_P, abs=2e-3)
    assert binomial_close(result.mean("false_referral_rate"), 0.02, innocents)
    for rep in result.per_replication:  # every hit is a referral (nobody else is referred)
        assert rep["watchlist.hits"] == pytest.approx(rep["referral_rate"] * rep["arrived"])


def test_watchlist_outage_and_fallback():
    # 2 h run; database down 00:30-01:00 (a quarter of the time)
    outage = [{"start": "00:30", "end": "1 h"}]
    none = crossing({"strategy": "watchlist", "coverage": 0.6, "outages": outage,
                     "fallback": "none"}, per_hour=40_000, hours=2)
    inputs = sampled(none)
    down = (inputs.arrival >= 30) & (inputs.arrival < 60)
    assert not inputs.refer[down].any()
    assert np.all(inputs.p_refer_if_threat[down] == 0)
    assert np.all(inputs.p_refer_if_threat[~down] == 0.6)
    assert binomial_close(inputs.refer[inputs.threat & ~down].mean(), 0.6,
                          int((inputs.threat & ~down).sum()))
    everyone = sampled(crossing({"strategy": "watchlist", "coverage": 0.6, "outages": outage,
                                 "fallback": "all"}, per_hour=40_000, hours=2))
    assert everyone.refer[down].all()
    rnd = sampled(crossing({"strategy": "watchlist", "coverage": 0.6, "outages": outage,
                            "fallback": {"strategy": "random", "referral_rate": 0.25}},
                           per_hour=40_000, hours=2))
    assert binomial_close(rnd.refer[down].mean(), 0.25, int(down.sum()))
    assert np.all(rnd.p_refer_if_threat[down] == 0.25)
    # hits only while online, and the same listed travellers whatever the fallback
    counted = inputs.arrival < 120  # the counted window; later arrivals are the drain
    assert inputs.arrival.max() >= 120
    assert inputs.extra["watchlist.hits"] == inputs.refer[counted].sum() > 0
    assert rnd.extra["watchlist.hits"] == inputs.extra["watchlist.hits"]
    np.testing.assert_array_equal(inputs.refer[~down], rnd.refer[~down])


def test_outage_windows():
    wrap = Outage(start="23:00", end="01:30")
    t = np.array([0.0, 89.0, 91.0, 1379.0, 1381.0, 1440.0 + 30, 2 * 1440.0 - 30])
    np.testing.assert_array_equal(wrap.covers(t), [1, 1, 0, 0, 1, 1, 1])
    once = Outage(start="26 h", end="27h", daily=False)
    np.testing.assert_array_equal(once.covers(np.array([120.0, 1560.0, 1619.0, 1620.0])),
                                  [0, 1, 1, 0])
    assert Outage(start="2h", end=300).start == 120.0
    with pytest.raises(ValueError):
        Outage(start="02:00", end="02:00")
    with pytest.raises(ValueError):
        Outage(start="25:00", end="26:00")


def test_watchlist_hits_kpi_is_always_present():
    result = simulate(crossing({"strategy": "random", "referral_rate": 0.1}, reps=1, hours=0.5),
                      engine="simpy")
    assert result.mean("watchlist.hits") == 0.0


# --------------------------------------------------------------------------- sqrt_biased


def test_sqrt_biased_class_rates():
    classes = {"a": {"share": 0.9, "threat_prevalence": 0.001},
               "b": {"share": 0.1, "threat_prevalence": 0.009}}
    scenario = load_scenario(crossing({"strategy": "sqrt_biased", "referral_rate": 0.05},
                                      classes=classes))
    rates = scenario.targeting.rates(scenario)
    assert rates[1] / rates[0] == pytest.approx(3.0)  # sqrt(9)
    assert 0.9 * rates[0] + 0.1 * rates[1] == pytest.approx(0.05)
    inputs = sampled(crossing({"strategy": "sqrt_biased", "referral_rate": 0.05},
                              classes=classes, per_hour=40_000))
    for c in (0, 1):
        mine = inputs.cls == c
        assert binomial_close(inputs.refer[mine].mean(), rates[c], int(mine.sum()))


@settings(max_examples=80, deadline=None)
@given(
    weights=st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 10)), min_size=1, max_size=5),
    raw_shares=st.lists(st.floats(0.01, 1), min_size=5, max_size=5),
    rate=st.floats(0, 1),
)
def test_sqrt_rates_are_capped_proportional_and_hit_the_rate(weights, raw_shares, rate):
    w = np.array(weights)
    shares = np.array(raw_shares[: len(w)])
    shares = shares / shares.sum()
    reachable = shares[w > 0].sum()
    if rate > reachable + 1e-12:
        with pytest.raises(ValueError, match="cannot be reached"):
            class_rates(w, shares, rate)
        return
    p = class_rates(w, shares, rate)
    assert np.all((p >= 0) & (p <= 1 + 1e-12))
    assert float(np.sum(shares * p)) == pytest.approx(rate, abs=1e-9)
    uncapped = (p < 1 - 1e-9) & (w > 0)
    if uncapped.sum() >= 2 and rate > 0:
        ratio = p[uncapped] / w[uncapped]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-7)
    assert np.all(p[w == 0] == 0)


# --------------------------------------------------------------------------- layers, explore


def test_layers_refer_if_any_layer_refers_and_combine_p():
    layers = [{"strategy": "watchlist", "coverage": 0.4, "false_hit_rate": 0.01},
              {"strategy": "risk_score", "auc": 0.8, "threshold": 1.5},
              {"strategy": "explore", "share": 0.05}]
    kw = {"per_hour": 30_000}
    alone = [sampled(crossing(layer, **kw)) for layer in layers]
    both = sampled(crossing({"layers": layers}, **kw))
    np.testing.assert_array_equal(both.refer, alone[0].refer | alone[1].refer | alone[2].refer)
    expected_p = 1 - np.prod([1 - a.p_refer_if_threat for a in alone], axis=0)
    np.testing.assert_allclose(both.p_refer_if_threat, expected_p)
    # independence holds in fact: threats referred at the combined rate
    tpr = 1 - (1 - 0.4) * norm.cdf(1.5 - d_prime(0.8)) * (1 - 0.05)
    assert binomial_close(both.refer[both.threat].mean(), tpr, int(both.threat.sum()))


def test_layers_drawing_the_same_stream_get_independent_copies():
    half = {"strategy": "random", "referral_rate": 0.5}
    inputs = sampled(crossing({"layers": [half, half]}, per_hour=30_000))
    assert binomial_close(inputs.refer.mean(), 0.75, inputs.n)
    np.testing.assert_allclose(inputs.p_refer_if_threat, 0.75)


def test_explore_adds_a_random_share():
    base = {"strategy": "by_class", "referral_rate": {"all": 0.1}}
    inputs = sampled(crossing({"layers": [base, {"strategy": "explore", "share": 0.2}]},
                              per_hour=30_000))
    assert binomial_close(inputs.refer.mean(), 1 - 0.9 * 0.8, inputs.n)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.floats(0, 1), min_size=3, max_size=3), min_size=1, max_size=5))
def test_combine_p_bounds(ps):
    ps = [np.array(p) for p in ps]
    c = combine_p(ps)
    assert np.all(c >= np.max(ps, axis=0) - 1e-12)
    assert np.all(c <= np.minimum(1, np.sum(ps, axis=0)) + 1e-12)


# --------------------------------------------------------------------------- estimator


HIGH_PREVALENCE = {"a": {"share": 0.5, "threat_prevalence": 0.2},
                   "b": {"share": 0.5, "threat_prevalence": 0.4}}
STRATEGIES = {
    "random": {"strategy": "random", "referral_rate": 0.2},
    "by_class": {"strategy": "by_class", "referral_rate": {"a": 0.1, "b": 0.3}},
    "risk_score": {"strategy": "risk_score", "auc": 0.8, "referral_rate": 0.2,
                   "shift": {"b": 0.3}},
    "queue_aware": {"strategy": "risk_score", "auc": 0.8, "referral_rate": 0.2,
                    "per_waiting": 0.15, "shift": {"b": 0.3}},
    "watchlist": {"strategy": "watchlist", "coverage": 0.5, "false_hit_rate": 0.05,
                  "outages": [{"start": "00:20", "end": "00:50"}],
                  "fallback": {"strategy": "risk_score", "auc": 0.7, "threshold": 0.5,
                               "per_waiting": 0.1}},
    "sqrt_biased": {"strategy": "sqrt_biased", "referral_rate": 0.2},
    "layers": {"layers": [{"strategy": "watchlist", "coverage": 0.3},
                          {"strategy": "risk_score", "auc": 0.75, "threshold": 1.3},
                          {"strategy": "explore", "share": 0.05}]},
}


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_detection_estimator_agrees_with_observed_detections(name):
    # a secondary that queues but keeps up (so queue-aware rules act, everyone finishes)
    data = crossing(STRATEGIES[name], classes=HIGH_PREVALENCE, per_hour=600, hours=1.5,
                    reps=4, secondary_servers=3, secondary_service=1.2)
    data["stages"]["primary"]["detection_probability"] = 0.1
    result = simulate(data, engine="simpy")
    threats = int(sum(r["threats"] for r in result.per_replication))
    est = result.mean("detection_rate")
    assert binomial_close(result.mean("detection_rate_observed"), est, threats), (
        result.mean("detection_rate_observed"), est, threats)


# --------------------------------------------------------------------------- fairness, burden


def test_class_score_shift_shows_in_disparity_ratio():
    classes = {"a": {"share": 0.5, "threat_prevalence": 0.01},
               "b": {"share": 0.5, "threat_prevalence": 0.01}}
    fair = {"strategy": "risk_score", "auc": 0.8, "threshold": 1.5}
    biased = {**fair, "shift": {"b": 0.5}}
    kw = {"classes": classes, "per_hour": 4000, "hours": 1, "reps": 4}
    r_fair = simulate(crossing(fair, **kw), engine="simpy")
    r_biased = simulate(crossing(biased, **kw), engine="simpy")
    expected = (1 - norm.cdf(1.0)) / (1 - norm.cdf(1.5))  # 2.37
    assert r_biased.mean("fairness.disparity_ratio") == pytest.approx(expected, rel=0.12)
    assert r_fair.mean("fairness.disparity_ratio") < 1.25
    ci = r_biased.kpis["fairness.disparity_ratio"]
    assert ci["ci_low"] > r_fair.kpis["fairness.disparity_ratio"]["ci_high"]
    assert r_biased.mean("fairness.referral_rate_gap") == pytest.approx(
        (1 - norm.cdf(1.0)) - (1 - norm.cdf(1.5)), abs=0.02)


def test_fairness_kpis_definitions():
    assert fairness_kpis([0.1, 0.05, math.nan])["fairness.disparity_ratio"] == pytest.approx(2)
    zero = fairness_kpis([0.1, 0.0])
    assert math.isnan(zero["fairness.disparity_ratio"])
    assert zero["fairness.undefined_share"] == 1.0
    assert zero["fairness.referral_rate_gap"] == pytest.approx(0.1)
    nobody = fairness_kpis([0.0, 0.0])
    assert nobody["fairness.disparity_ratio"] == 1.0 and nobody["fairness.undefined_share"] == 0


def test_innocent_delay_is_time_at_referred_stages():
    # no queue at secondary: an innocent referred traveller loses exactly the 1-minute check
    result = simulate(crossing({"strategy": "random", "referral_rate": 0.2}, reps=2),
                      engine="simpy")
    assert result.mean("innocent_delay_mean") == pytest.approx(1.0)
    # with a queue: waiting plus service at secondary, from the trace
    busy = crossing({"strategy": "random", "referral_rate": 0.2}, reps=1, secondary_servers=2,
                    secondary_service=4.0, per_hour=120)
    r = simulate(busy, engine="simpy", keep_traces=True)
    inputs, trace = r.traces[0]
    pick = trace.referred & ~inputs.threat & ~np.isnan(trace.exit)
    lost = trace.end[1, pick] - trace.entry[1, pick]
    assert r.mean("innocent_delay_mean") == pytest.approx(lost.mean())
    assert lost.mean() > 4.0


# --------------------------------------------------------------------------- bad input


BAD = [
    ({"layers": [{"strategy": "watchlist", "coverage": 0.5},
                 {"strategy": "risk_score", "auc": 1.2, "threshold": 1}]},
     "targeting.layers.1.auc", "less than 1"),
    ({"strategy": "risk_score", "auc": 0.8, "threshold": 1, "referral_rate": 0.1},
     "targeting", "exactly one"),
    ({"strategy": "risk_score", "auc": 0.8, "threshold": 1, "shift": {"martian": 1}},
     "targeting.shift", "martian"),
    ({"strategy": "watchlist", "coverage": 0.5, "outages": [{"start": "2:00", "end": "3:00"}]},
     "targeting", "fallback"),
    ({"strategy": "watchlist", "coverage": 0.5, "outages": [{"start": "2:00", "end": "3:00"}],
      "fallback": "maybe"}, "targeting.fallback", "unknown strategy"),
    ({"strategy": "watchlist", "coverage": 1.5}, "targeting.coverage", "1"),
    ({"strategy": "sqrt_biased", "referral_rate": 0.9, "prior_risk": {"all": 0}},
     "targeting.prior_risk", "prior risk 0"),
    ({"layers": [{"strategy": "risk_score", "auc": 0.8, "threshold": 1, "per_waiting": 1},
                 {"strategy": "risk_score", "auc": 0.8, "threshold": 2, "per_waiting": 1}]},
     "targeting.layers", "at most one"),
    ({"strategy": "explore", "shares": 0.1}, "targeting.shares", "did you mean 'share'"),
    ({"layers": [{"strategy": "random", "referral_rate": 0.1}, {"auc": 0.9}]},
     "targeting.layers.1", "needs a strategy field"),
]


@pytest.mark.parametrize("block,field,words", BAD)
def test_bad_strategy_parameters_exit_2_with_field_path(tmp_path, capsys, block, field, words):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(crossing(block)))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{path}: {field}: " in err, err
    assert words in err, err
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.path == field


def test_bad_strategy_subprocess(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(crossing(BAD[0][0])))
    proc = subprocess.run([sys.executable, "-m", "borderesim", "run", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "targeting.layers.1.auc" in proc.stderr


def test_threats_missed_per_day():
    block = {"strategy": "random", "referral_rate": 0.3}
    r = simulate(crossing(block, reps=1, hours=1), engine="simpy")
    rep = r.per_replication[0]
    assert rep["threats_per_day"] == pytest.approx(600 * 24 * 0.3 * rep["arrived"] / 600)
    assert rep["threats_missed_per_day"] == pytest.approx(
        rep["threats_per_day"] * (1 - rep["detection_rate"]))
    none = crossing(block, reps=1, hours=1, classes={"all": {"share": 1.0}})
    assert simulate(none, engine="simpy").per_replication[0]["threats_missed_per_day"] == 0
    stuck = crossing(block, reps=1, hours=1)
    stuck["stages"]["primary"] = {"servers": 1, "service": {"distribution": "deterministic",
                                                            "mean": "2h"}}
    # overloaded: scored by what happened by the horizon, so nobody stuck is detected
    rep = simulate(stuck, engine="simpy").per_replication[0]
    assert rep["detection_rate"] == 0
    assert rep["threats_missed_per_day"] == pytest.approx(rep["threats_per_day"])


@pytest.mark.parametrize("n", [0, 1, 1000, 3 * UNIFORMS + 17])
def test_referral_at_random_draws_in_chunks_what_one_draw_gives(n):
    """``Decision.at_random`` draws its uniforms a chunk at a time: the same draws, and
    so the same referrals, as one ``random(n)`` over the whole run (a year's travellers
    span many chunks)."""
    p = np.random.default_rng(5).random(n) * 0.2
    got = Decision.at_random(np.random.default_rng(9), p)
    want = np.random.default_rng(9).random(n) < p
    np.testing.assert_array_equal(got.refer, want)
    assert got.p_refer_if_threat is p
