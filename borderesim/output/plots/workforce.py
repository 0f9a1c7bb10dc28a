"""Figure of staffing options: annualised cost against the worst hour's 95th-percentile wait.

One numbered point per option (filled green: meets every target on fresh travellers; open
red: misses one), the numbers explained in a legend below with the hours each option
misses; dashed lines mark the 95th-percentile wait targets. Number labels that would
overlap are moved apart (:func:`borderesim.output.plots.style.place_labels`).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .style import DPI, legend_below, place_labels, slide_figure, slide_style, wrap
from .text import plain

if TYPE_CHECKING:  # pragma: no cover
    from ...analysis.workforce.options import WorkforcePlan


def _hours(hours: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``0-2, 5``."""
    runs: list[list[int]] = []
    for h in hours:
        if runs and h == runs[-1][-1] + 1:
            runs[-1].append(h)
        else:
            runs.append([h])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


@slide_style
def draw_options(result: WorkforcePlan, size: tuple[float, float] | None = None) -> Figure:
    """Every option of ``result``: cost against the worst hour's wait, numbered points
    explained in a legend below (16:9 slide by default, ``size`` in inches)."""
    d = result.to_dict()
    opts = d["options"]
    fig = slide_figure(size)
    ax = fig.subplots()
    top = max(o["cost"]["total"] for o in opts)
    scale, unit = (1e6, "million") if top >= 1e6 else (1e3, "thousand")
    handles = []
    labels = []
    for i, o in enumerate(opts, start=1):
        x = o["cost"]["total"] / scale
        y = o["worst_wait_p95"] if o["worst_wait_p95"] is not None else 0.0
        ok = o["meets_targets"]
        best = o["name"] == d["cheapest"]
        colour = "#2e7d32" if ok else "#c62828"
        ax.scatter([x], [y], s=220 if best else 110, zorder=3,
                   facecolors=colour if ok else "none", edgecolors=colour, linewidths=2)
        labels.append(ax.annotate(str(i), (x, y), xytext=(9, 4), textcoords="offset points",
                                  fontweight="bold" if best else "normal"))
        missed = o["hours_missed"] or o["infrastructure_gap_hours"]
        status = "meets every target" + (" — cheapest" if best else "") if ok \
            else f"misses hours {_hours(missed)}" if missed else "misses a target"
        handles.append(Line2D([], [], ls="", marker="o", ms=9, color=colour,
                              markerfacecolor=colour if ok else "none",
                              label=plain(f"{i}. {o['name']}: {d['currency']} {x:,.2f} {unit}; "
                                          f"{status}")))
    for t in d["targets"]:
        if t["kpi"] == "wait_p95":
            ax.axhline(t["value"], color="0.4", ls="--", lw=1.5)
            handles.append(Line2D([], [], color="0.4", ls="--", lw=1.5,
                                  label=plain(f"target {t['target']}")))
    ax.set_xlabel(plain(f"annualised cost ({d['currency']} {unit} a year: staff + capital "
                        "annuity + upkeep)"))
    ax.set_ylabel(wrap("worst hour's 95th-percentile wait (min)", 24))
    ax.set_ylim(bottom=0, top=1.1 * max([*(o["worst_wait_p95"] or 0.0 for o in opts),
                                         *(t["value"] for t in d["targets"]
                                           if t["kpi"] == "wait_p95"), 1.0]))
    ax.margins(x=0.15)
    source = textwrap.shorten(d["cost_source"], 60, placeholder="…")
    fig.suptitle(plain(f"{d['scenario']}: staffing options, checked on fresh travellers "
                       f"(seed {d['check_seed']})\ncosts: {source}"))
    legend_below(fig, handles, [h.get_label() for h in handles],
                 ncol=1 if len(handles) <= 4 else 2)
    place_labels(fig, labels)
    return fig


def plot_options(result: WorkforcePlan, path: str | Path, dpi: int = DPI,
                 size: tuple[float, float] | None = None) -> Path:
    """Draw every option of ``result`` (:func:`draw_options`) and save a PNG at ``path``."""
    path = Path(path)
    draw_options(result, size).savefig(path, dpi=dpi)
    return path
