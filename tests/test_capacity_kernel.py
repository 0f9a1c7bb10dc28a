"""The capacity search's compiled sums against their plain NumPy statement, bit for bit.

``Evaluator.rep_stats`` (``analysis/capacity/kernel.py``) must give exactly what
``borderesim.testing.reference_capacity`` gives: who queued in each lane by hour of
entering, each wait rule's sums, the stage counts and the stranded lane-hours, on the
example scenarios under their rosters and under thin ones with closed hours (waits
cut at the drain cap, travellers stranded in a closed lane), and on generated rosters.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borderesim import load_scenario
from borderesim.analysis.capacity import parse_target
from borderesim.analysis.capacity.evaluate import Evaluator
from borderesim.run.plan import make_plan
from borderesim.testing import reference_capacity
from tests.conftest import SCENARIOS

TARGETS = {
    "land_crossing": ["primary.wait_p95<=10min", "primary.ready.wait_mean<=2min",
                      "secondary.wait_p90<=20min"],
    "airport_arrivals": ["passport.wait_p95<=15min", "passport.egate.wait_mean<=3min"],
    "cargo_terminal": ["gate.wait_p95<=20min", "wait_mean<=30min",
                       "xray.wait_p50<=0"],  # a limit of 0: zero waits are not over it
}


def evaluator(name: str, overrides: list[str], replications: int = 2) -> Evaluator:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml", overrides)
    plan = make_plan(scenario)
    targets = [parse_target(t, plan) for t in TARGETS[name]]
    return Evaluator(scenario, plan, "fast", scenario.seed, replications, targets)


def assert_same(ev: Evaluator, roster: np.ndarray) -> int:
    """Compiled and reference sums of every replication under ``roster``, bit for bit;
    returns the stranded lane-hours found (so a case can show it has some)."""
    stranded = 0
    for r in range(ev.replications):
        plan, trace = ev.replay(roster, r)
        got = ev.rep_stats(plan, ev.inputs[r], trace)
        want = reference_capacity.rep_stats(ev, plan, ev.inputs[r], trace)
        for field in ("n", "x", "stage_n", "stranded"):
            a, b = getattr(got, field), getattr(want, field)
            assert a.dtype == b.dtype and a.shape == b.shape, field
            assert a.tobytes() == b.tobytes(), field
        stranded += int(got.stranded.sum())
    return stranded


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_the_compiled_sums_are_the_reference_on_the_examples(name):
    ev = evaluator(name, ["duration=12h"])
    assert_same(ev, ev.plan.roster)
    thin = np.maximum(ev.plan.roster // 3, 0)  # long queues; closed hours where it was 1-2
    thin[:, 3:5] = 0
    assert assert_same(ev, thin) > 0


def test_waits_cut_at_the_drain_cap_match():
    """Still queued when the drain cap ends the run: waits are lower bounds, and a lane
    closed for the drain strands them."""
    ev = evaluator("land_crossing", ["duration=6h", "drain_cap=30"])
    roster = ev.plan.roster.copy()
    roster[:, 4:] = 0  # everything closes from 04:00
    assert assert_same(ev, roster) > 0


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_compiled_sums_are_the_reference_on_generated_rosters(data, land_evaluator):
    ev = land_evaluator
    shape = ev.plan.roster.shape
    roster = np.array(data.draw(st.lists(st.integers(0, 6), min_size=shape[0] * shape[1],
                                         max_size=shape[0] * shape[1])),
                      dtype=np.int64).reshape(shape)
    assert_same(ev, roster)


@pytest.fixture(scope="module")
def land_evaluator() -> Evaluator:
    return evaluator("land_crossing", ["duration=8h", "drain_cap=120"])
