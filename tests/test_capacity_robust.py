"""A capacity plan that holds on fresh travellers (issue 15).

Stationary M/M/c cases (30-s exponential service, so a queue relaxes in about a minute
and hours hardly interact): the answer must equal Erlang-C's minimum in every counted
hour, for every seed, with nothing unresolved, and meet the target on fresh travellers.
The runs cover hours 02-07 (a 2-hour warm-up, then 6 hours); today's roster is
Erlang-C's count, so the warm-up starts the counted hours in the stationary state (the
search itself always starts from Erlang-C for the demand it sees, whatever today's
roster is).

How close to a boundary: Erlang-C's share of travellers waiting longer than the limit
is, at the answer ``c`` and at ``c - 1``, as near as 1.7 percentage points below and
1.8 points above the 5 % a p95 target allows ("close" cases below). That is as close as
a 95 % decision resolves within 120 replications of 6 hours at these loads (checked with
seeds 0-3 on the 0.2.0 streams: seeds 1-3 resolve within 80, seed 0's 06:00 needs
more). Closer still (0.56 points: 540/h, limit 45 s) does not resolve: that case checks
the answer names the unresolved hours and their two candidate counts instead.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from borderesim.analysis.by_hour import stage_waits
from borderesim.analysis.capacity import gap
from borderesim.analysis.capacity.bounds import ratio_bounds
from borderesim.analysis.quantiles import pooled_interval, quantile, tail_of
from borderesim.analysis.theory import (
    min_servers_for_mean_wait,
    min_servers_for_wait_quantile,
    mmc_mean_wait,
    mmc_wait_exceeds,
)
from borderesim.cli import main
from borderesim.run.drain import replay
from borderesim.run.engines import get_engine
from borderesim.run.plan import make_plan
from tests.conftest import single_stage

SERVICE = {"distribution": "exponential", "mean": "30s"}
COUNTED = list(range(2, 8))
FRESH = 40

# (arrivals per hour, target, Erlang-C's answer, how close: share at c, share at c - 1)
STATIONARY = [
    (240, "desk.wait_p95<=30s", 4, "comfortable"),
    (240, "desk.wait_p95<=6s", 5, "close: 3.3 % at c"),
    (540, "desk.wait_p95<=30s", 7, "comfortable"),
    (540, "desk.wait_mean<=6s", 7, "mean 0.043 / 0.141 min against 0.1"),
    (900, "desk.wait_p95<=18s", 11, "close: 6.8 % at c - 1"),
]


def mm_c(per_hour: float, servers: int, seed: int, hours: float = 6) -> dict:
    return single_stage(per_hour, servers, SERVICE, hours=hours, warmup=2, replications=10,
                        seed=seed)


def limit_of(target: str) -> float:
    """Minutes of a ``...<=NNs`` target."""
    return float(target.split("<=")[1].rstrip("s")) / 60


def erlang_c_answer(per_hour: float, target: str) -> int:
    lam, limit = per_hour / 60, limit_of(target)
    if "mean" in target:
        return min_servers_for_mean_wait(lam, 0.5, limit)
    return min_servers_for_wait_quantile(lam, 0.5, limit, 0.95)


def test_the_cases_are_as_close_as_stated():
    for per_hour, target, c, _ in STATIONARY:
        assert erlang_c_answer(per_hour, target) == c
    over = {(per_hour, t): (mmc_wait_exceeds(per_hour / 60, 0.5, c, limit_of(t)),
                            mmc_wait_exceeds(per_hour / 60, 0.5, c - 1, limit_of(t)))
            for per_hour, t, c, _ in STATIONARY if "p95" in t}
    assert over[(240, "desk.wait_p95<=6s")][0] == pytest.approx(0.0328, abs=5e-4)
    assert over[(900, "desk.wait_p95<=18s")][1] == pytest.approx(0.0684, abs=5e-4)
    margins = [min(0.05 - at_c, at_less - 0.05) for at_c, at_less in over.values()]
    assert min(margins) < 0.02
    assert mmc_mean_wait(9, 0.5, 7) < 0.1 < mmc_mean_wait(9, 0.5, 6)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("per_hour,target,c,how", STATIONARY)
def test_stationary_answer_is_erlang_c_in_every_hour(per_hour, target, c, how, seed):
    result = gap(mm_c(per_hour, c, seed), [target], max_replications=120,
                 validation_replications=FRESH)
    assert result.required[0, COUNTED].tolist() == [c] * len(COUNTED), how
    assert not result.unresolved.any()
    stage = result.to_dict()["stages"]["desk"]
    assert stage["unresolved"] == []
    assert stage["validation"]["hours_judged"] == len(COUNTED)
    assert stage["validation"]["hours_met"] == len(COUNTED)


def test_too_close_to_call_is_named_with_both_counts():
    # 540/h, limit 45 s: Erlang-C gives 4.44 % at 6 servers (0.56 points inside the 5 %)
    result = gap(mm_c(540, 6, seed=0), ["desk.wait_p95<=45s"], max_replications=20,
                 validation_replications=0)
    req = result.required[0, COUNTED]
    assert set(req.tolist()) <= {6, 7}
    stage = result.to_dict()["stages"]["desk"]
    named = {u["hour"]: u["candidates"] for u in stage["unresolved"]}
    assert named, "at 20 replications some hour cannot be decided"
    for h in COUNTED:
        if result.required[0, h] == 7:
            assert named[h] == [6, 7]
            assert stage["by_hour"][h]["candidates"] == [6, 7]
    assert result.replications == 20
    assert any("unresolved" in w and "6 or 7" in w for w in result.warnings)


def time_varying(seed: int) -> dict:
    per_hour = [350] * 24
    per_hour[2:8] = [350, 550, 900, 900, 450, 250]
    return {"name": "time-varying", "duration": "6h", "warmup": "2h", "replications": 10,
            "seed": seed, "arrivals": {"per_hour": per_hour},
            "stages": {"desk": {"servers": 8, "service": SERVICE}}}


def test_time_varying_roster_holds_on_fresh_travellers_and_none_can_go():
    result = gap(time_varying(0), ["desk.wait_p95<=30s"], max_replications=80,
                 validation_replications=60)
    assert not result.unresolved.any()
    val = result.validation
    assert val is not None and val.seed == 1 and val.replications == 60
    assert all(val.met[0, h] for h in COUNTED)
    summary = result.to_dict()["stages"]["desk"]["validation"]
    assert summary["text"].startswith("met in 6 of 6 hours on 60 fresh replications; worst hour")
    # remove each server-hour in turn: some hour must miss the target on the same fresh days
    for h in COUNTED:
        fewer = result.required.copy()
        fewer[0, h] -= 1
        check = result.validate(fewer)
        assert not all(check.met[0, hh] for hh in COUNTED), f"hour {h} could lose a server"


def two_stage() -> dict:
    return {
        "name": "two stages", "duration": "4h", "warmup": "1h", "replications": 10, "seed": 5,
        "arrivals": {"per_hour": 300},
        "classes": {"all": {"share": 1.0, "threat_prevalence": 0.01}},
        "stages": {
            "primary": {"servers": 6, "service": SERVICE},
            "secondary": {"visits": "referred", "servers": 1, "booths": 1,
                          "service": {"distribution": "exponential", "mean": "10min"}},
        },
        "targeting": {"strategy": "random", "referral_rate": 0.2},
    }


def test_a_stage_is_judged_on_its_own_targets():
    # secondary (60 referrals an hour, one booth of 10-min checks) can never meet 5 min;
    # primary's answer must be the one it gets with its own target alone
    alone = gap(two_stage(), ["primary.wait_p95<=30s"], validation_replications=0)
    both = gap(two_stage(), ["primary.wait_p95<=30s", "secondary.wait_p95<=5min"],
               validation_replications=0)
    p = alone.lanes_of("primary")
    assert np.array_equal(alone.required[p], both.required[p])
    assert both.to_dict()["stages"]["secondary"]["infrastructure_gap_hours"]


def test_a_stage_settled_early_is_final():
    # 15 referrals an hour, 8 booths: secondary's target is reachable but takes 80
    # replications to decide; primary (an easy 1-min target) settles sooner (10 or 20
    # replications, as the streams fall) and keeps that answer
    sc = two_stage()
    sc["stages"]["secondary"]["booths"] = 8
    sc["targeting"]["referral_rate"] = 0.05
    alone = gap(sc, ["primary.wait_p95<=1min"], validation_replications=0, max_replications=80)
    both = gap(sc, ["primary.wait_p95<=1min", "secondary.wait_p95<=10min"],
               validation_replications=0, max_replications=80)
    assert alone.levels[-1] <= 20 and both.levels[-1] > alone.levels[-1]
    p = alone.lanes_of("primary")
    assert np.array_equal(alone.required[p], both.required[p])


def test_more_replications_give_the_same_answer():
    first = gap(mm_c(540, 7, seed=2), ["desk.wait_p95<=30s"], validation_replications=0)
    more = gap(mm_c(540, 7, seed=2), ["desk.wait_p95<=30s"], replications=40,
               validation_replications=0)
    assert more.levels[0] == 40
    assert np.array_equal(first.required, more.required)


def test_ratio_bounds():
    rng = np.random.default_rng(0)
    # 2000 independent studies of 20 replications, each a cell with a true share of 0.1
    n = rng.integers(80, 120, size=(20, 2000)).astype(float)
    x = rng.binomial(n.astype(int), 0.1).astype(float)
    est, low, high = ratio_bounds(x, n, 0.95)
    assert np.allclose(est, x.sum(0) / n.sum(0))
    assert (low < est).all() and (est < high).all()
    assert 0.93 <= (high >= 0.1).mean() <= 0.97  # one-sided 95 % bounds
    assert 0.93 <= (low <= 0.1).mean() <= 0.97
    one = ratio_bounds(x[:1], n[:1], 0.95)
    assert np.isinf(one[2]).all()
    empty = ratio_bounds(np.zeros((3, 1)), np.zeros((3, 1)), 0.95)
    assert all(np.isnan(a).all() for a in empty)


def test_validation_reports_the_pooled_percentile_of_fresh_travellers():
    result = gap(mm_c(240, 4, seed=0, hours=3), ["desk.wait_p95<=30s"],
                 validation_replications=10, validation_seed=9)
    val = result.validation
    plan = make_plan(result.scenario)
    plan = replace(plan, roster=result.required)
    engine = get_engine(result.engine)
    runs = [replay(result.scenario, plan, engine, 9, r) for r in range(10)]
    waits = [stage_waits(plan, inputs, trace, 0) for inputs, trace in runs]
    for h in (2, 3, 4):
        tails = [tail_of(w.wait[w.hour == h]) for w in waits]
        want = pooled_interval(tails, 0.95, 0.95)
        assert val.value[0, 0, h] == want.value == quantile(
            np.concatenate([w.wait[w.hour == h] for w in waits]), 0.95)
        assert (val.low[0, 0, h], val.high[0, 0, h]) == (want.low, want.high)
        assert val.stage_p95[0, h] == want.value


def test_cli_json_carries_the_decision_and_the_validation(tmp_path, capsys):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(mm_c(240, 4, seed=0, hours=3)))
    assert main(["gap", str(path), "--target", "desk.wait_p95<=30s", "--json",
                 "--confidence", "0.9", "--max-replications", "20",
                 "--validation-replications", "10", "--validation-seed", "77"]) == 0
    text = capsys.readouterr().out
    d = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))
    assert d["confidence"] == 0.9 and d["replications_max"] == 20
    assert d["replications_by_round"][0] == 10 and d["replications"] <= 20
    assert d["validation_seed"] == 77 and d["validation_replications"] == 10
    st = d["stages"]["desk"]
    assert st["validation"]["text"].startswith("met in ")
    row = st["by_hour"][3]
    assert row["validation"]["kpi"] == "wait_p95" and row["validation"]["limit"] == 0.5
    lo, hi = row["wait_p95_required_interval"]
    assert lo <= row["wait_p95_required"] <= hi


@pytest.mark.parametrize("args,problem", [
    (["--replications", "10", "--max-replications", "5"], "--max-replications"),
    (["--validation-replications", "1"], "--validation-replications"),
    (["--validation-seed", "0"], "--validation-seed"),
])
def test_cli_bad_options_exit_2(tmp_path, capsys, args, problem):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(mm_c(240, 4, seed=0, hours=3)))
    assert main(["gap", str(path), "--target", "desk.wait_p95<=30s", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and problem in err[0]


@pytest.mark.parametrize("value", ["1.2", "0.3", "x"])
def test_cli_bad_confidence_is_refused_by_argparse(tmp_path, capsys, value):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(mm_c(240, 4, seed=0, hours=3)))
    with pytest.raises(SystemExit) as exc:
        main(["gap", str(path), "--target", "desk.wait_p95<=30s", "--confidence", value])
    assert exc.value.code == 2
    assert "--confidence" in capsys.readouterr().err.strip().splitlines()[-1]
