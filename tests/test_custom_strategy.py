"""A researcher's own Python strategy: registered, validated, run by SimPy, refused by fast."""

from __future__ import annotations

import json
from typing import ClassVar, Literal

import numpy as np
import pytest
import yaml

from borderesim import ScenarioError, load_scenario, simulate
from borderesim.cli import main
from borderesim.model.targeting import Decision, PythonRule, Strategy, register_strategy
from tests.invariants import check_trace


@register_strategy
class QuietQueue(Strategy):
    """Refer a traveller only while at most ``max_waiting`` wait at secondary."""

    strategy: Literal["quiet_queue"]
    max_waiting: int = 0
    simpy_only: ClassVar[str] = "its rule is Python code run while the queues move"

    def decide(self, ctx):
        n = ctx.n
        return Decision(refer=np.zeros(n, dtype=bool), p_refer_if_threat=np.full(n, 0.5),
                        dynamic=PythonRule(lambda i, waiting: waiting <= self.max_waiting))


@pytest.fixture
def quiet(demo):
    demo["duration"] = "6h"
    demo["targeting"] = {"strategy": "quiet_queue", "max_waiting": 1}
    return demo


def test_auto_falls_back_to_simpy_and_says_why(quiet):
    res = simulate(quiet, replications=2, keep_traces=True)
    assert res.engine == "simpy"
    assert any("quiet_queue" in w and "simpy" in w for w in res.warnings)
    assert res.mean("referral_rate") > 0
    sc = load_scenario(quiet)
    from borderesim.run.plan import make_plan

    plan = make_plan(sc)
    for inputs, trace in res.traces:
        check_trace(plan, inputs, trace)
        # the rule held: whoever was referred found at most one waiting at secondary
        entry, start = trace.entry[1], trace.start[1]
        wait_end = np.where(np.isnan(start), np.inf, start)
        for i in np.flatnonzero(trace.referred & ~np.isnan(entry)):
            waiting = int(((entry < entry[i]) & (wait_end > entry[i])).sum())
            assert waiting <= 1


def test_fast_engine_refuses_with_a_clear_error(quiet, tmp_path, capsys):
    with pytest.raises(ScenarioError, match="quiet_queue"):
        simulate(quiet, engine="fast", replications=1)
    path = tmp_path / "quiet.yaml"
    path.write_text(yaml.safe_dump(quiet))
    assert main(["run", str(path), "--engine", "fast", "--replications", "1"]) == 2
    assert "runs only in Python" in capsys.readouterr().err


def test_registered_strategy_is_validated_and_layers_accept_it(quiet):
    quiet["targeting"]["max_waitng"] = 3
    with pytest.raises(ScenarioError, match="did you mean 'max_waiting'"):
        load_scenario(quiet)
    quiet["targeting"] = {"layers": [{"strategy": "quiet_queue"},
                                     {"strategy": "random", "referral_rate": 0.01}]}
    assert load_scenario(quiet).targeting.layers[0].strategy == "quiet_queue"
    quiet["targeting"] = {"layers": []}
    with pytest.raises(ScenarioError, match="layers"):
        load_scenario(quiet)


def test_nested_python_rule_also_falls_back(quiet):
    quiet["targeting"] = {"layers": [{"strategy": "random", "referral_rate": 0.01},
                                     {"strategy": "quiet_queue"}]}
    res = simulate(quiet, replications=1)
    assert res.engine == "simpy" and res.warnings


def test_gap_with_a_detection_target_on_a_python_rule(quiet, tmp_path, capsys):
    # one server and flushing at secondary: detection is lost to staffing, so the
    # search adds secondary servers, reading the strategy's static p_refer_if_threat
    quiet["stages"]["secondary"].update(servers=1, flush_above=0, booths=4)
    path = tmp_path / "quiet.yaml"
    path.write_text(yaml.safe_dump(quiet))
    assert main(["gap", str(path), "--target", "detection_rate>=0.03", "--replications", "1",
                 "--json"]) == 0
    det = json.loads(capsys.readouterr().out)["detection"]
    assert det["before_detection_staffing"] < 0.03 <= det["ceiling"]
    assert det["met"] and det["required"] >= 0.03


def test_watchlist_fallback_may_be_a_python_rule(quiet):
    quiet["targeting"] = {"strategy": "watchlist", "coverage": 0.5,
                          "outages": [{"start": "02:00", "end": "05:00"}],
                          "fallback": {"strategy": "quiet_queue", "max_waiting": 1}}
    res = simulate(quiet, replications=1, keep_traces=True)
    assert res.engine == "simpy" and res.mean("referral_rate") > 0
    inputs, trace = res.traces[0]
    down = (inputs.arrival >= 120) & (inputs.arrival < 300)
    assert trace.referred[down].any()  # the fallback's rule referred during the outage
    assert not trace.referred[~down & ~inputs.threat].any()  # no false hits, no rule
