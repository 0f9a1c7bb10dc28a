"""Sampling: exact hourly profiles, named streams and common random numbers."""

from __future__ import annotations

import numpy as np
import pytest

from borderesim import load_scenario
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample, sample_arrivals, stream

PROFILE = [0, 0, 10, 50, 200, 600, 30, 5] * 3


def test_hourly_counts_match_profile():
    days = 400
    t = sample_arrivals(PROFILE, days * 1440.0, stream(3, 0, "arrivals"))
    counts = np.bincount((t // 60).astype(int) % 24, minlength=24)
    for hour, rate in enumerate(PROFILE):
        expected = rate * days
        if rate == 0:
            assert counts[hour] == 0
        else:
            z = (counts[hour] - expected) / np.sqrt(expected)
            assert abs(z) < 4.5, (hour, counts[hour], expected)


def test_short_peak_is_never_skipped():
    profile = [0] * 24
    profile[9] = 3000  # one busy hour
    t = sample_arrivals(profile, 1440.0, stream(1, 0, "arrivals"))
    assert t.size > 2700 and t.min() >= 540 and t.max() < 600


def test_partial_last_hour():
    t = sample_arrivals([600] * 24, 90.0, stream(2, 0, "arrivals"))
    assert t.max() < 90
    assert abs(t.size - 900) < 5 * np.sqrt(900)


def test_arrivals_sorted_and_within_the_run(demo):
    sc = load_scenario(demo)
    plan = make_plan(sc)
    inp = sample(sc, plan, 1, 0)
    assert np.all(np.diff(inp.arrival) >= 0)
    assert plan.run_end == sc.horizon + 1440 and inp.arrival.max() < plan.run_end
    # the counted window's travellers do not depend on the drain cap (own stream)
    short = load_scenario({**demo, "drain_cap": "1h"})
    window = inp.arrival < sc.horizon
    cut = sample(short, make_plan(short), 1, 0)
    assert cut.arrival.max() < sc.horizon + 60
    np.testing.assert_array_equal(cut.arrival[:window.sum()], inp.arrival[window])
    np.testing.assert_array_equal(cut.service[:, :window.sum()], inp.service[:, window])


def test_same_seed_same_inputs_different_replication_differs(demo):
    sc = load_scenario(demo)
    plan = make_plan(sc)
    a, b, c = sample(sc, plan, 9, 0), sample(sc, plan, 9, 0), sample(sc, plan, 9, 1)
    assert np.array_equal(a.arrival, b.arrival)
    assert np.array_equal(a.service, b.service, equal_nan=True)
    assert not np.array_equal(a.arrival[:100], c.arrival[:100])


@pytest.mark.parametrize(
    "override",
    ["targeting.referral_rate=0.2", "stages.secondary.servers=5",
     "stages.secondary.service.mean=20", "stages.primary.detection_probability=0.5"],
)
def test_one_knob_never_shifts_other_streams(demo, override):
    base = load_scenario(demo)
    other = load_scenario(demo, [override])
    a = sample(base, make_plan(base), 4, 2)
    b = sample(other, make_plan(other), 4, 2)
    assert np.array_equal(a.arrival, b.arrival)
    assert np.array_equal(a.cls, b.cls)
    assert np.array_equal(a.threat, b.threat)
    assert np.array_equal(a.service[0], b.service[0], equal_nan=True)  # primary service
    if "secondary.service" not in override:  # referred under both: the same time
        both = a.refer & b.refer
        assert np.array_equal(a.service[1][both], b.service[1][both])


def test_referred_in_both_keep_their_secondary_time(demo):
    """Drawing only for the referred shifts no other draw: a traveller referred at 8 %
    and at 30 % has one secondary service time (common random numbers, exactly)."""
    low = load_scenario(demo)
    high = load_scenario(demo, ["targeting.referral_rate=0.3"])
    a, b = sample(low, make_plan(low), 5, 1), sample(high, make_plan(high), 5, 1)
    both = a.refer & b.refer
    assert both.sum() > 100 and b.refer.sum() > 2 * a.refer.sum()
    np.testing.assert_array_equal(a.service[1][both], b.service[1][both])
    for x in (a, b):  # drawn exactly for the referred
        np.testing.assert_array_equal(~np.isnan(x.service[1]), x.refer)


def test_only_what_can_be_used_is_drawn(demo):
    """Service in lanes admitting the class (a referred stage: the referred only, or
    everybody under a queue-aware rule); detection for threats only."""
    demo["stages"]["primary"] = {
        "lanes": {"fast": {"classes": ["resident"], "servers": 4,
                           "service": {"distribution": "gamma", "mean": 1, "cv": 0.5}},
                  "all": {"servers": 4,
                          "service": {"distribution": "lognormal", "mean": 1, "cv": 0.5}}},
        "detection_probability": 0.5}
    demo["classes"]["visitor"]["threat_prevalence"] = 0.05
    sc = load_scenario(demo)
    inp = sample(sc, make_plan(sc), 3, 0)
    resident = inp.cls == 0
    assert inp.cls.dtype == np.int8 and 0 < resident.mean() < 1
    np.testing.assert_array_equal(~np.isnan(inp.service[0]), resident)
    assert not np.isnan(inp.service[1]).any() and (inp.service[:2][:, resident] > 0).all()
    np.testing.assert_array_equal(~np.isnan(inp.service[2]), inp.refer)
    assert not inp.caught[:, ~inp.threat].any() and inp.caught[0, inp.threat].any()
    assert abs(inp.caught[0, inp.threat].mean() - 0.5) < 5 * np.sqrt(0.25 / inp.threat.sum())
    demo["targeting"] = {"strategy": "risk_score", "auc": 0.8, "threshold": 1.5,
                         "per_waiting": 0.05}
    dyn = load_scenario(demo)
    inp = sample(dyn, make_plan(dyn), 3, 0)
    assert inp.dynamic is not None and not np.isnan(inp.service[2]).any()


def test_a_stages_lanes_share_each_travellers_draw(demo):
    """Since 0.3.0 a stage's lanes draw from one stream (``service.<stage>``): a
    traveller two lanes admit gets the same time in lanes of the same distribution and
    the same normal in lognormal lanes (slow in one, slow in the other). A gamma lane
    draws from ``service.<stage>.gamma``, apart. Each lane keeps its own law."""
    lognormal = {"distribution": "lognormal", "mean": 1, "cv": 0.5}
    demo["stages"]["primary"] = {"lanes": {
        "a": {"servers": 4, "service": lognormal},
        "b": {"servers": 4, "service": lognormal},
        "c": {"classes": ["resident"], "servers": 4,
              "service": {"distribution": "lognormal", "mean": 3, "cv": 1.2}},
        "d": {"classes": ["resident"], "servers": 4,
              "service": {"distribution": "gamma", "mean": 1, "cv": 0.5}}}}
    sc = load_scenario(demo)
    inp = sample(sc, make_plan(sc), 3, 0)
    resident = inp.cls == 0
    np.testing.assert_array_equal(inp.service[0], inp.service[1])

    def normal(lane: int, mean: float, cv: float) -> np.ndarray:
        sigma2 = np.log1p(cv**2)
        return (np.log(inp.service[lane, resident]) - np.log(mean) + sigma2 / 2) / np.sqrt(sigma2)

    np.testing.assert_allclose(normal(2, 3, 1.2), normal(0, 1, 0.5), rtol=1e-9, atol=1e-9)
    z = normal(2, 3, 1.2)
    assert abs(z.mean()) < 5 / np.sqrt(len(z)) and abs(z.std() - 1) < 0.05
    gamma = inp.service[3, resident]
    assert abs(np.corrcoef(np.log(gamma), z)[0, 1]) < 5 / np.sqrt(len(z))  # apart
    assert abs(gamma.mean() - 1) < 5 * 0.5 / np.sqrt(len(gamma))


def test_a_surge_leaves_the_profile_travellers_alone(demo):
    """A surge's travellers come from their own counter group: the profile's travellers
    are drawn exactly as without it, and merged in by arrival time."""
    base = load_scenario(demo)
    demo["events"] = [{"kind": "surge", "at": "10:00", "travellers": 300, "over": "30min"}]
    surged = load_scenario(demo)
    a, b = sample(base, make_plan(base), 2, 0), sample(surged, make_plan(surged), 2, 0)
    assert b.n == a.n + 300
    mine = np.isin(b.arrival, a.arrival)
    assert mine.sum() == a.n
    for name in ("arrival", "cls", "threat"):
        np.testing.assert_array_equal(getattr(b, name)[mine], getattr(a, name))
    np.testing.assert_array_equal(b.service[0][mine], a.service[0])
    extra = b.arrival[~mine]
    assert extra.min() >= 600 and extra.max() < 630 and np.all(np.diff(b.arrival) >= 0)


@pytest.mark.parametrize("until", [1620.0, 1860.0, 2400.0])
def test_an_earlier_until_gives_the_first_travellers(demo, until):
    """``Inputs.head`` and ``drain.replay`` rely on it: drawing to an earlier end (a
    clock hour past the horizon, as ``replay`` asks) gives the first travellers of a
    later one, every draw identical."""
    sc = load_scenario(demo)
    plan = make_plan(sc)
    short, full = sample(sc, plan, 6, 2, until=until), sample(sc, plan, 6, 2)
    assert 0 < short.n < full.n and short.arrival.max() < until
    head = full.head(short.n)
    for name in ("arrival", "cls", "threat", "service", "caught", "refer",
                 "p_refer_if_threat"):
        np.testing.assert_array_equal(getattr(short, name), getattr(head, name))


def test_class_shares_and_prevalence(demo):
    demo["classes"] = {"a": {"share": 0.25, "threat_prevalence": 0.1},
                       "b": {"share": 0.75, "threat_prevalence": 0.01}}
    demo["targeting"] = None
    demo["duration"] = "240h"
    sc = load_scenario(demo)
    inp = sample(sc, make_plan(sc), 1, 0)
    n = inp.n
    share_a = (inp.cls == 0).mean()
    assert abs(share_a - 0.25) < 4 * np.sqrt(0.25 * 0.75 / n)
    prev_a = inp.threat[inp.cls == 0].mean()
    assert abs(prev_a - 0.1) < 4 * np.sqrt(0.1 * 0.9 / (inp.cls == 0).sum())


@pytest.mark.parametrize(
    "service",
    [
        {"distribution": "exponential", "mean": 2},
        {"distribution": "lognormal", "mean": 2, "cv": 0.7},
        {"distribution": "gamma", "mean": 2, "cv": 0.5},
        {"distribution": "uniform", "low": 1, "high": 3},
        {"distribution": "triangular", "low": 1, "mode": 1.5, "high": 3.5},
        {"distribution": "empirical", "values": [1, 2, 3, 2]},
        {"distribution": "deterministic", "mean": 2},
    ],
)
def test_service_moments(demo, service):
    demo["stages"]["primary"]["service"] = service
    sc = load_scenario(demo)
    dist = sc.stages["primary"].service
    x = dist.draw(stream(1, 0, "test"), 200_000)
    mean, second = dist.moments()
    sd = np.sqrt(max(second - mean**2, 1e-12))
    assert abs(x.mean() - mean) < 5 * sd / np.sqrt(x.size) + 1e-12
    assert x.var() == pytest.approx(second - mean**2, rel=0.05, abs=1e-9)
    assert x.min() >= 0
