"""Plain-words notes on how far a run's waits can be trusted, from its KPI summary.

Every counted traveller is followed past the counted window until they leave (the
*drain*, up to ``Plan.run_end``; see ``borderesim/testing/semantics.py``), so waits
are exact unless the drain cap cut the run short: then :func:`drain_warnings` says
how many travellers were still inside, where, and that their waits are lower bounds.
It also says when waits are shorter because fewer travellers were checked: flushing
(``flush_above``) and a queue-aware referral rule lower waits legitimately, but a
planner must know that this is why.
"""

from __future__ import annotations

import math
from dataclasses import replace as _replace

import numpy as np

from ..model.scenario import Scenario
from .engines import Engine
from .plan import Plan
from .sampling import Inputs, sample
from .trace import Trace

FIRST_HOURS = 2
"""Clock hours of drain arrivals drawn at first (:func:`next_until` for a retry)."""
MARGIN = 1.5
"""A retry's drain covers this many times the time the counted travellers still inside
should need at the rate counted travellers left during the drain so far."""


def replay(scenario: Scenario, plan: Plan, engine: Engine, seed: int,
           replication: int) -> tuple[Inputs, Trace]:
    """Sample and replay one replication, drawing the drain only as far as the run needs.

    The same as ``engine(plan, sample(scenario, plan, seed, replication))`` but cheaper:
    the drain's arrivals are drawn up to a few clock hours past the horizon, and the run
    is replayed with that as its end; only if a counted traveller is still inside then is
    it redone with a longer drain (:func:`next_until`, up to ``plan.run_end``). Each
    traveller's draws do not depend on how many are drawn (``sample``), and a run that
    ended with every counted traveller gone handled nothing past that moment, so the
    result is the full run's, minus travellers who would have arrived after it ended.
    """
    until = first_until(plan)
    while True:
        inputs = sample(scenario, plan, seed, replication, until=until)
        trace = engine(_drained(plan, until - plan.horizon), inputs)
        if until >= plan.run_end or not counted_inside(plan, inputs, trace):
            return inputs, trace
        until = next_until(plan, until, inputs, trace)
        del inputs, trace  # a retry holds one attempt at a time: the peak is one replication's


def _drain_end(plan: Plan, hours: float) -> float:
    """Minutes: ``hours`` whole clock hours of drain past the horizon's clock hour, at most
    the drain cap (``plan.run_end``)."""
    return min(plan.run_end, (math.ceil(plan.horizon / 60) + math.ceil(hours)) * 60.0)


def first_until(plan: Plan) -> float:
    """How far (minutes) a replication's arrivals are drawn at first: :data:`FIRST_HOURS`
    clock hours of drain."""
    return _drain_end(plan, FIRST_HOURS)


def next_until(plan: Plan, until: float, inputs: Inputs, trace: Trace) -> float:
    """How far to draw the arrivals again when a counted traveller was still inside when a
    run drawn up to ``until`` ended: four times as many clock hours of drain at least, and
    enough for those still inside to leave at the rate counted travellers left during that
    drain (times :data:`MARGIN`), so that one retry usually suffices; at most the cap. It
    depends on this replication's own run only (a retry changes no result: ``replay``)."""
    start = math.ceil(plan.horizon / 60) * 60.0
    hours = 4 * max((until - start) / 60.0, 1.0)
    exit_ = trace.exit[_counted(plan, inputs)]
    inside = int(np.isnan(exit_).sum())
    left = int((exit_ >= plan.horizon).sum())  # NaN compares false
    if left > 0:
        need = inside * (until - plan.horizon) / left  # minutes at the rate they left
        hours = max(hours, (until + MARGIN * need - start) / 60.0)
    return _drain_end(plan, hours)


def _drained(plan: Plan, drain: float) -> Plan:
    """``plan`` with a drain of ``drain`` minutes, made once and kept on ``plan``: the
    replications of a run share it, and with it what engines compute from a plan
    (capacity changes, the fast engine's arguments)."""
    if drain == plan.drain:
        return plan
    made = plan.__dict__.get("_drained")
    if made is None:
        made = {}
        object.__setattr__(plan, "_drained", made)
    if drain not in made:
        made[drain] = _replace(plan, drain=drain)
    return made[drain]


def _counted(plan: Plan, inputs: Inputs) -> slice:
    """The counted travellers (arrived in ``[warmup, horizon)``): arrivals are sorted, so
    they are one slice."""
    arrival = inputs.arrival
    return slice(int(arrival.searchsorted(plan.warmup)), int(arrival.searchsorted(plan.horizon)))


def counted_inside(plan: Plan, inputs: Inputs, trace: Trace) -> bool:
    """Whether a counted traveller was still inside when the run ended."""
    # exit times are finite or NaN: their sum is NaN exactly when one is (no temporary)
    return math.isnan(trace.exit[_counted(plan, inputs)].sum())


def replayed_inputs(scenario: Scenario, plan: Plan, seed: int, replication: int,
                    trace: Trace) -> Inputs:
    """The inputs :func:`replay` paired with ``trace`` (re-sampled, e.g. in a parent
    process after workers ran the replications)."""
    return sample(scenario, plan, seed, replication).head(len(trace.exit))


def _mean(kpis: dict[str, dict[str, float]], name: str) -> float:
    value = kpis.get(name, {}).get("mean", math.nan)
    return 0.0 if math.isnan(value) else value


def _count(x: float) -> str:
    """A mean count per replication as words show it (``576``, ``1,129``, ``0.4``)."""
    return f"{x:,.0f}" if x >= 10 else f"{x:.2g}"


def _hours(minutes: float) -> str:
    return f"{minutes:g} min" if minutes < 60 else f"{minutes / 60:g} h"


def drain_warnings(plan: Plan, kpis: dict[str, dict[str, float]]) -> list[str]:
    """Warnings for censored waits (drain cap reached), flushing and queue-aware referral.

    ``kpis``: the summary across replications (``metrics.summarise``); counts are
    means per replication.
    """
    out = []
    unfinished = _mean(kpis, "unfinished")
    if unfinished > 0:
        where = [f"{_count(_mean(kpis, f'{s}.censored'))} waiting at '{s}'"
                 for s in plan.stage_names if _mean(kpis, f"{s}.censored") > 0]
        out.append(
            f"{_count(unfinished)} counted travellers a replication were still inside when the "
            f"drain cap ended the run ({_hours(plan.drain)} after the counted window"
            f"{'; ' + ', '.join(where) if where else ''}): their waits and times in the "
            "crossing count as lower bounds, so those KPIs are understated; raise "
            "'drain_cap' or the capacity"
        )
    for s in plan.stage_names:
        flushed = _mean(kpis, f"{s}.flushed")
        if flushed > 0:
            out.append(
                f"stage '{s}': {_count(flushed)} counted travellers a replication were waved "
                "through unchecked (flush_above); waits are shorter partly because fewer "
                "travellers were checked"
            )
    spared = _mean(kpis, "queue_aware_spared")
    if spared > 0:
        out.append(
            f"the queue-aware referral rule left {_count(spared)} counted travellers a "
            "replication unreferred because of the queue; waits are shorter partly because "
            "fewer travellers were checked"
        )
    return out
