"""The fast engine writes every trace slot itself (it clears the trace in one pass before
its loop): whatever the output arrays hold beforehand, the trace is the same."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from borderesim.model.scenario import load_scenario
from borderesim.run import drain
from borderesim.run.engines import fast
from borderesim.run.plan import make_plan
from borderesim.run.trace import Trace

_UNFILLED = Trace.unfilled


def _junk_unfilled(*args: object, **kwargs: object) -> Trace:
    """``Trace.unfilled`` with every array but ``referred`` full of values a run never writes."""
    trace = _UNFILLED(*args, **kwargs)  # type: ignore[arg-type]
    trace.lane.fill(7)
    for times in (trace.entry, trace.start, trace.end, trace.exit, trace.reserve_minutes):
        times.fill(-3.5)
    if trace.threshold.strides != (0,):  # a queue-aware rule's own array
        trace.threshold.fill(-3.5)
    return trace


@pytest.mark.parametrize("targeting", [
    [],
    ["targeting={strategy: risk_score, auc: 0.9, referral_rate: 0.05, per_waiting: 0.1}"],
])
def test_trace_independent_of_output_contents(targeting: list[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = load_scenario("scenarios/land_crossing.yaml", ["duration=6h", *targeting])
    plan = make_plan(scenario)
    _, clean = drain.replay(scenario, plan, fast.run, 3, 0)
    monkeypatch.setattr(Trace, "unfilled", _junk_unfilled)
    _, dirty = drain.replay(scenario, plan, fast.run, 3, 0)
    # some travellers arrived after the run ended (the kernel never reached them)
    assert np.isnan(clean.entry[0]).any()
    assert (dirty.lane == 7).sum() == 0
    for field in dataclasses.fields(Trace):
        a, b = getattr(clean, field.name), getattr(dirty, field.name)
        assert (a is None) == (b is None), field.name
        if a is not None:
            assert np.array_equal(a, b, equal_nan=True), field.name
