"""Indicators the report computes from per-traveller traces (not in ``run --json``).

Each is computed per replication over the counted travellers (arrived at or after
the warm-up) who finished, then averaged with a 95 % t-interval across replications
(NaN replications, e.g. one in which nobody was referred, are left out), like the
KPIs of :mod:`borderesim.analysis.metrics`. Times are minutes, rates are shares (0-1).
"""

from __future__ import annotations

import numpy as np

from ...analysis.metrics import (
    check_probability,
    detection_population,
    summarise,
)
from ...analysis.outcomes import Outcome
from ...model.scenario import Scenario
from ...run.plan import Plan
from ...run.sampling import Inputs
from ...run.trace import Trace

Runs = list[tuple[Inputs, Trace]]


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")


def release_by_channel(plan: Plan, inputs: Inputs, trace: Trace) -> dict[str, float]:
    """WCO Time Release Study style release times of one replication (minutes).

    ``green``: mean time from arrival to leaving of travellers not referred;
    ``red``: of referred travellers; ``red_share``: share referred;
    ``hit_rate``: share of referred travellers found to be threats at a
    ``visits: referred`` stage (seizures per examination).
    """
    outcome = Outcome(plan, inputs, trace)
    done = outcome.done
    tis = trace.exit - inputs.arrival
    red = done & trace.referred
    green = done & ~trace.referred
    found = np.zeros(inputs.n, dtype=bool)
    for s in np.flatnonzero(plan.stage_referred):
        found |= inputs.caught[s] & outcome.checked(s)
    return {
        "green": _mean(tis[green]),
        "red": _mean(tis[red]),
        "red_share": _mean(red[done].astype(float)),
        "hit_rate": _mean(found[red].astype(float)),
    }


def class_detection(scenario: Scenario, plan: Plan, inputs: Inputs,
                    trace: Trace) -> dict[str, float]:
    """Detection rate by class of one replication: the probability a threat of that class
    would be detected, averaged over the class's counted travellers (the
    low-variance estimator of ``detection_rate`` restricted to one class)."""
    outcome = Outcome(plan, inputs, trace)
    scored = detection_population(outcome)
    q = check_probability(outcome, scored)
    return {cname: _mean(q[scored & (inputs.cls == c)]) for c, cname in
            enumerate(scenario.classes)}


def release_summary(plan: Plan, runs: Runs) -> dict[str, dict[str, float]]:
    """:func:`release_by_channel` over the replications ``runs``, with intervals."""
    return summarise([release_by_channel(plan, i, t) for i, t in runs])


def detection_by_class(scenario: Scenario, plan: Plan, runs: Runs) -> dict[str, dict[str, float]]:
    """:func:`class_detection` over the replications ``runs``, with intervals."""
    return summarise([class_detection(scenario, plan, i, t) for i, t in runs])
