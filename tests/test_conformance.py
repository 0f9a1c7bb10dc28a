"""The conformance kit: hand-computed traces on every engine, and the strategy contract."""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import ClassVar

import numpy as np
import pytest

from borderesim.model.scenario import load_scenario
from borderesim.model.targeting import Decision, PythonRule, Strategy, TargetingContext
from borderesim.run.engines import get_engine
from borderesim.testing import semantics
from borderesim.testing.cases import CASES, Visit
from borderesim.testing.engine_kit import differences, engine_failures, run_case
from borderesim.testing.strategy_kit import check_strategy, strategy_problems
from tests.conftest import DEMO

ENGINES = ("simpy", "fast")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_engine_matches_hand_computed_trace(engine, case):
    run_case(get_engine(engine), case)


def test_every_engine_rule_has_a_case_and_is_stated():
    assert {c.rule for c in CASES} == set(semantics.ENGINE_RULES)
    doc = semantics.__doc__
    for rule in semantics.ENGINE_RULES:
        assert f"[{rule}]" in doc, rule
    assert len({c.name for c in CASES}) == len(CASES)


def test_engine_docstrings_point_to_the_one_statement():
    from borderesim.run.engines import simpy_engine
    from borderesim.run.engines.fast import kernel

    for module in (simpy_engine, kernel):
        assert "borderesim/testing/semantics.py" in module.__doc__, module.__name__


def test_a_wrong_engine_fails_with_a_readable_diff():
    """An engine that puts travellers in the wrong lanes is caught and explained."""
    simpy = get_engine("simpy")

    def wrong(plan, inputs):
        trace = simpy(plan, inputs)
        lane = trace.lane.copy()
        lane[lane >= 0] = (lane[lane >= 0] + 1) % plan.n_lanes
        return replace(trace, lane=lane)

    failed = engine_failures(wrong)
    assert failed, "a trace with every lane shifted must fail some case"
    message = failed["completion_before_arrival"]
    assert "traveller 0, stage 's0': lane expected 1 (s0.B), got 0 (s0.A)" in message
    assert "hand computation:" in message and "[ties]" in message


def test_differences_treat_nan_as_equal_and_times_within_tolerance():
    case = next(c for c in CASES if c.rule == "horizon")
    trace = case.expected_trace()
    assert differences(case, trace) == []
    nudged = replace(trace, entry=trace.entry + 1e-12)
    assert differences(case, nudged) == []
    moved = replace(trace, entry=trace.entry + 1e-6)
    assert any(re.match(r"traveller 0, stage 's0': entry expected 1, got 1", line)
               for line in differences(case, moved))


def test_case_inputs_are_what_the_case_says():
    case = CASES[0]
    plan, inputs = case.plan(), case.inputs()
    assert inputs.service.shape == (plan.n_lanes, inputs.n)
    assert plan.roster.shape == (plan.n_lanes, 24)
    assert isinstance(case.expected[0].visits[0], Visit)


# --- strategies ----------------------------------------------------------------------------

def _scenario():
    data = copy.deepcopy(DEMO)
    data.update(duration="2h", warmup="30min")
    data["arrivals"] = {"per_hour": 150}
    data["classes"]["visitor"]["threat_prevalence"] = 0.05
    return load_scenario(data)


OUTAGE = {"start": "00:30", "end": "01:15"}
EXAMPLES = {
    "random": [{"strategy": "random", "referral_rate": 0.1}],
    "by_class": [{"strategy": "by_class", "referral_rate": {"resident": 0.02, "visitor": 0.2}}],
    "risk_score": [
        {"strategy": "risk_score", "auc": 0.8, "referral_rate": 0.05},
        {"strategy": "risk_score", "auc": 0.8, "threshold": 1.5, "shift": {"visitor": 0.3}},
        {"strategy": "risk_score", "auc": 0.9, "threshold": 1.0, "per_waiting": 0.2},
    ],
    "watchlist": [
        {"strategy": "watchlist", "coverage": 0.5, "false_hit_rate": 0.01},
        {"strategy": "watchlist", "coverage": 0.5, "outages": [OUTAGE], "fallback": "all"},
        {"strategy": "watchlist", "coverage": 0.4, "outages": [OUTAGE],
         "fallback": {"strategy": "risk_score", "auc": 0.8, "threshold": 1.0,
                      "per_waiting": 0.1}},
    ],
    "sqrt_biased": [{"strategy": "sqrt_biased", "referral_rate": 0.05}],
    "explore": [{"strategy": "explore", "share": 0.03}],
    "layers": [{"layers": [{"strategy": "watchlist", "coverage": 0.3},
                           {"strategy": "risk_score", "auc": 0.85, "referral_rate": 0.04},
                           {"strategy": "explore", "share": 0.01}]}],
}
"""At least one example of each built-in strategy (a new one must add its own here)."""


def _builtin_names():
    return sorted(name for name, cls in Strategy.registry.items()
                  if cls.__module__.startswith("borderesim."))


def test_every_builtin_strategy_has_an_example():
    assert sorted(EXAMPLES) == _builtin_names()


@pytest.mark.parametrize("block", [b for blocks in EXAMPLES.values() for b in blocks],
                         ids=lambda b: b.get("strategy", "layers"))
def test_builtin_strategy_keeps_the_contract(block):
    scenario = _scenario()
    strategy = load_scenario({**scenario.model_dump(mode="json", exclude_none=True),
                              "targeting": block}).targeting
    checked = check_strategy(strategy, scenario)
    assert all(n > 0 for n in checked.travellers)
    assert checked.streams and all(s.startswith("targeting.") for s in checked.streams)
    assert len(checked.settings) >= 2, "the main knob was not varied"


class _Rate(Strategy):
    """A deliberately faulty strategy for the kit to catch (not registered: no tag)."""

    rate: float = 0.1
    fault: str = ""

    def decide(self, ctx: TargetingContext) -> Decision:
        name = {"unpaired": f"targeting.bad.{self.rate}", "foreign": "arrivals"}.get(
            self.fault, "targeting.bad")
        u = ctx.stream(name).random(ctx.n)
        if self.fault == "unseeded":
            u = np.random.default_rng().random(ctx.n)
        if self.fault == "reversed":
            u = 1.0 - u if self.rate > 0.15 else u
        p = np.full(ctx.n, self.rate * (15.0 if self.fault == "probability" else 1.0))
        refer = u < p
        if self.fault == "shape":
            refer = refer[:-1]
        if self.fault == "mutates":
            ctx.cls[:] = 0
        rule = PythonRule(lambda i, waiting: waiting < 3) if self.fault == "python" else None
        return Decision(refer=refer, p_refer_if_threat=p, dynamic=rule)


class _DeclaredPython(_Rate):
    """A strategy with a Python rule that says so, as ``--engine auto`` needs."""

    simpy_only: ClassVar[str] = "its rule is Python code"


def test_a_sound_strategy_passes_with_explicit_knob_settings():
    settings = [_Rate(rate=r) for r in (0.05, 0.1, 0.2)]
    checked = check_strategy(_Rate(), _scenario(), variants=settings)
    assert checked.streams == ("targeting.bad",)
    assert len(checked.settings) == 3


@pytest.mark.parametrize("fault,expected", [
    ("shape", "refer: shape"),
    ("probability", "outside [0, 1]"),
    ("unseeded", "different decision"),
    ("unpaired", "draws are not paired"),
    ("reversed", "draws are not paired"),
    ("foreign", "draws from stream(s) ['arrivals']"),
    ("mutates", "changed the travellers"),
    ("python", "no strategy sets simpy_only"),
])
def test_strategy_kit_catches_faults(fault, expected):
    settings = [_Rate(rate=r, fault=fault) for r in (0.05, 0.1, 0.2)]
    problems, _ = strategy_problems(_Rate(fault=fault), _scenario(), variants=settings)
    assert any(expected in line for line in problems), problems
    with pytest.raises(AssertionError, match=re.escape(expected)):
        check_strategy(_Rate(fault=fault), _scenario(), variants=settings)


def test_a_python_rule_is_fine_when_declared():
    settings = [_DeclaredPython(rate=r, fault="python") for r in (0.05, 0.2)]
    check_strategy(_DeclaredPython(fault="python"), _scenario(), variants=settings)
