"""The random streams stay put while the sampler gets faster (``run/sampling.py``,
``run/philox.py``).

The vectorised Philox blocks are the scalar :func:`philox.block`'s, bit for bit; a
lane's service times filled for the travellers drawn for only (chunked, every lane and
stage in one compiled call, the lanes of a stage sharing its stream) are each
:func:`philox.service_of` draw; and the inputs of a few example replications are
pinned as borderesim 0.3.0 draws them: their arrival times, classes, threats,
detections and referrals bit for bit (unchanged since 0.2.0), which service times are
drawn, and each lane's total service time (to 1e-12: a total is NumPy's sum, whose
order may depend on the processor's vector width).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from borderesim.model.distributions import (
    DETERMINISTIC,
    EMPIRICAL,
    EXPONENTIAL,
    GAMMA,
    LOGNORMAL,
    TRIANGULAR,
    UNIFORM,
)
from borderesim.model.scenario import load_scenario
from borderesim.run import budget, philox, vexp
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample

ROOT = Path(__file__).resolve().parent.parent / "scenarios"
KEY = philox.key_of(2024, 5)
G = np.uint64((3 << 32) | 2)  # a surge's counter group: every counter word non-zero

QUEUE_AWARE = ["targeting.strategy=risk_score", "targeting.auc=0.85",
               "targeting.referral_rate=0.03", "targeting.per_waiting=0.1"]
PINNED = [
    ("land_crossing.yaml", [], 0, "1045376eb1641150",
     [3183.8211149425606, 13258.698677302016, 4479.020998840214]),
    ("land_crossing.yaml", [], 3, "e92bd7bc4bb0d589",
     [3253.580811582773, 13271.415626146194, 4191.609918396329]),
    ("airport_shock.yaml", [], 1, "90ac13e66e849393",
     [2868.5923271778584, 8360.758764288443, 8088.661509599479, 1989.7442905266312]),
    ("cargo_terminal.yaml", [], 2, "80d8b98755c6f48b",
     [4469.686484912059, 3304.2429569437554, 3685.110925147139]),
    ("land_crossing.yaml", QUEUE_AWARE, 1, "7b9961a7894b790b",
     [3185.88616807567, 13374.932561631813, 134593.6547413546]),
]
"""Scenario, overrides, replication; digest of the exact arrays; each lane's total
service time (minutes), as drawn by 0.3.0 (the digests as 0.2.0 drew them: only the
service times changed, a stage's lanes sharing its stream)."""


def _digest(inputs) -> str:
    h = hashlib.sha256()
    for a in (inputs.arrival, inputs.cls, inputs.threat, np.isnan(inputs.service),
              inputs.caught, inputs.refer, inputs.p_refer_if_threat):
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize(("path", "overrides", "replication", "digest", "totals"), PINNED)
def test_example_inputs_are_drawn_as_before(path, overrides, replication, digest, totals):
    scenario = load_scenario(ROOT / path, overrides)
    inputs = sample(scenario, make_plan(scenario), scenario.seed, replication)
    assert _digest(inputs) == digest
    np.testing.assert_allclose(np.nansum(inputs.service, axis=1), totals, rtol=1e-12)


def test_vectorised_blocks_are_philox_bit_for_bit():
    """Consecutive counters (:func:`blocks_from`) and listed ones (:func:`blocks_at`),
    across a wrap of counter word 0, against NumPy's Philox through ``block``."""
    k0, k1 = KEY
    sid = philox.stream_id("test.blocks")
    n = 37  # not a multiple of the SIMD width: the loop's tail too
    out = np.zeros(4 * n + 4, dtype=np.uint64)
    philox.blocks_from(1000, n, sid, np.uint64(1), G, k0, k1, out)
    want = [philox.block(np.uint64(1000 + b), sid, np.uint64(1), G, k0, k1) for b in range(n)]
    assert [tuple(out[4 * b:4 * b + 4]) for b in range(n)] == want
    assert not out[4 * n:].any()  # nothing written past the n blocks
    c0 = np.array([2**64 - 2, 2**64 - 1, 0, 7, 123456789], dtype=np.uint64)
    philox.blocks_at(c0, len(c0), sid, np.uint64(0), G, k0, k1, out)
    bg = np.random.Philox(key=np.array([k0, k1], dtype=np.uint64),
                          counter=np.array([2**64 - 3, sid, 0, G], dtype=np.uint64))
    numpy_words = bg.random_raw(12)  # counters 2**64 - 2, 2**64 - 1, then 0 (no carry)
    assert out[:8].tolist() == numpy_words[:8].tolist()
    for b, c in enumerate(c0):
        assert tuple(out[4 * b:4 * b + 4]) == philox.block(c, sid, np.uint64(0), G, k0, k1)


def test_fill_stage_stays_in_its_scratch_arrays():
    """The chunked fill, compiled with bounds checks, on referred travellers far apart
    (one block each: as many blocks as draws in a chunk) and on every traveller, for
    three lanes on one stream: one admitting every class, one a class of two (listed),
    a lognormal among them (its normals made once)."""
    checked = njit(boundscheck=True)(philox.fill_stage.py_func)
    n = 3 * philox.CHUNK + 5
    cls = (np.arange(n) % 2).astype(np.int8)
    among = np.arange(0, n, 3)  # > CHUNK of them, in more than CHUNK / 4 blocks
    admits = np.array([[True, True], [False, True], [True, True]])
    kinds = np.array([LOGNORMAL, EXPONENTIAL, LOGNORMAL])
    pars = np.array([[0.1, 0.7], [1.0, 0.0], [0.3, 0.2]])
    for only_among in (True, False):
        out = np.zeros((3, n))
        checked(kinds, pars, np.array([2, 1, 2]), philox.stream_id("service.x"), G, *KEY,
                admits, cls, among, only_among, out, *philox.scratch())
        drawn = among if only_among else np.arange(n)
        for lane in range(3):
            mine = drawn[admits[lane][cls[drawn]]]
            assert np.isfinite(out[lane, mine]).all()
            assert np.isnan(np.delete(out[lane], mine)).all()


LANES = [  # kind, params, admitted classes, referred only, stage (lanes on one stream)
    (LOGNORMAL, [0.3, 0.5], [True, True, True], False, "a"),  # every traveller
    (LOGNORMAL, [-0.2, 0.9], [False, True, False], False, "a"),  # one class in three
    (EXPONENTIAL, [0.7], [False, True, False], False, "a"),  # the stage's word as well
    (GAMMA, [1.5, 0.5], [False, True, False], False, "a.gamma"),
    (LOGNORMAL, [0.0, 1.2], [True, False, True], True, "b"),  # referred, two classes
    (GAMMA, [0.4, 3.0], [True, True, True], True, "b.gamma"),  # shape below 1, referred
    (GAMMA, [2.8, 1.5], [True, False, True], False, "c.gamma"),
    (EXPONENTIAL, [2.0], [True, True, False], False, "d"),
    (DETERMINISTIC, [1.25], [True, True, True], False, "d"),
    (UNIFORM, [0.5, 2.5], [False, False, True], False, "d"),
    (LOGNORMAL, [0.5, 0.3], [False, False, True], False, "d"),  # no class in common
    (TRIANGULAR, [1.0, 1.5, 4.0], [True, True, True], True, "e"),
    (EMPIRICAL, [1.0, 2.0, 3.5, 8.0], [True, False, False], False, "f"),
    (LOGNORMAL, [0.2, 0.4], [False, True, True], False, "f"),  # every class between them
]


def _reference(kind, par, admits, referred_only, everyone, cls, refer, sid):
    """Each drawn service time by :func:`philox.service_of` (a lognormal's from its word's
    ziggurat normal and :func:`vexp.exp_of`)."""
    k0, k1 = KEY
    out = np.full(len(cls), np.nan)
    for i in range(len(cls)):
        if admits[cls[i]] and (everyone or not referred_only or refer[i]):
            if kind == LOGNORMAL:
                x = np.uint64(philox.word(i, sid, G, k0, k1))
                z = philox.ziggurat(x, i, sid, G, k0, k1)
                out[i] = vexp.exp_of(par[0] + par[1] * z)
            else:
                out[i] = philox.service_of(kind, par, i, sid, G, k0, k1)
    return out


@pytest.mark.parametrize("everyone", [False, True])
@pytest.mark.parametrize("cls_type", [np.int8, np.int16])
def test_fill_group_draws_each_time_as_service_of(everyone, cls_type):
    """More travellers than a chunk (``philox.CHUNK``), more referred than a chunk too,
    and every kind: each lane's times are the scalar draws, NaN where none is drawn;
    detections likewise (``fill_caught``)."""
    rng = np.random.default_rng(11)
    n = 2 * philox.CHUNK + 4 * 7 + 3
    cls = rng.choice(3, size=n, p=[0.3, 0.5, 0.2]).astype(cls_type)
    refer = rng.random(n) < 0.7  # > CHUNK referred: the referred list spans chunks
    threat = rng.random(n) < 0.05
    width = max(len(lane[1]) for lane in LANES)
    pars = np.zeros((len(LANES), width))
    for lane, (_, p, _, _, _) in enumerate(LANES):
        pars[lane, :len(p)] = p
    kinds = np.array([lane[0] for lane in LANES], dtype=np.int64)
    sizes = np.array([len(lane[1]) for lane in LANES], dtype=np.int64)
    sids = np.array([philox.stream_id(f"service.{lane[4]}") for lane in LANES],
                    dtype=np.uint64)
    eligible = np.array([lane[2] for lane in LANES], dtype=bool)
    referred_only = np.array([lane[3] for lane in LANES], dtype=bool)
    detect_p = np.array([0.3, 0.9])
    detect_sids = np.array([philox.stream_id("detect.a"), philox.stream_id("detect.b")],
                           dtype=np.uint64)
    service = np.zeros((len(LANES), n))
    caught = np.zeros((2, n), dtype=bool)
    philox.fill_group(kinds, pars, sizes, sids, G, *KEY, eligible, cls, refer, referred_only,
                      everyone, service, detect_p, detect_sids, threat, caught)
    for lane, (kind, p, admits, only, _) in enumerate(LANES):
        want = _reference(kind, np.array(p), admits, only, everyone, cls, refer, sids[lane])
        np.testing.assert_array_equal(service[lane], want, err_msg=f"lane {lane}")
    for s in range(2):
        want = [bool(threat[i])
                and philox.unit(np.uint64(philox.word(i, detect_sids[s], G, *KEY))) < detect_p[s]
                for i in range(n)]
        assert caught[s].tolist() == want
        alone = np.ones(n, dtype=bool)
        philox.fill_caught(detect_p[s], detect_sids[s], G, *KEY, threat, alone)
        assert alone.tolist() == want


def test_fill_service_is_each_draw():
    """The one-lane entry point gives the times themselves (a lognormal exponentiated),
    bit for bit."""
    n = 101
    cls = np.array([i % 2 for i in range(n)], dtype=np.int8)
    refer = np.array([i % 5 == 0 for i in range(n)])
    sid = philox.stream_id("service.y")
    out = np.zeros(n)
    philox.fill_service(LOGNORMAL, np.array([0.2, 0.4]), sid, G, *KEY,
                        np.array([False, True]), cls, refer, True, out)
    want = _reference(LOGNORMAL, [0.2, 0.4], [False, True], True, False, cls, refer, sid)
    np.testing.assert_array_equal(out, want)
    assert np.isnan(out).sum() == n - (cls.astype(bool) & refer).sum()


def test_budget_estimate_is_kept_per_scenario_and_arguments():
    scenario = load_scenario(ROOT / "land_crossing.yaml")
    first = budget.estimate(scenario, 5, "fast")
    assert budget.estimate(scenario, 5, "fast") is first
    assert budget.estimate(scenario, 6, "fast") != first
    assert budget.estimate(scenario, 5, "simpy").seconds > first.seconds
    assert first == budget._estimate(scenario, 5, "fast", False, 1)
    other = load_scenario(ROOT / "land_crossing.yaml", ["arrivals.per_hour=100"])
    assert budget.estimate(other, 5, "fast").travellers != first.travellers


def test_proc_values_are_read(tmp_path):
    path = tmp_path / "meminfo"
    path.write_text("MemTotal:  100 kB\nMemFree:\t 7 kB\nMemAvailable:   42 kB\nBad: x kB\n")
    assert budget._proc_kib(str(path), "MemTotal") == 100 * 1024
    assert budget._proc_kib(str(path), "MemAvailable") == 42 * 1024
    assert budget._proc_kib(str(path), "MemFree") == 7 * 1024
    assert budget._proc_kib(str(path), "Free") is None  # whole names only
    assert budget._proc_kib(str(path), "Bad") is None
    assert budget._proc_kib(str(tmp_path / "missing"), "MemTotal") is None


def test_what_a_strategy_derives_is_kept_per_strategy_and_scenario():
    """A queue-aware risk model's threshold, solved once per strategy object and
    scenario object, is each strategy's own even when a freed strategy's id is reused
    (strategies made and dropped one after another, as the workshop's sliders do)."""
    from borderesim.model.targeting import TargetingContext
    from borderesim.model.targeting.risk_score import RiskScoreStrategy
    from borderesim.run.sampling import stream

    scenario = load_scenario(ROOT / "land_crossing.yaml", ["duration=2h", "warmup=0"])
    inputs = sample(scenario, make_plan(scenario), 1, 0)
    ctx = TargetingContext(scenario, inputs.arrival, inputs.cls, inputs.threat,
                           lambda name: stream(1, 0, name))
    for rate in (0.01, 0.02, 0.05, 0.02, 0.1):
        strategy = RiskScoreStrategy(strategy="risk_score", auc=0.8, referral_rate=rate,
                                     per_waiting=0.1)
        for _ in range(2):
            assert strategy.decide(ctx).dynamic.threshold == strategy.base_threshold(scenario)
        del strategy


def test_a_big_run_draws_its_travellers_as_a_small_one(monkeypatch):
    """Past ``pages.POPULATE_FROM`` bytes of arrival times the sampler counts, allocates
    (``pages.empty``) and places the travellers in two compiled calls instead of one
    (``philox.profile``): the same draws."""
    from borderesim.run import pages

    scenario = load_scenario(ROOT / "airport_shock.yaml", ["duration=10h"])
    plan = make_plan(scenario)
    small = sample(scenario, plan, 3, 1)
    monkeypatch.setattr(pages, "POPULATE_FROM", 64)
    big = sample(scenario, plan, 3, 1)
    assert _digest(big) == _digest(small)
    np.testing.assert_array_equal(big.service, small.service)
