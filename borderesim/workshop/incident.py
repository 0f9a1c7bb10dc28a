"""The workshop's "incident" button, as logic the page calls (no Streamlit here).

A trainer presses *outage now* or *surge now* at a clock time of the simulated day;
the page adds the matching event (``borderesim/events.py``) to the scenario it runs
and shows the shock KPIs (``borderesim/shocks.py``) beside the usual ones. These
functions build and validate that event; they are pure (a scenario in, a new
scenario out) so the page can cache runs keyed by the incidents pressed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..errors import ScenarioError
from ..events import clock_text
from ..scenario import Scenario, load_scenario

DAY = 1440.0


@dataclass(frozen=True)
class Incident:
    """One incident pressed on the page (hashable, so it can key a cache).

    ``at``: minutes from 00:00 of day one. An ``outage`` stops ``lane`` of ``stage``
    (every lane when ``lane`` is None) for ``minutes``; the travellers in service start
    over when ``preempt``. A ``surge`` brings ``travellers`` extra arrivals spread over
    ``minutes`` (0: all at once), of class ``cls`` (None: the usual shares).
    """

    kind: Literal["outage", "surge"]
    at: float
    minutes: float = 60.0
    stage: str | None = None
    lane: str | None = None
    preempt: bool = False
    travellers: int = 0
    cls: str | None = None


def lanes_by_stage(scenario: Scenario) -> dict[str, list[str]]:
    """Stage -> its lane names, for the page's choice boxes."""
    return {name: list(stage.lane_specs(name)) for name, stage in scenario.stages.items()}


def default_incident(scenario: Scenario, kind: Literal["outage", "surge"], at: float
                     ) -> Incident:
    """A sensible first incident at ``at`` minutes: an hour's outage of the first stage's
    first lane, or a surge of half an hour's arrivals (at that hour's rate, at least 50)
    within 10 minutes."""
    if kind == "outage":
        stage = next(iter(scenario.stages))
        return Incident("outage", at, 60.0, stage, lanes_by_stage(scenario)[stage][0])
    rate = scenario.arrivals.hourly()[int(at // 60) % 24]
    return Incident("surge", at, 10.0, travellers=max(50, int(round(rate / 2))))


def incident_event(incident: Incident) -> dict:
    """The ``events:`` entry of ``incident`` (clock times of its day)."""
    day = int(incident.at // DAY) + 1
    start = incident.at - (day - 1) * DAY
    if incident.kind == "surge":
        event = {"kind": "surge", "at": clock_text(start), "travellers": int(incident.travellers),
                 "over": float(incident.minutes), "day": day}
        if incident.cls is not None:
            event["class"] = incident.cls
        return event
    end = min(start + incident.minutes, DAY)
    event = {"kind": "outage", "stage": incident.stage, "from": clock_text(start),
             "to": clock_text(end), "preempt": bool(incident.preempt), "day": day}
    if incident.lane is not None:
        event["lane"] = incident.lane
    return event


def incident_words(incident: Incident) -> str:
    """The incident in words for the page's marker and the saved files."""
    when = clock_text(incident.at % DAY)
    if incident.kind == "surge":
        return (f"incident: {incident.travellers} extra travellers at {when} over "
                f"{incident.minutes:g} min")
    where = incident.stage + (f".{incident.lane}" if incident.lane else "")
    return (f"incident: {where} out at {when} for {incident.minutes:g} min"
            + (" (travellers in service start over)" if incident.preempt else ""))


def apply_incidents(scenario: Scenario, incidents: tuple[Incident, ...]) -> Scenario:
    """``scenario`` with the incidents' events appended, validated.

    Raises ``ScenarioError`` naming ``incident.N`` and the problem (an unknown lane, a
    time outside the run, an outage running past midnight is cut at 24:00).
    """
    if not incidents:
        return scenario
    data = scenario.model_dump(mode="json", exclude_none=True)
    events = list(data.get("events", []))
    for k, incident in enumerate(incidents):
        if not (math.isfinite(incident.at) and incident.at >= 0):
            raise ScenarioError(f"time must be 0 or more minutes, got {incident.at}", None,
                                f"incident.{k}")
        if incident.kind == "outage" and not incident.minutes > 0:
            raise ScenarioError("an outage must last more than 0 minutes", None,
                                f"incident.{k}")
        events.append(incident_event(incident))
    data["events"] = events
    first = len(events) - len(incidents)
    try:
        return load_scenario(data)
    except ScenarioError as exc:
        problem = exc.problem
        path = exc.path or ""
        for k in range(len(incidents)):  # name the incident, not its place in events
            tag = f"events.{first + k}"
            if problem.startswith(tag) or path.startswith(tag):
                problem = problem.replace(tag, f"incident.{k}", 1)
                path = path.replace(tag, f"incident.{k}", 1)
        raise ScenarioError(problem, None, path or None) from None
