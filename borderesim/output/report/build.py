"""Run everything a report shows: the simulation, hourly KPIs, the trade-off and the gap.

The KPI table comes from one ``simulate(scenario, engine, replications, seed,
keep_traces=True)`` call, the same call ``borderesim run`` makes, so its numbers are
those of ``run --json`` with the same options. The other parts reuse that call's
seed and replications: the trade-off runs the strategy's variants through
:func:`borderesim.analysis.compare.compare` (common random numbers) and the capacity gap
runs :func:`borderesim.analysis.capacity.gap` on the report's wait targets. Given an options
file, :func:`borderesim.analysis.workforce.plan_workforce` evaluates its options on the same
targets, seed, replications and engine (the numbers of ``borderesim plan --json``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...analysis.by_hour import hourly_kpis
from ...analysis.capacity import GapResult, gap
from ...analysis.compare import Comparison, compare
from ...analysis.workforce import OptionsFile, WorkforcePlan, load_options, plan_workforce
from ...errors import ScenarioError
from ...model.scenario import Scenario, load_scenario
from ...run.plan import Plan, make_plan
from ...run.simulate import Result, simulate
from . import indicators
from .knobs import tradeoff_variants
from .standards import NO_KIND_NOTE, Standard, Verdict, gap_targets, judge, standards_for


@dataclass
class ReportData:
    """Everything a report shows, computed once; renderers only format it."""

    scenario: Scenario
    plan: Plan
    kind: str | None
    """The crossing kind the standards were chosen by (``None``: not given)."""
    result: Result
    standards: list[Verdict]
    hourly: dict[str, dict[str, np.ndarray]]
    release: dict[str, dict[str, float]]
    class_detection: dict[str, dict[str, float]]
    comparison: Comparison | None
    own_variant: int
    tradeoff_note: str
    gap: GapResult | None
    gap_targets: list[str]
    gap_note: str = ""
    notes: list[str] = field(default_factory=list)
    workforce: WorkforcePlan | None = None
    """Every option of the ``--options`` file evaluated (``None``: no options file given)."""


def build(
    scenario: Scenario | dict | str,
    targets: list[str] | tuple[str, ...] = (),
    kind: str | None = None,
    engine: str = "auto",
    replications: int | None = None,
    seed: int | None = None,
    tradeoff: bool = True,
    capacity_gap: bool = True,
    workers: int = 1,
    options: str | Path | dict | OptionsFile | None = None,
    say: Callable[[str], None] | None = None,
) -> ReportData:
    """Simulate ``scenario`` and compute every part of its report.

    ``targets``: capacity-gap grammar texts (see :mod:`borderesim.output.report.standards`);
    ``kind``: ``airport``, ``land``, ``cargo`` or ``generic``, overriding the scenario's
    ``kind:`` (neither given: only the standards that fit any crossing, with a note saying
    how to get the others). ``tradeoff``/``capacity_gap`` False skip those parts.
    ``workers``: processes for the main simulation (its numbers do not depend on it).
    ``options``: a staffing-options file (path, mapping or loaded) whose options
    :func:`borderesim.analysis.workforce.plan_workforce` evaluates on the report's targets, seed,
    replications and engine — the numbers of ``borderesim plan --json`` with those
    arguments; ``say`` hears its progress. Raises ``ScenarioError`` for bad input
    (including the options file) before anything runs.
    """
    scenario = load_scenario(scenario)
    plan = make_plan(scenario)
    kind = kind or scenario.kind
    standards: list[Standard] = standards_for(scenario, plan, kind, targets)
    texts = gap_targets(standards)
    source = None
    if options is not None:
        if not isinstance(options, OptionsFile):
            options, source = load_options(options)
        options.check_against(scenario, plan, source)
        if not texts:
            raise ScenarioError("the workforce plan needs a wait or detection target; give "
                                "one (e.g. --target 'wait_p95<=15min') or --kind", None,
                                "--target")
    result = simulate(scenario, engine=engine, replications=replications, seed=seed,
                      keep_traces=True, workers=workers)
    verdicts = [judge(s, result.kpis.get(s.kpi)) for s in standards]
    variants, own, note = tradeoff_variants(scenario)
    comparison = None
    if tradeoff and variants:
        comparison = compare(scenario, variants, engine=engine,
                             replications=result.replications, seed=result.seed)
    elif not tradeoff:
        note = "skipped (--no-tradeoff)"
    gap_result, gap_note = None, ""
    if capacity_gap:
        gap_result = gap(scenario, texts, engine=engine, replications=result.replications,
                         seed=result.seed)
    else:
        gap_note = "skipped (--no-gap)"
    workforce = None
    if options is not None:
        workforce = plan_workforce(scenario, options, texts, engine=engine,
                                   replications=result.replications, seed=result.seed, say=say)
        workforce.source = source
    notes = list(result.warnings)
    if kind is None:
        notes.append(NO_KIND_NOTE)
    return ReportData(
        scenario=scenario, plan=plan, kind=kind, result=result, standards=verdicts,
        hourly=hourly_kpis(plan, result.traces),
        release=indicators.release_summary(plan, result.traces),
        class_detection=indicators.detection_by_class(scenario, plan, result.traces),
        comparison=comparison, own_variant=own, tradeoff_note=note,
        gap=gap_result, gap_targets=texts, gap_note=gap_note, notes=notes,
        workforce=workforce,
    )
