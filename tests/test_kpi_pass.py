"""The stage-by-stage KPI pass (``kpi_kernel.kpi_sums``) on inputs its fast paths do not see.

Its loops take the counted travellers as one run of indices when arrivals are sorted (a
``visits: referred`` stage then skips at once whoever neither visits it nor reached it);
travellers not counted among counted ones (a region's crossing marks the travellers it
never sees with arrival -1) take the general path, and a traveller referred but never
reaching the referred stage must still bring its offered work. Both against the plain
reference (``testing.reference_kpis``), as ``test_fast_kpis`` compares the examples.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from borderesim.analysis import kpi_kernel as kk
from borderesim.analysis.metrics import kernel_sums, replication_kpis
from borderesim.model.scenario import load_scenario
from borderesim.run import drain
from borderesim.run.engines import fast
from borderesim.run.plan import make_plan
from borderesim.testing.reference_kpis import replication_kpis as reference_kpis

from .test_fast_kpis import assert_same_kpis

LAND = Path(__file__).resolve().parent.parent / "scenarios" / "land_crossing.yaml"


def replayed(overrides: list[str]):
    scenario = load_scenario(LAND, overrides)
    plan = make_plan(scenario)
    inputs, trace = drain.replay(scenario, plan, fast.run, scenario.seed, 0)
    return scenario, plan, inputs, trace


def test_counted_travellers_out_of_order_match_the_reference():
    scenario, plan, inputs, trace = replayed(["duration=6h", "stages.secondary.servers=1"])
    s = plan.stage_names.index("secondary")
    assert (trace.start[s] > trace.entry[s]).any()  # waits at every stage
    arrival = inputs.arrival.copy()
    inside = np.flatnonzero((arrival >= plan.warmup) & (arrival < plan.horizon))
    arrival[inside[5::7]] = -1.0  # not counted, between counted ones
    gaps = dataclasses.replace(inputs, arrival=arrival)
    for samples in ({}, None):
        assert_same_kpis(replication_kpis(scenario, plan, gaps, trace, samples, 3),
                         reference_kpis(scenario, plan, gaps, trace, samples, 3))
    got = kernel_sums(plan, gaps, trace, len(scenario.classes), True, fill=True)
    assert got.total[kk.G_COUNTED] == inside.size - inside[5::7].size
    np.testing.assert_array_equal(got.wait_total, reference_waits(plan, gaps, trace))


def reference_waits(plan, inputs, trace) -> np.ndarray:
    """Each counted traveller's total wait (traveller order), as ``kpi_waits`` makes it."""
    m = int(((inputs.arrival >= plan.warmup) & (inputs.arrival < plan.horizon)).sum())
    return kk.kpi_waits(kk.WAIT_TOTAL, trace.lane, trace.entry, trace.start, trace.exit,
                        inputs.arrival, float(plan.warmup), float(plan.horizon),
                        float(plan.run_end), m)


@pytest.mark.parametrize("overrides", [
    ["duration=6h", "drain_cap=20", "stages.primary.lanes.general.servers=2"],  # still inside
    ["duration=6h", "stages.secondary.flush_above=2", "stages.secondary.servers=1"],  # flushed
], ids=["drain cap", "flushed"])
def test_referred_travellers_who_never_queue_at_the_referred_stage_bring_their_work(
        overrides):
    """The secondary stage's skip keeps those referred but never queued there (flushed,
    or still inside when the drain cap ends the run): their work counts, as the
    reference's."""
    scenario, plan, inputs, trace = replayed(overrides)
    s = plan.stage_names.index("secondary")
    counted = (inputs.arrival >= plan.warmup) & (inputs.arrival < plan.horizon)
    assert (counted & trace.referred & (trace.lane[s] < 0)).any()  # the case is there
    assert_same_kpis(replication_kpis(scenario, plan, inputs, trace, {}, 3),
                     reference_kpis(scenario, plan, inputs, trace, {}, 3))
