"""Figure of staffing options: annualised cost against the worst hour's 95th-percentile wait.

One numbered point per option (filled green: meets every target on fresh travellers; open
red: misses one), the numbers explained in a legend with the hours each option misses;
dashed lines mark the 95th-percentile wait targets.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .text import plain

if TYPE_CHECKING:  # pragma: no cover
    from ..workforce.options import WorkforcePlan


def _hours(hours: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``0-2, 5``."""
    runs: list[list[int]] = []
    for h in hours:
        if runs and h == runs[-1][-1] + 1:
            runs[-1].append(h)
        else:
            runs.append([h])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


def plot_options(result: WorkforcePlan, path: str | Path, dpi: int = 110) -> Path:
    """Draw every option of ``result`` and save a PNG at ``path``; returns the path."""
    d = result.to_dict()
    opts = d["options"]
    height = 4.4 + 0.18 * len(opts)
    fig = Figure(figsize=(7.6, height))
    ax = fig.subplots()
    top = max(o["cost"]["total"] for o in opts)
    scale, unit = (1e6, "million") if top >= 1e6 else (1e3, "thousand")
    handles = []
    points: list[tuple[float, float]] = []
    xs = [o["cost"]["total"] / scale for o in opts]
    ys = [o["worst_wait_p95"] or 0.0 for o in opts]
    dx, dy = max(max(xs) - min(xs), 1e-9), max(max(ys) - min(ys), 1.0)
    for i, o in enumerate(opts, start=1):
        x = o["cost"]["total"] / scale
        y = o["worst_wait_p95"] if o["worst_wait_p95"] is not None else 0.0
        ok = o["meets_targets"]
        best = o["name"] == d["cheapest"]
        colour = "#2e7d32" if ok else "#c62828"
        ax.scatter([x], [y], s=110 if best else 60, zorder=3, facecolors=colour if ok else "none",
                   edgecolors=colour, linewidths=1.6)
        stack = sum(abs(x - px) < 0.04 * dx and abs(y - py) < 0.04 * dy for px, py in points)
        points.append((x, y))
        ax.annotate(str(i), (x, y), xytext=(7, 2 + 10 * stack), textcoords="offset points",
                    fontsize=8, fontweight="bold" if best else "normal")
        missed = o["hours_missed"] or o["infrastructure_gap_hours"]
        status = "meets every target" + (" — cheapest" if best else "") if ok \
            else f"misses hours {_hours(missed)}" if missed else "misses a target"
        handles.append(Line2D([], [], ls="", marker="o", color=colour,
                              markerfacecolor=colour if ok else "none",
                              label=plain(f"{i}. {o['name']}: {d['currency']} {x:,.2f} {unit}; "
                                          f"{status}")))
    for t in d["targets"]:
        if t["kpi"] == "wait_p95":
            ax.axhline(t["value"], color="0.4", ls="--", lw=1)
            ax.annotate(plain(f"target {t['target']}"), (0, t["value"]),
                        xycoords=("axes fraction", "data"), xytext=(4, 3),
                        textcoords="offset points", fontsize=8, color="0.3")
    ax.set_xlabel(plain(f"annualised cost ({d['currency']} {unit} a year: staff + capital "
                        "annuity + upkeep)"))
    ax.set_ylabel("worst hour's 95th-percentile wait (min)")
    ax.set_ylim(bottom=0)
    ax.margins(x=0.2, y=0.15)
    ax.grid(alpha=0.3)
    source = textwrap.shorten(d["cost_source"], 40, placeholder="…")
    ax.set_title(plain(f"{d['scenario']}: staffing options\nchecked on fresh travellers (seed "
                       f"{d['check_seed']}); costs: {source}"), fontsize=9)
    fig.legend(handles=handles, loc="lower center", fontsize=8, frameon=False,
               ncol=1, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, (0.2 + 0.17 * len(opts)) / height, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    return path
