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

from .plan import Plan


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
