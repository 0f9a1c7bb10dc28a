"""Figure of staffing options: annualised cost against the worst hour's 95th-percentile wait.

One point per option (filled: meets every target on fresh travellers; open: misses one),
labelled with its name; dashed lines mark the 95th-percentile wait targets.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from .text import plain

if TYPE_CHECKING:  # pragma: no cover
    from ..workforce.options import WorkforcePlan


def plot_options(result: WorkforcePlan, path: str | Path, dpi: int = 110) -> Path:
    """Draw every option of ``result`` and save a PNG at ``path``; returns the path."""
    d = result.to_dict()
    fig = Figure(figsize=(7.2, 4.6))
    ax = fig.subplots()
    scale, unit = (1e6, "million") if max(o["cost"]["total"] for o in d["options"]) >= 1e6 \
        else (1e3, "thousand")
    for o in d["options"]:
        x = o["cost"]["total"] / scale
        y = o["worst_wait_p95"] if o["worst_wait_p95"] is not None else 0.0
        ok = o["meets_targets"]
        best = o["name"] == d["cheapest"]
        ax.scatter([x], [y], s=90 if best else 55, zorder=3,
                   facecolors="#2e7d32" if ok else "none",
                   edgecolors="#2e7d32" if ok else "#c62828", linewidths=1.6)
        ax.annotate(plain(o["name"] + ("  ← cheapest meeting all targets" if best else "")),
                    (x, y), xytext=(6, 4), textcoords="offset points", fontsize=8)
    for t in d["targets"]:
        if t["kpi"] == "wait_p95":
            ax.axhline(t["value"], color="0.4", ls="--", lw=1)
            ax.annotate(plain(t["target"]), (0, t["value"]), xycoords=("axes fraction", "data"),
                        xytext=(4, 3), textcoords="offset points", fontsize=8, color="0.3")
    ax.set_xlabel(plain(f"annualised cost ({d['currency']} {unit} a year: staff + capital "
                        "annuity + upkeep)"))
    ax.set_ylabel("worst hour's 95th-percentile wait (min)")
    ax.set_ylim(bottom=0)
    ax.margins(x=0.25, y=0.15)
    ax.set_title(plain(f"{d['scenario']}: staffing options\n"
                       f"filled = meets every target on fresh travellers (seed "
                       f"{d['check_seed']}); costs: {d['cost_source']}"), fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    return path
