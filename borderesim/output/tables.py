"""Plain-text tables of KPIs with their units, for terminals and reports."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from ..analysis.kpis import interval_text, kpi_info

if TYPE_CHECKING:
    from ..run.simulate import Result

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
"""Invisible characters that reorder the text around them on a terminal."""


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (ESC and the rest of C0 and
    C1, DEL, newlines, bidirectional overrides) become visible escapes such as ``\\x1b``."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)



def grid(rows: list[list[str]] | list[tuple[str, ...]], left: tuple[int, ...] = (0,)
         ) -> list[str]:
    """Rows of cells as aligned text lines, a rule under the first (header) row.

    Columns listed in ``left`` are left-aligned, the others right-aligned; short rows
    are padded with empty cells. Control characters in cells are shown as escapes.
    """
    if not rows:
        return []
    n = max(len(r) for r in rows)
    rows = [[printable(c) for c in r] + [""] * (n - len(r)) for r in rows]
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
        interval = interval_text(ci, info.unit.name)
        rows.append((name, info.format(ci["mean"]), interval, info.unit.symbol))
    return "\n".join(grid(rows, left=(0, 3)))


def header(result: Result) -> str:
    """One line naming the scenario, engine, seed and replications."""
    return printable(f"{result.scenario.name} — engine {result.engine}, seed {result.seed}, "
            f"{result.replications} replications (95% intervals: t for means, Woodruff for "
            "pooled percentiles)")
