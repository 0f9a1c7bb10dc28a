"""A replication bigger than its tails: the KPI pass makes one per-traveller array at a
time, with the very same KPIs, and a bounded peak.

``metrics.replication_kpis`` of a replication with more travellers than a pooled
percentile's tail keeps (``quantiles.keep_limit``) asks ``kpi_kernel.kpi_sums`` for no
per-traveller array and makes each (total waits, times in the crossing, each stage's
waits) alone with ``kpi_kernel.kpi_waits``, cut to its tail before the next. Its KPIs
and tails must equal, bit for bit, those of the one-pass layout smaller runs use, and
its extra memory stays within what that layout implies.
"""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from borderesim.analysis import kpi_kernel as kk
from borderesim.analysis import metrics
from borderesim.analysis.kpi_kernel import kpi_waits
from borderesim.analysis.metrics import kernel_sums, replication_kpis
from borderesim.analysis.quantiles import keep_limit
from borderesim.model.scenario import load_scenario
from borderesim.run import budget, drain
from borderesim.run.engines import fast
from borderesim.run.plan import make_plan
from borderesim.run.simulate import run_replication

from .test_engines_agree import crossing

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
LEAN = 10**5
"""Replications whose tails keep ``keep_limit(LEAN)`` = 100 values: any run is bigger."""


def replay(scenario):
    plan = make_plan(scenario)
    return plan, *drain.replay(scenario, plan, fast.run, scenario.seed, 0)


def assert_identical(a, b) -> None:
    """Equal bit for bit: floats by their bytes (NaN alike, -0.0 apart), arrays by dtype,
    shape and bytes, dataclasses field by field, dicts key by key in order."""
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_identical(a[key], b[key])
    elif dataclasses.is_dataclass(a):
        for field in dataclasses.fields(a):
            assert_identical(getattr(a, field.name), getattr(b, field.name))
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape)
        assert a.tobytes() == b.tobytes()
    else:
        assert np.float64(a).tobytes() == np.float64(b).tobytes(), (a, b)


def both_layouts(scenario, monkeypatch, samples: bool = True) -> None:
    """``replication_kpis`` of a run bigger than its tails, made lean (as it is) and in
    the one-pass layout (forced): the same KPIs and tails, bit for bit."""
    plan, inputs, trace = replay(scenario)
    made = []

    def counted(*args):
        made.append(args[0])
        return kpi_waits(*args)

    with monkeypatch.context() as m:
        m.setattr(kk, "kpi_waits", counted)
        lean: dict | None = {} if samples else None
        got = replication_kpis(scenario, plan, inputs, trace, lean, LEAN)
        assert made == [kk.WAIT_TOTAL, kk.TIME_IN_SYSTEM, *range(plan.n_stages)]
        m.setattr(metrics, "_fills", lambda n, limit: True)
        full: dict | None = {} if samples else None
        want = replication_kpis(scenario, plan, inputs, trace, full, LEAN)
        assert len(made) == 2 + plan.n_stages  # none made outside the pass
    assert_identical(got, want)
    if samples:
        assert_identical(lean, full)


@pytest.mark.parametrize("name", ["land_crossing", "airport_arrivals", "cargo_terminal"])
def test_the_lean_layout_gives_the_same_kpis_and_tails_on_the_examples(name, monkeypatch):
    scenario = load_scenario(SCENARIOS / f"{name}.yaml", ["duration=12h"])
    both_layouts(scenario, monkeypatch)
    both_layouts(scenario, monkeypatch, samples=False)


def test_the_lean_layout_matches_when_the_drain_cap_cuts_the_run(monkeypatch):
    """Censored waits (still queued at the drain cap), unfinished travellers."""
    scenario = load_scenario(SCENARIOS / "land_crossing.yaml",
                             ["duration=6h", "drain_cap=20", "stages.secondary.servers=1",
                              "stages.primary.lanes.general.servers=3"])
    both_layouts(scenario, monkeypatch)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=crossing())
def test_the_lean_layout_matches_on_generated_scenarios(data, monkeypatch):
    scenario = load_scenario(data)
    if replay(scenario)[1].n > keep_limit(LEAN):
        both_layouts(scenario, monkeypatch)


def test_each_array_kpi_waits_makes_is_the_one_the_pass_fills():
    scenario = load_scenario(SCENARIOS / "land_crossing.yaml",
                             ["duration=6h", "drain_cap=20", "stages.secondary.servers=1",
                              "stages.primary.lanes.general.servers=3"])
    plan, inputs, trace = replay(scenario)
    full = kernel_sums(plan, inputs, trace, len(scenario.classes), True, fill=True)
    lean = kernel_sums(plan, inputs, trace, len(scenario.classes), True)
    assert lean.wait_total.size == lean.tis.size == lean.stage_wait.size == 0
    for field in kk.Sums._fields:  # everything else the same
        if field not in ("wait_total", "tis", "stage_wait"):
            assert_identical(getattr(lean, field), getattr(full, field))
    m = int(full.total[kk.G_COUNTED])
    assert full.total[kk.G_COUNTED] - full.total[kk.G_FINISHED] > 0  # some censored
    for which, want in [(kk.WAIT_TOTAL, full.wait_total), (kk.TIME_IN_SYSTEM, full.tis),
                        *((s, full.stage_wait[s, :int(full.stage[s, kk.S_HERE])])
                          for s in range(plan.n_stages))]:
        size = m if which < 0 else int(full.stage[which, kk.S_HERE])
        buffer = np.full(m + 5, np.nan)  # bigger than the values, its contents stale
        made = kpi_waits(which, trace.lane, trace.entry, trace.start, trace.exit,
                         inputs.arrival, float(plan.warmup), float(plan.horizon),
                         float(plan.run_end), size, buffer)
        assert_identical(made, np.ascontiguousarray(want))
        assert np.shares_memory(made, buffer)  # written in the buffer given


def kpi_peak(scenario, replications: int) -> tuple[float, int]:
    """tracemalloc's peak during ``replication_kpis`` above what was held before it
    (bytes; the tails kept for pooled percentiles included), and the travellers."""
    plan, inputs, trace = replay(scenario)
    replication_kpis(scenario, plan, inputs, trace, {}, replications)  # compiled
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        replication_kpis(scenario, plan, inputs, trace, {}, replications)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return peak, inputs.n


def test_a_run_bigger_than_its_tails_holds_one_array_at_a_time():
    """The lean layout's extra memory a traveller, bounded by what it holds at once: in
    the first pass a byte (the detection estimator's code) and, per stage, an int32
    index (who waited; the lane hours' spells then add their keys and order, 16 bytes
    per traveller who waited at the stage, after the codes are gone); after it, one
    float64 per traveller (one array) and the tails kept (100 values each here). The
    one-pass layout holds 8 bytes per traveller for each of 2 + stages arrays on top
    (and used to hold int64 indices): above the bound."""
    scenario = load_scenario(SCENARIOS / "land_crossing.yaml",
                             ["arrivals.per_hour=1250", "duration=1d"])
    stages = make_plan(scenario).n_stages
    bound = max(4 * stages + 1, 4 * stages + 16, 8) + 1  # + 1: small arrays, the tails
    peak, n = kpi_peak(scenario, LEAN)
    assert peak / n < bound, (peak / n, bound)
    print(f'lean {peak / n:.1f} B a traveller (bound {bound})')
    filled, n = kpi_peak(scenario, 1)  # ~30 000 travellers: all kept, the one-pass layout
    assert filled / n > bound, (filled / n, bound)


QUEUE_AWARE = "targeting={strategy: risk_score, auc: 0.85, referral_rate: 0.03, per_waiting: 0.1}"


@pytest.mark.parametrize("extra", [[], [QUEUE_AWARE]], ids=["static", "queue-aware"])
def test_the_memory_estimate_of_a_lean_replication_matches_the_measured_peak(extra):
    """``budget.estimate`` (``TEMPORARY_LEAN``) against tracemalloc's peak of a replication
    bigger than its tails, run as ``simulate`` runs it (tails and lane hours kept), as
    ``tests/test_trace_memory.py`` checks the one-pass layout's."""
    scen = load_scenario(SCENARIOS / "land_crossing.yaml",
                         ["arrivals.per_hour=1250", "duration=2d", *extra])
    plan = make_plan(scen)
    run_replication(scen, plan, "fast", 1, 0, {}, LEAN)  # compiled outside the measurement
    tracemalloc.start()
    try:
        run_replication(scen, plan, "fast", 1, 1, {}, LEAN)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    est = budget.estimate(scen, LEAN, "fast")
    assert est.travellers > keep_limit(LEAN)
    assert 0.94 < est.replication_bytes / peak < 1.02, (est.replication_bytes, peak)
    small = budget.estimate(scen, 1, "fast")  # all kept: the one-pass layout's temporaries
    assert small.replication_bytes > est.replication_bytes
