"""KPIs of shocks and the agile response to them, from one replication's trace.

The *shock window* runs from the start of the first event (surge, outage, slowdown)
to the end of the last one, both included (``events.shock_window``; a surge of
``over: 0`` lasts an instant). For each replication:

- ``<stage>.queue_peak``: the most travellers waiting at the stage at once (all lanes,
  queued not yet started) in the counted window (the warm-up to the horizon);
- ``<stage>.recovery_min``: minutes from the shock's start until the stage's rolling
  30-minute p95 wait is at or under the target and stays there to the horizon (the
  p95 at minute ``t`` is over travellers *entering* the stage's queues in
  ``(t - 30, t]``, followed into the drain; one still waiting when the run ended
  counts as waiting until then; a window nobody enters is under the target). Never
  recovered: the minutes to the horizon, and ``<stage>.recovered`` is 0 (else 1);
- ``<stage>.reserve_officer_hours`` and ``reserve_officer_hours`` (all stages): reserve
  officer-hours on duty over the whole run (drain included);
- ``detection_rate.shock`` / ``detection_rate.outside``: the low-variance detection
  estimator (as ``detection_rate``) over counted travellers arriving inside / outside
  the shock window;
- ``<stage>.flushed_in_shock``: travellers waved through the stage unchecked while
  entering it in the shock window.

Times are minutes unless a name says hours; labels and units are in the KPI
catalogue (``kpis.py``). ``shock_kpis`` returns nothing for a scenario without events
or reserves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .events import shock_window
from .metrics import check_probability, detection_population
from .outcomes import Outcome, occupancy
from .plan import Plan
from .sampling import Inputs
from .scenario import Scenario
from .trace import Trace

ROLLING_MIN = 30.0
"""Width (minutes) of the rolling window of the recovery p95."""
GRID_MIN = 1.0
"""Step (minutes) at which the rolling p95 is evaluated."""



def waiting_intervals(outcome: Outcome, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Entry and start of everyone who queued at stage ``s`` (minutes); a traveller still
    waiting when the run ended starts at ``plan.run_end`` (as ``Outcome.wait`` counts)."""
    queued = outcome.queued(s)
    trace = outcome.trace
    entry = trace.entry[s][queued]
    start = np.where(outcome.started(s)[queued], trace.start[s][queued], outcome.plan.run_end)
    return entry, start


def queue_peak(entry: np.ndarray, start: np.ndarray, t0: float, t1: float = np.inf) -> int:
    """Most intervals ``[entry, start)`` covering one instant of ``[t0, t1)``."""
    keep = start > entry
    times = np.concatenate([entry[keep], start[keep]])
    steps = np.concatenate([np.ones(keep.sum(), np.int64), -np.ones(keep.sum(), np.int64)])
    order = np.lexsort((steps, times))  # at equal times, departures (-1) first
    level = np.cumsum(steps[order])
    times = times[order]
    at_t0 = level[times <= t0][-1] if np.any(times <= t0) else 0
    after = level[(times >= t0) & (times < t1)]
    return int(max(at_t0, after.max() if after.size else 0))


def recovery_minutes(entry: np.ndarray, wait: np.ndarray, t_shock: float, horizon: float,
                     target: float) -> float:
    """Minutes from ``t_shock`` until the rolling 30-minute p95 wait stays <= ``target``.

    ``horizon - t_shock`` when it never does (the caller reports that separately).
    """
    order = np.argsort(entry, kind="stable")
    entry, wait = entry[order], wait[order]
    grid = np.arange(t_shock, horizon, GRID_MIN)
    lo = np.searchsorted(entry, grid - ROLLING_MIN, side="right")
    hi = np.searchsorted(entry, grid, side="right")
    over = np.zeros(len(grid), dtype=bool)
    for k in range(len(grid)):
        if hi[k] > lo[k]:
            over[k] = np.percentile(wait[lo[k]:hi[k]], 95) > target
    bad = np.flatnonzero(over)
    if bad.size == 0:
        return 0.0
    last = int(bad[-1])
    if last + 1 >= len(grid):
        return horizon - t_shock
    return float(grid[last + 1] - t_shock)


def shock_kpis(scenario: Scenario, plan: Plan, inputs: Inputs, trace: Trace,
               target: float | None = None) -> dict[str, float]:
    """The shock KPIs of one replication (see the module docstring); ``target``: minutes,
    the p95 wait of the recovery time (default ``scenario.recovery_target``)."""
    window = shock_window(scenario)
    has_reserve = bool(np.any(plan.reserve_arrays()[0] > 0))
    if window is None and not has_reserve:
        return {}
    target = scenario.recovery_target if target is None else float(target)
    k: dict[str, float] = {}
    outcome = Outcome(plan, inputs, trace)
    res_min = (np.zeros(plan.n_stages) if trace.reserve_minutes is None
               else np.asarray(trace.reserve_minutes))
    for s, sname in enumerate(plan.stage_names):
        entry, start = waiting_intervals(outcome, s)
        k[f"{sname}.queue_peak"] = float(queue_peak(entry, start, plan.warmup, plan.horizon))
        k[f"{sname}.reserve_officer_hours"] = float(res_min[s]) / 60.0
        if window is None:
            continue
        rec = recovery_minutes(entry, start - entry, window[0], plan.horizon, target)
        k[f"{sname}.recovery_min"] = rec
        k[f"{sname}.recovered"] = float(rec < plan.horizon - window[0])
        inside = (trace.entry[s] >= window[0]) & (trace.entry[s] <= window[1])
        k[f"{sname}.flushed_in_shock"] = float(np.sum(inside & outcome.flushed(s)))
    k["reserve_officer_hours"] = float(res_min.sum()) / 60.0
    if window is not None:
        k.update(_detection_split(scenario, outcome, window))
    return k


def _detection_split(scenario: Scenario, outcome: Outcome, window: tuple[float, float]
                     ) -> dict[str, float]:
    """The low-variance detection estimator for arrivals inside and outside ``window``."""
    inputs = outcome.inputs
    prevalence = np.array([c.threat_prevalence for c in scenario.classes.values()])
    scored = detection_population(outcome)
    q = check_probability(outcome, scored)
    inside = (inputs.arrival >= window[0]) & (inputs.arrival <= window[1])
    out = {}
    for name, part in (("shock", inside), ("outside", ~inside)):
        mine = scored & part
        weight = prevalence[inputs.cls[mine]]
        total = float(weight.sum())
        out[f"detection_rate.{name}"] = float(weight @ q[mine]) / total if total > 0 \
            else math.nan
    return out


@dataclass(frozen=True)
class Profile:
    """A stage over time, averaged over replications: per bin ``[edges[k], edges[k+1])``
    (minutes) the mean number waiting (all lanes) and the mean wait (minutes) of the
    travellers who entered its queues in the bin (NaN where nobody entered)."""

    edges: np.ndarray
    queue: np.ndarray
    wait: np.ndarray


def profile(plan: Plan, runs: list[tuple[Inputs, Trace]], stage: str,
            bin_minutes: float = 10.0) -> Profile:
    """The queue and wait ``Profile`` of ``stage`` over the run from replications ``runs``."""
    s = plan.stage_names.index(stage)
    edges = np.arange(0.0, plan.horizon + bin_minutes, bin_minutes)
    edges[-1] = min(edges[-1], plan.horizon)
    queue = np.zeros(len(edges) - 1)
    wait_sum = np.zeros(len(edges) - 1)
    count = np.zeros(len(edges) - 1)
    for inputs, trace in runs:
        queue += occupancy(plan, trace, s, edges).waiting.sum(axis=0) / np.diff(edges)
        entry, start = waiting_intervals(Outcome(plan, inputs, trace), s)
        k = np.searchsorted(edges, entry, side="right") - 1
        ok = (k >= 0) & (k < len(count))
        wait_sum += np.bincount(k[ok], (start - entry)[ok], len(count))
        count += np.bincount(k[ok], minlength=len(count))
    with np.errstate(invalid="ignore", divide="ignore"):
        wait = np.where(count > 0, wait_sum / count, np.nan)
    return Profile(edges, queue / max(len(runs), 1), wait)
