"""What the fast engine can express, checked on a scenario before running it.

The kernels implement every field the scenario schema had when they were written.
A field added later (a new queue discipline, say) is reported here by name as soon
as a scenario sets it to something other than its default, so ``--engine auto``
falls back to SimPy instead of silently ignoring it. A strategy class may declare
``simpy_only: ClassVar[str] = "reason"`` when its decisions need Python while
the queues run.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ....model.scenario import Scenario
from ...plan import strategies_of

SCENARIO_FIELDS = frozenset({
    "name", "description", "kind", "duration", "warmup", "drain_cap", "replications", "seed",
    "arrivals", "classes", "stages", "targeting", "events", "recovery_target",
})
"""Scenario fields the kernels (or sampling, before them) account for (``kind`` only picks
a report's standards; the model does not read it)."""
STAGE_FIELDS = frozenset({
    "visits", "servers", "service", "lanes", "detection_probability", "booths", "flush_above",
    "reserve",
})
LANE_FIELDS = frozenset({"servers", "service", "classes"})


def _unknown_fields(model: BaseModel, known: frozenset[str], where: str) -> str | None:
    """The first field outside ``known`` that ``model`` sets to a non-default value."""
    for name, info in type(model).model_fields.items():
        if name in known:
            continue
        value: Any = getattr(model, name)
        if info.is_required() or value != info.get_default(call_default_factory=True):
            return f"{where}{name} is not implemented in the fast engine"
    return None


def supports(scenario: Scenario) -> str | None:
    """``None`` if the fast engine can run ``scenario``, else the reason it cannot."""
    reason = _unknown_fields(scenario, SCENARIO_FIELDS, "")
    if reason:
        return reason
    for sname, stage in scenario.stages.items():
        reason = _unknown_fields(stage, STAGE_FIELDS, f"stages.{sname}.")
        if reason:
            return reason
        for lname, lane in (stage.lanes or {}).items():
            reason = _unknown_fields(lane, LANE_FIELDS, f"stages.{sname}.lanes.{lname}.")
            if reason:
                return reason
    for strategy in strategies_of(scenario.targeting):
        why = getattr(strategy, "simpy_only", None)
        if why:
            name = getattr(strategy, "strategy", type(strategy).__name__)
            return f"targeting strategy '{name}' runs only in Python: {why}"
    return None
