"""Hostile sizes and extreme numbers: every input runs (exit 0) or is refused in one line (exit 2).

Families (issue 12): sizes no one refused (rates, durations, servers, flush_above,
replications, sweep grids and samples), numbers validation accepted but the model could
not compute (cv, tiny durations, risk-score shifts, huge times), and ``--engine auto``
on a scenario the fast engine cannot hold. A few families go through the real command
in a subprocess under a 4 GB address-space limit and a 30 s timeout; the rest are
checked in-process.
"""

from __future__ import annotations

import copy
import json
import math
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borderesim.cli import main
from borderesim.errors import ScenarioError
from borderesim.model import limits
from borderesim.model.scenario import load_scenario
from borderesim.run import budget
from borderesim.run.plan import make_plan
from borderesim.run.simulate import simulate
from borderesim.run.sweep.spec import load_sweep

ROOT = Path(__file__).resolve().parent.parent
LIMIT_AS = 4 * 2**30
EXP = {"distribution": "exponential", "mean": 1.0}
SMALL = {
    "name": "small", "duration": "2h", "replications": 2, "seed": 3,
    "arrivals": {"per_hour": 60},
    "stages": {"desk": {"servers": 2, "service": EXP}},
}
YEAR = ["arrivals.per_hour=1250", "stages.primary.lanes.general.servers=26",
        "stages.primary.lanes.ready.servers=10", "stages.secondary.servers=12", "duration=365d"]
"""experiments/bench_engines.py's year at 30 000 travellers a day."""


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def cli(*args: str) -> tuple[int, str]:
    """``python -m borderesim ARGS`` under a 4 GB address-space limit and 30 s."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(budget.ENV, None)
    proc = subprocess.run([sys.executable, "-m", "borderesim", *args], capture_output=True,
                          text=True, timeout=30, preexec_fn=_limit, env=env, cwd=ROOT)
    return proc.returncode, proc.stderr


def assert_clean(code: int, stderr: str) -> None:
    """Exit 0, or exit 2 with one ``borderesim: error:`` line; never a traceback."""
    assert "Traceback" not in stderr, stderr
    assert code in (0, 2), stderr
    if code == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("borderesim: error: "), stderr


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- the real command, limited


def test_cli_huge_rate_refused_under_address_limit(tmp_path):
    """``per_hour: 1e9`` and ``1e7`` are refused (by memory) before numpy is asked."""
    scen = write(tmp_path, "s.yaml", json.dumps(SMALL))
    for rate in ("1.0e+9", "1.0e+7"):
        code, err = cli("run", str(scen), "--set", f"arrivals.per_hour={rate}",
                        "--set", "duration=24h")
        assert_clean(code, err)
        assert code == 2 and "arrivals.per_hour" in err and "GiB" in err, err
        assert "address-space limit" in err


def test_cli_validate_rejects_extremes(tmp_path):
    """``validate`` names the field and its range; ``run`` of a sane file still works."""
    data = copy.deepcopy(SMALL)
    data["stages"]["desk"]["service"] = {"distribution": "gamma", "mean": 1, "cv": 1e-200}
    code, err = cli("validate", str(write(tmp_path, "cv.yaml", json.dumps(data))))
    assert_clean(code, err)
    assert code == 2 and "stages.desk.service.cv" in err and "between 0.001 and 100" in err
    code, err = cli("run", str(write(tmp_path, "ok.yaml", json.dumps(SMALL))), "--json")
    assert_clean(code, err)
    assert code == 0


def test_cli_sweep_grid_of_30_to_the_7(tmp_path):
    write(tmp_path, "s.yaml", json.dumps(SMALL))
    grid = {f"stages.desk.lanes.l{i}.servers": list(range(1, 31)) for i in range(7)}
    sweep = write(tmp_path, "w.yaml", json.dumps({"scenario": "s.yaml", "grid": grid}))
    code, err = cli("sweep", str(sweep), "--out", str(tmp_path / "out"))
    assert_clean(code, err)
    assert code == 2 and "grid" in err and "21,870,000,000 points" in err


# ---------------------------------------------------------------- sizes, in-process


@pytest.mark.parametrize(("override", "field", "words"), [
    ("arrivals.per_hour=1.0e+300", "arrivals.per_hour", "would need"),
    ("duration=1000000h", "duration", "at most 10,000,000 min"),
    ("duration=1.0e+300", "duration", "at most 10,000,000 min"),
    ("warmup=1.0e+300", "warmup", "at most 10,000,000 min"),
    ("stages.desk.servers=100000000", "stages.desk.servers", "at most 100,000 servers"),
    ("stages.desk.servers=10000000000000000000", "stages.desk.servers", "at most 100,000"),
    ("stages.desk.flush_above=100000000000000000000", "stages.desk.flush_above", "1000000000"),
    ("replications=1000000000", "replications", "100000"),
    ("duration=1.0e-300", "duration", "at least 1 min"),
    ("stages.desk.service={distribution: gamma, mean: 1, cv: 1.0e-200}",
     "stages.desk.service.cv", "between 0.001 and 100"),
    ("stages.desk.service={distribution: gamma, mean: 1, cv: 1.0e+200}",
     "stages.desk.service.cv", "between 0.001 and 100"),
    ("stages.desk.service={distribution: lognormal, mean: 1, cv: 1.0e+200}",
     "stages.desk.service.cv", "between 0.001 and 100"),
    ("stages.desk.service={distribution: uniform, low: 0, high: 1.0e+308}",
     "stages.desk.service.high", "at most 10,000,000 min"),
    ("targeting={strategy: risk_score, auc: 0.8, referral_rate: 0.1, shift: {all: 1.0e+308}}",
     "targeting.shift.all", "less than or equal to 50"),
    ("targeting={strategy: sqrt_biased, referral_rate: 0.1, exponent: 1.0e+300}",
     "targeting.exponent", "less than or equal to 10"),
])
def test_refused_naming_field_and_range(override, field, words):
    with pytest.raises(ScenarioError) as err:
        simulate(load_scenario(SMALL, [override]), replications=1)
    assert err.value.path == field, str(err.value)
    assert words in str(err.value)


def test_cli_replications_beyond_the_bound(capsys):
    """``--replications`` is bounded like the field."""
    with pytest.raises(ScenarioError, match="at most 100,000 replications"):
        simulate(SMALL, replications=10**9)


def test_refusal_says_how_much_and_what_to_change(monkeypatch):
    monkeypatch.setenv(budget.ENV, "1G")
    scenario = load_scenario(SMALL, ["arrivals.per_hour=100000000"])
    with pytest.raises(ScenarioError) as err:
        simulate(scenario)
    text = str(err.value)
    assert err.value.path == "arrivals.per_hour"
    # the run samples its drain too (by default one more day): twice a day's travellers
    need = budget.estimate(scenario, 1).replication_bytes
    assert 25 * 2**30 < need < 60 * 2**30  # ~80 bytes a traveller (KPIs one array at a time)
    assert f"~{budget.gib(need)}" in text and "4e+08 travellers" in text
    assert f"{budget.ENV}=1G" in text and "lower per_hour, duration, warmup or drain_cap" in text


def test_kept_traces_blame_replications(monkeypatch):
    """``--out`` keeps every replication: too many are refused naming ``replications``."""
    monkeypatch.setenv(budget.ENV, "60M")
    scen = load_scenario(SMALL, ["arrivals.per_hour=20000"])  # ~40 000 a replication, ~6 MB
    assert budget.check(scen, 2) is None
    with pytest.raises(ScenarioError) as err:
        simulate(scen, replications=50, keep_traces=True)
    assert err.value.path == "replications" and "--out" in str(err.value)


def test_gap_checks_its_memory(monkeypatch):
    from borderesim.analysis.capacity import gap

    monkeypatch.setenv(budget.ENV, "60M")
    scen = load_scenario(SMALL, ["arrivals.per_hour=20000"])
    with pytest.raises(ScenarioError, match="gap replays every replication"):
        gap(scen, ["desk.wait_p95<=15min"], replications=50)


def test_sampling_refuses_one_oversized_replication(monkeypatch):
    """Every path to the engines samples first; sampling itself refuses."""
    from borderesim.run.sampling import sample

    monkeypatch.setenv(budget.ENV, "1M")
    scen = load_scenario(SMALL, ["arrivals.per_hour=100000"])
    with pytest.raises(ScenarioError, match="would need"):
        sample(scen, make_plan(scen), 0, 0)


def test_long_run_warns_once_before_it_starts(capsys, monkeypatch):
    monkeypatch.setattr(budget, "WARN_SECONDS", 0.0)
    simulate(SMALL, replications=1)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("borderesim: warning: this run may take")


def test_a_year_at_30000_a_day_is_not_refused(monkeypatch):
    """The benchmark's year (11 M travellers) fits in 4 GiB; it is estimated, not refused."""
    monkeypatch.setenv(budget.ENV, "4G")
    scen = load_scenario(ROOT / "scenarios" / "land_crossing.yaml", YEAR)
    b = budget.estimate(scen, 1, "fast")
    assert 10.5e6 < b.travellers < 11.5e6
    assert b.replication_bytes < 3 * 2**30
    budget.check(scen, 10, "fast")  # no ScenarioError


def test_memory_cap_sources(monkeypatch):
    monkeypatch.setenv(budget.ENV, "512M")
    assert budget.memory_cap() == (512 * 2**20, f"{budget.ENV}=512M")
    monkeypatch.setenv(budget.ENV, "lots")
    with pytest.raises(ScenarioError, match=budget.ENV):
        budget.memory_cap()
    monkeypatch.delenv(budget.ENV)
    cap, how = budget.memory_cap()
    assert cap > 0 and how


def test_expected_travellers_integrates_the_profile():
    rates = [float(h) for h in range(24)]
    scen = load_scenario({**SMALL, "arrivals": {"per_hour": rates}, "duration": "30h",
                          "warmup": "30min"})
    whole = sum(rates) + sum(rates[:6]) + 0.5 * rates[6]
    # ... and on over the drain (24 h by default: 30:30 to 54:30, one whole day)
    assert budget.expected_travellers(scen) == pytest.approx(whole + sum(rates))
    assert budget.expected_travellers(scen.model_copy(update={"drain_cap": 0.0})) == \
        pytest.approx(whole)


# ---------------------------------------------------------------- sweeps


def sweep(tmp_path: Path, body: dict) -> Path:
    write(tmp_path, "s.yaml", json.dumps(SMALL))
    return write(tmp_path, "w.yaml", json.dumps({"scenario": "s.yaml", **body}))


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"sample": {"method": "lhs", "n": 10**9, "ranges": {"seed": [0, 5]}}}, "sample.n",
     "at most 100,000 points"),
    ({"sample": {"method": "sobol", "n": 2**20, "ranges": {"seed": [0, 5]}}}, "sample.n",
     "3,145,728 points"),
    ({"replications": 100_000, "grid": {"seed": list(range(100))}}, "replications",
     "10,000,000 runs"),
    ({"sample": {"method": "lhs", "n": 3, "ranges": {"stages.desk.servers": [1, 10**30]}}},
     "sample.ranges.stages.desk.servers", "at most 100,000 servers"),
    ({"sample": {"method": "lhs", "n": 3, "ranges": {"arrivals.per_hour": [1, 10**30]}}},
     "sample.ranges.arrivals.per_hour", "would need"),
])
def test_sweep_sizes_refused_before_generating(tmp_path, body, field, words):
    with pytest.raises(ScenarioError) as err:
        load_sweep(sweep(tmp_path, body))
    assert err.value.path == field, str(err.value)
    assert words in str(err.value)


# ---------------------------------------------------------------- --engine auto


def wide(n: int) -> dict:
    lanes = {f"l{i}": {"servers": 1, "service": EXP} for i in range(n)}
    return {**SMALL, "stages": {"hall": {"lanes": lanes}}}


def test_auto_falls_back_when_the_kernel_cannot_hold_the_lanes(monkeypatch, capsys, tmp_path):
    """The kernel packs lane numbers in 16 bits; more lanes run with SimPy under ``auto``."""
    import borderesim.run.engines.fast as fast

    monkeypatch.setattr(fast, "MAX_LANES", 4)
    result = simulate(wide(5), replications=1)
    assert result.engine == "simpy"
    assert "5 lanes" in result.warnings[0] and "using simpy" in result.warnings[0]
    assert simulate(wide(3), replications=1).engine == "fast"
    path = write(tmp_path, "wide.yaml", json.dumps(wide(5)))
    assert main(["run", str(path), "--engine", "fast"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "handles at most 3" in err[0] and "--engine simpy or auto" in err[0]


def test_real_lane_limit_is_reported():
    from borderesim.run.engines.fast import MAX_LANES, supports

    assert MAX_LANES == 1 << 16
    scen = load_scenario(wide(2))
    assert supports(scen) is None


# ---------------------------------------------------------------- fuzzing numeric fields

RICH = {
    "name": "rich", "duration": 90.0, "warmup": 10.0, "replications": 1, "seed": 1,
    "arrivals": {"per_hour": [60.0] * 24},
    "classes": {"a": {"share": 0.5, "threat_prevalence": 0.01},
                "b": {"share": 0.5, "threat_prevalence": 0.1}},
    "stages": {
        "p": {"detection_probability": 0.1, "booths": 9, "flush_above": 30, "lanes": {
            "x": {"servers": [2] * 24,
                  "service": {"distribution": "lognormal", "mean": 1.0, "cv": 0.5}},
            "y": {"servers": 1, "classes": ["b"],
                  "service": {"distribution": "gamma", "mean": 1.0, "cv": 0.5}},
            "z": {"servers": 1, "service": {"distribution": "uniform", "low": 0.5, "high": 1.5}},
            "w": {"servers": 1, "service": {"distribution": "triangular", "low": 0.5,
                                            "mode": 1.0, "high": 1.5}},
            "v": {"servers": 1, "service": {"distribution": "empirical", "values": [0.5, 1.0]}},
        }},
        "s": {"visits": "referred", "servers": 2, "service": EXP, "detection_probability": 0.8},
    },
}
STRATEGIES = [
    {"strategy": "risk_score", "auc": 0.8, "referral_rate": 0.1, "shift": {"a": 0.5},
     "per_waiting": 0.1},
    {"strategy": "sqrt_biased", "referral_rate": 0.1, "exponent": 0.5,
     "prior_risk": {"a": 1.0, "b": 2.0}},
    {"layers": [{"strategy": "watchlist", "coverage": 0.3, "false_hit_rate": 0.01,
                 "outages": [{"start": 30.0, "end": 60.0, "daily": False}],
                 "fallback": {"strategy": "random", "referral_rate": 0.2}},
                {"strategy": "explore", "share": 0.01}]},
]
EXTREMES = [0, 5e-324, 1e-300, 1e-12, 0.999999999, 1e6, 1e12, 1e300, 1.7e308, -1e300, 2**63,
            10**30]


def numeric_leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from numeric_leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:2]):
            yield from numeric_leaves(value, (*path, i))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path


def with_value(data: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


CASES = [({**RICH, "targeting": t}, p) for t in STRATEGIES
         for p in numeric_leaves({**RICH, "targeting": t})]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), value=st.sampled_from(EXTREMES))
def test_extreme_numbers_run_or_are_refused(case, value):
    """Any numeric field at an extreme finite value: a ScenarioError, or finite JSON."""
    data, path = case
    os.environ[budget.ENV] = "256M"
    try:
        result = simulate(load_scenario(with_value(data, path, value)), engine="fast")
    except ScenarioError as exc:
        assert "\n" not in str(exc)
        return
    finally:
        del os.environ[budget.ENV]
    json.dumps(result.to_dict(), allow_nan=False)
    assert all(math.isfinite(v) or math.isnan(v)
               for ci in result.kpis.values() for v in ci.values())


def test_limits_are_documented_in_messages():
    assert limits.years(limits.MAX_MINUTES) == "about 19 years"


def test_parallel_workers_blamed_when_they_do_not_fit(monkeypatch):
    # ~6 MB a replication, and 8 x 1.9 MB of waits kept for the pooled percentiles
    monkeypatch.setenv(budget.ENV, "30M")
    scen = load_scenario(SMALL, ["arrivals.per_hour=20000"])
    assert budget.check(scen, 8, workers=1) is None
    with pytest.raises(ScenarioError) as err:
        budget.check(scen, 8, workers=8)
    assert err.value.path == "--workers" and "use fewer workers" in str(err.value)
