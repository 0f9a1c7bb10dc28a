"""The fast (Numba) engine: agreement on the example scenarios, KPIs, fallback, cache, workers."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from typing import ClassVar, Literal

import numpy as np
import pytest
import yaml

from borderesim.cli import main
from borderesim.errors import ScenarioError
from borderesim.model.scenario import load_scenario
from borderesim.model.targeting import Decision, Strategy
from borderesim.run.engines import fast, simpy_engine
from borderesim.run.engines.fast.kernel import replay
from borderesim.run.engines.fast.support import STAGE_FIELDS, _unknown_fields, supports
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample
from borderesim.run.simulate import simulate
from borderesim.run.trace import Trace

from .conftest import ROOT, SCENARIOS
from .test_engines_agree import assert_same_trace

EXAMPLES = sorted(p for p in SCENARIOS.glob("*.yaml") if not p.name.startswith("strategies"))


def same_kpis(a: list[dict[str, float]], b: list[dict[str, float]]) -> bool:
    """Per-replication KPI dicts equal, NaN equal to NaN."""
    return len(a) == len(b) and all(
        x.keys() == y.keys()
        and all(x[k] == y[k] or (math.isnan(x[k]) and math.isnan(y[k])) for k in x)
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_scenarios_agree_traveller_by_traveller(path):
    scenario = load_scenario(path)
    plan = make_plan(scenario)
    assert supports(scenario) is None
    for replication in (0, 1):
        inputs = sample(scenario, plan, scenario.seed, replication)
        assert_same_trace(simpy_engine.run(plan, inputs), fast.run(plan, inputs))


def strategy_blocks(path) -> dict[str, dict]:
    """The strategies of a strategies file, each list of swept values cut to its last value."""
    def pick(value):
        if isinstance(value, list) and value and not isinstance(value[0], dict):
            return value[-1]
        if isinstance(value, list):
            return [pick(v) for v in value]
        if isinstance(value, dict):
            return {k: pick(v) for k, v in value.items()}
        return value
    return {name: pick(block) for name, block in yaml.safe_load(path.read_text())
            ["strategies"].items()}


@pytest.mark.parametrize("name", list(strategy_blocks(SCENARIOS / "strategies_land.yaml")))
def test_land_crossing_strategies_agree(name):
    """Every strategy of the land-crossing comparison, the queue-aware one included."""
    block = strategy_blocks(SCENARIOS / "strategies_land.yaml")[name]
    scenario = load_scenario(SCENARIOS / "land_crossing.yaml",
                             [f"targeting={json.dumps(block)}"])
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed, 0)
    ref, got = simpy_engine.run(plan, inputs), fast.run(plan, inputs)
    assert_same_trace(ref, got)
    if inputs.dynamic is not None:
        decided = ~np.isnan(got.threshold)
        assert decided.sum() > 100
        # the threshold rose with the queue for some travellers
        assert got.threshold[decided].max() > inputs.dynamic.threshold


def test_kpis_identical_through_simulate():
    kw = dict(replications=2, seed=11)
    ref = simulate(SCENARIOS / "land_crossing.yaml", engine="simpy", **kw)
    got = simulate(SCENARIOS / "land_crossing.yaml", engine="fast", **kw)
    assert got.engine == "fast" and ref.engine == "simpy"
    assert same_kpis(ref.per_replication, got.per_replication)


def test_auto_picks_fast_for_examples():
    result = simulate(SCENARIOS / "cargo_terminal.yaml", engine="auto", replications=1)
    assert result.engine == "fast"
    assert not any("fast engine" in w for w in result.warnings)


def test_event_count_is_exact():
    """Events handled = arrivals + completions + roster changes before the horizon."""
    scenario = load_scenario(SCENARIOS / "land_crossing.yaml")
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed, 0)
    trace = Trace.empty(plan.n_stages, inputs.n, inputs.refer)
    events = replay(inputs.arrival, inputs.cls, inputs.service, np.zeros(0), False, 0.0, 0.0,
                    plan.lane_stage, plan.lane_start, plan.stage_referred, plan.flush_above,
                    plan.eligible, plan.roster, plan.horizon, trace.lane, trace.entry,
                    trace.start, trace.end, trace.exit, trace.referred, trace.threshold)
    rosters = sum(1 for h in range(1, 1000) if h * 60.0 < plan.horizon)
    arrivals = int((inputs.arrival < plan.horizon).sum())
    completions = int((~np.isnan(trace.end)).sum())
    assert events == arrivals + completions + rosters


def test_no_travellers_and_everyone_unfinished():
    quiet = load_scenario({
        "name": "quiet", "duration": 60, "arrivals": {"per_hour": 1e-9},
        "stages": {"desk": {"servers": [0] * 23 + [1], "service": {"distribution":
                                                                   "exponential", "mean": 2}}},
    })
    plan = make_plan(quiet)
    inputs = sample(quiet, plan, 0, 0)
    assert inputs.n == 0
    assert fast.run(plan, inputs).exit.shape == (0,)
    closed = load_scenario({
        "name": "closed", "duration": 120, "arrivals": {"per_hour": 60},
        "stages": {"desk": {"servers": [0] * 23 + [1], "service": {"distribution":
                                                                   "exponential", "mean": 2}}},
    })
    plan = make_plan(closed)
    inputs = sample(closed, plan, 0, 0)
    trace = fast.run(plan, inputs)
    assert inputs.n > 50 and np.isnan(trace.exit).all() and np.isnan(trace.start).all()
    assert_same_trace(simpy_engine.run(plan, inputs), trace)


# --------------------------------------------------------------------------- fallback


class PythonOnly(Strategy):
    """A user's own strategy that needs Python while the queues run."""

    strategy: Literal["python_only_test"]
    simpy_only: ClassVar[str] = "it reads the live queue in Python"

    def decide(self, ctx) -> Decision:
        zeros = np.zeros(ctx.n)
        return Decision(refer=zeros.astype(bool), p_refer_if_threat=zeros)


def python_only_scenario():
    base = load_scenario(SCENARIOS / "cargo_terminal.yaml")
    return base.model_copy(update={"targeting": PythonOnly(strategy="python_only_test")})


def test_auto_falls_back_to_simpy_and_says_why():
    scenario = python_only_scenario()
    assert "python_only_test" in supports(scenario)
    result = simulate(scenario, engine="auto", replications=1)
    assert result.engine == "simpy"
    assert any("fast engine cannot run this scenario" in w and "reads the live queue" in w
               for w in result.warnings)


def test_fast_refuses_what_it_cannot_run():
    with pytest.raises(ScenarioError, match="fast engine cannot run this scenario"):
        simulate(python_only_scenario(), engine="fast", replications=1)


def test_fields_unknown_to_the_kernels_are_reported():
    """A stage field the kernels were not written for is named once set (here: booths)."""
    scenario = load_scenario(SCENARIOS / "cargo_terminal.yaml")
    stage = scenario.stages["gate"]
    assert stage.booths is not None
    reason = _unknown_fields(stage, STAGE_FIELDS - {"booths"}, "stages.gate.")
    assert reason == "stages.gate.booths is not implemented in the fast engine"
    assert _unknown_fields(scenario.stages["xray"], STAGE_FIELDS - {"booths"}, "") is None


# --------------------------------------------------------------------------- workers, cache


def test_parallel_replications_equal_serial():
    kw = dict(engine="fast", replications=3, seed=5, keep_traces=True)
    serial = simulate(SCENARIOS / "land_crossing.yaml", workers=1, **kw)
    parallel = simulate(SCENARIOS / "land_crossing.yaml", workers=2, **kw)
    assert same_kpis(serial.per_replication, parallel.per_replication)
    assert json.dumps(serial.to_dict()) == json.dumps(parallel.to_dict())
    for (i1, t1), (i2, t2) in zip(serial.traces, parallel.traces, strict=True):
        np.testing.assert_array_equal(i1.arrival, i2.arrival)
        assert_same_trace(t1, t2)


def test_cli_workers_option(capsys):
    args = ["run", str(SCENARIOS / "cargo_terminal.yaml"), "--replications", "2", "--json"]
    assert main([*args, "--workers", "2"]) == 0
    parallel = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == parallel
    with pytest.raises(SystemExit):
        main([*args, "--workers", "0"])


def test_second_process_loads_kernels_from_cache(tmp_path):
    """Compile into an empty cache dir in one process; a second process loads, not compiles."""
    code = ("from borderesim.run.simulate import simulate; "
            f"r = simulate({str(SCENARIOS / 'cargo_terminal.yaml')!r}, engine='fast', "
            "replications=1); print(r.kpis['throughput_per_hour']['mean'])")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "NUMBA_DEBUG_CACHE": "1"}
    first = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, text=True,
                           capture_output=True, check=True)
    assert "data saved" in first.stdout and "replay_flat" in first.stdout
    assert list(tmp_path.rglob("kernel.replay_flat-*.nbi"))
    second = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, text=True,
                            capture_output=True, check=True)
    loaded = [ln for ln in second.stdout.splitlines() if "replay_flat" in ln]
    assert loaded and all("loaded" in ln for ln in loaded)
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]
