"""Plain-text tables of KPIs with their units, for terminals and reports."""

from __future__ import annotations

from .kpis import kpi_info
from .simulate import Result


def grid(rows: list[list[str]] | list[tuple[str, ...]], left: tuple[int, ...] = (0,)
         ) -> list[str]:
    """Rows of cells as aligned text lines, a rule under the first (header) row.

    Columns listed in ``left`` are left-aligned, the others right-aligned; short rows
    are padded with empty cells.
    """
    if not rows:
        return []
    n = max(len(r) for r in rows)
    rows = [list(r) + [""] * (n - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(n)]
    lines = []
    for j, row in enumerate(rows):
        cells = [c.ljust(w) if i in left else c.rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def kpi_table(result: Result) -> str:
    """The run's KPIs as an aligned text table with 95 % intervals (units from the catalogue)."""
    rows = [("KPI", "mean", "95% CI", "unit")]
    for name, ci in result.kpis.items():
        info = kpi_info(name)
        interval = f"{info.format(ci['ci_low'])} – {info.format(ci['ci_high'])}"
        rows.append((name, info.format(ci["mean"]), interval, info.unit.symbol))
    return "\n".join(grid(rows, left=(0, 3)))


def header(result: Result) -> str:
    """One line naming the scenario, engine, seed and replications."""
    return (f"{result.scenario.name} — engine {result.engine}, seed {result.seed}, "
            f"{result.replications} replications (95% t-intervals)")
