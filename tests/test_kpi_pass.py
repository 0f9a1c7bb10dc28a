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
                        float(plan.run_end), m, np.empty(m))


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


@pytest.mark.parametrize("arrival, want", [
    ([0.0, 1.0, 2.0, 3.0, 4.0], (3, 1, True)),  # sorted: one run of indices
    ([1.0, 2.0, 3.0], (3, 0, True)),  # every traveller counted
    ([0.0, 1.0, -1.0, 3.0, 4.0], (2, 1, False)),  # one not counted between counted ones
    ([3.0, 1.0, 2.0, 0.5], (3, 0, True)),  # unsorted, still one run
    ([0.0, 4.0, 5.0], (0, -1, False)),  # nobody counted
    ([], (0, -1, False)),
])
def test_counted_run_says_whether_the_counted_are_one_run_of_indices(arrival, want):
    """``_counted_run``: how many arrive in ``[1, 4)``, the first, and whether the loops
    may take them as one run (with the count given, as ``kpi_waits`` gives it, too)."""
    arrival = np.array(arrival, dtype=float)
    assert kk._counted_run(arrival, 1.0, 4.0) == want
    if want[0]:
        assert kk._counted_run(arrival, 1.0, 4.0, want[0]) == want


def numpy_waits(plan, inputs, trace, which: int) -> np.ndarray:
    """What ``kpi_waits`` makes, in plain NumPy (counted travellers, traveller order)."""
    counted = (inputs.arrival >= plan.warmup) & (inputs.arrival < plan.horizon)
    if which == kk.TIME_IN_SYSTEM:
        return (np.where(np.isnan(trace.exit), plan.run_end, trace.exit) - inputs.arrival)[counted]
    begin = np.where((trace.lane >= 0) & np.isnan(trace.start), plan.run_end, trace.start)
    wait = np.nan_to_num(begin - trace.entry, nan=0.0)  # a stage never reached: 0
    if which == kk.WAIT_TOTAL:
        total = np.zeros(inputs.n)
        for s in range(plan.n_stages):  # summed in stage order, as the kernels sum them
            total += wait[s]
        return total[counted]
    return wait[which][counted & (trace.lane[which] >= 0)]


@pytest.mark.parametrize("gaps", [False, True], ids=["one run", "not one run"])
def test_kpi_waits_and_the_pass_make_the_same_values_as_numpy(gaps):
    """Each array ``kpi_waits`` makes (total waits, times in the crossing, a stage's
    waits), whether the counted travellers are one run of indices (read without their
    arrivals) or not, equals the plain NumPy values and the pass's own (``fill``)."""
    scenario, plan, inputs, trace = replayed(["duration=6h", "drain_cap=20"])
    if gaps:
        arrival = inputs.arrival.copy()
        inside = np.flatnonzero((arrival >= plan.warmup) & (arrival < plan.horizon))
        arrival[inside[3::5]] = -1.0
        inputs = dataclasses.replace(inputs, arrival=arrival)
    assert np.isnan(trace.start[0][trace.lane[0] >= 0]).any()  # still waiting at the cap
    full = kernel_sums(plan, inputs, trace, len(scenario.classes), True, fill=True)
    filled = {kk.WAIT_TOTAL: full.wait_total, kk.TIME_IN_SYSTEM: full.tis}
    for s in range(plan.n_stages):
        filled[s] = full.stage_wait[s, :int(full.stage[s, kk.S_HERE])]
    for which, made_in_pass in filled.items():
        want = numpy_waits(plan, inputs, trace, which)
        made = kk.kpi_waits(which, trace.lane, trace.entry, trace.start, trace.exit,
                            inputs.arrival, float(plan.warmup), float(plan.horizon),
                            float(plan.run_end), want.size, np.empty(want.size))
        np.testing.assert_array_equal(made, want)
        np.testing.assert_array_equal(made_in_pass, want)


def test_nobody_counted_leaves_the_counted_sums_empty():
    """All arrivals outside the counted window: no counted sums, empty arrays, while the
    occupancy of the counted window (who was there, counted or not) is still summed."""
    scenario, plan, inputs, trace = replayed(["duration=6h"])
    outside = dataclasses.replace(inputs, arrival=np.full(inputs.n, -1.0))
    got = kernel_sums(plan, outside, trace, len(scenario.classes), True, fill=True)
    assert got.total[kk.G_COUNTED] == 0 and got.cls[:, kk.C_COUNTED].sum() == 0
    assert got.stage[:, kk.S_HERE].sum() == 0 and got.lane[:, kk.L_COUNT].sum() == 0
    assert got.wait_total.size == got.tis.size == 0 and not got.work.any()
    before = kernel_sums(plan, inputs, trace, len(scenario.classes), True, fill=True)
    np.testing.assert_array_equal(got.lane[:, kk.L_BUSY], before.lane[:, kk.L_BUSY])
    np.testing.assert_array_equal(got.busy_seg, before.busy_seg)
    for which in (kk.WAIT_TOTAL, kk.TIME_IN_SYSTEM, *range(plan.n_stages)):
        assert kk.kpi_waits(which, trace.lane, trace.entry, trace.start, trace.exit,
                            outside.arrival, float(plan.warmup), float(plan.horizon),
                            float(plan.run_end), 0, np.empty(0)).size == 0
