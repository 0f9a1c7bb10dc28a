"""Plain-text tables of KPIs with their units, for terminals and reports."""

from __future__ import annotations

import math

from .simulate import Result

UNITS = [
    ("per_hour", "/h"), ("offered_load", "%"), ("utilization", "%"), ("_rate", "%"),
    ("share", "%"), ("wait", "min"), ("time_in_system", "min"), ("delay", "min"),
    ("queue_mean", "travellers"), ("per_day", "/day"),
]
"""KPI-name fragment → unit, first match wins."""


def unit_of(name: str) -> str:
    """Unit of a KPI by its name ("%", "min", "/h", ...), "" for counts."""
    last = name.rsplit(".", 1)[-1]
    for fragment, unit in UNITS:
        if fragment in last:
            return unit
    return ""


def format_value(value: float | None, unit: str) -> str:
    """A KPI value for display: shares as percent, others with 2 decimals; — when undefined."""
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞"
    if unit == "%":
        return f"{100 * value:.2f}"
    return f"{value:,.2f}"


def kpi_table(result: Result) -> str:
    """The run's KPIs as an aligned text table with 95 % intervals."""
    rows = [("KPI", "mean", "95% CI", "unit")]
    for name, ci in result.kpis.items():
        unit = unit_of(name)
        interval = f"{format_value(ci['ci_low'], unit)} – {format_value(ci['ci_high'], unit)}"
        rows.append((name, format_value(ci["mean"], unit), interval, unit))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for j, row in enumerate(rows):
        lines.append("  ".join([row[0].ljust(widths[0]), row[1].rjust(widths[1]),
                                row[2].rjust(widths[2]), row[3]]).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def header(result: Result) -> str:
    """One line naming the scenario, engine, seed and replications."""
    return (f"{result.scenario.name} — engine {result.engine}, seed {result.seed}, "
            f"{result.replications} replications (95% t-intervals)")
