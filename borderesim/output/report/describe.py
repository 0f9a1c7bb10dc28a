"""The scenario in plain words: crossing, demand, staffing and targeting strategy.

Each function returns a list of plain-text sentences (no HTML), so the HTML and the
PDF report say the same thing. Times are minutes unless a sentence says otherwise.
"""

from __future__ import annotations

from ...model.hourly import as_24
from ...model.scenario import Lane, Scenario
from ...model.targeting.base import share_words

_pct = share_words
"""A share as a percentage with just enough digits (0.0002 -> "0.02 %")."""


def _time(minutes: float) -> str:
    """Minutes as "45 s", "8.0 min" or "1.5 h"."""
    if minutes < 1:
        return f"{minutes * 60:.1f} s"
    if minutes < 120:
        return f"{minutes:.1f} min"
    return f"{minutes / 60:.1f} h"


def _servers(value: int | list[int]) -> str:
    if isinstance(value, int):
        return f"{value} server{'s' if value != 1 else ''} all day"
    lo, hi = min(value), max(value)
    return f"{lo}–{hi} servers by hour (peak {value.index(hi):02d}:00)"


def _lane(name: str, lane: Lane) -> str:
    who = "everyone" if lane.classes is None else ", ".join(lane.classes)
    mean, _ = lane.service.moments()
    return (f"{name} ({who}; {_servers(lane.servers)}; mean service "
            f"{_time(mean)}, {lane.service.distribution})")


def crossing(scenario: Scenario) -> list[str]:
    """The stages, their lanes, booths and detection, in order."""
    out = [f"{scenario.name}." + (f" {scenario.description}" if scenario.description else "")]
    names = list(scenario.stages)
    out.append(f"Travellers pass {len(names)} stage{'s' if len(names) != 1 else ''} in order: "
               f"{', '.join(names)}.")
    for sname, stage in scenario.stages.items():
        lanes = stage.lane_specs(sname)
        who = "referred travellers only" if stage.visits == "referred" else "every traveller"
        parts = "; ".join(_lane(lname, lane) for lname, lane in lanes.items())
        text = f"{sname} — visited by {who}; {len(lanes)} lane{'s' if len(lanes) != 1 else ''}: " \
               f"{parts}. Officers notice {_pct(stage.detection_probability)} of the threats " \
               "they check"
        if stage.booths is not None:
            text += f"; {stage.booths} booths at most"
        if stage.flush_above is not None:
            text += f"; traffic is waved through unchecked when more than {stage.flush_above} " \
                    "wait"
        out.append(text + ".")
    return out


def demand(scenario: Scenario) -> list[str]:
    """Arrivals by hour, classes and the threats they carry."""
    rates = scenario.arrivals.hourly()
    per_day = sum(rates)
    peak = max(range(24), key=lambda h: rates[h])
    out = []
    if len(set(rates)) == 1:
        out.append(f"Poisson arrivals at {rates[0]:,.0f} an hour ({per_day:,.0f} a day).")
    else:
        out.append(f"Poisson arrivals varying by hour: {per_day:,.0f} a day on average, busiest "
                   f"{peak:02d}:00–{peak + 1:02d}:00 at {rates[peak]:,.0f} an hour, quietest "
                   f"{min(rates):,.0f} an hour.")
    classes = ", ".join(f"{name} {_pct(c.share)} (threat prevalence "
                        f"{_pct(c.threat_prevalence)})" for name, c in scenario.classes.items())
    threats = sum(per_day * c.share * c.threat_prevalence for c in scenario.classes.values())
    out.append(f"Traveller classes: {classes}. That is about {threats:,.1f} threats a day.")
    run = f"The run lasts {_time(scenario.duration)}"
    if scenario.warmup > 0:
        run += f" after a {_time(scenario.warmup)} warm-up that is simulated but not counted"
    out.append(run + "; the clock starts at 00:00.")
    return out


def staffing(scenario: Scenario) -> list[str]:
    """Server-hours a day by lane and the peak number on duty."""
    out, total = [], 0.0
    for sname, stage in scenario.stages.items():
        for lname, lane in stage.lane_specs(sname).items():
            hours = sum(as_24(lane.servers))
            total += hours
            label = sname if lname == sname else f"{sname}.{lname}"
            out.append(f"{label}: {hours:,.0f} server-hours a day ({_servers(lane.servers)}).")
    return [f"{total:,.0f} server-hours a day in all (an e-gate counts as a server)."] + out


def strategy(scenario: Scenario) -> list[str]:
    """The targeting strategy in one sentence (the strategy's own ``describe``)."""
    own = scenario.targeting
    if own is None:
        return ["No targeting strategy: nobody is referred to secondary inspection."]
    return [f"Targeting ({own.strategy}): {own.describe(scenario)}."]
