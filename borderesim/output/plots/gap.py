"""Figure of a capacity gap: servers today vs needed by hour, which lanes miss, and waits.

One column per stage, three rows, hours as clock times:

- servers on duty by hour: today's roster (grey) and the one needed (blue), with the
  booth cap (dotted);
- one strip per lane of the stage: red where that lane misses a target (or leaves
  travellers stranded) with today's roster, hatched where even the cap cannot meet
  it (an infrastructure gap), green where it meets them, grey where nobody queued;
  so an hour can be red while the stage's pooled wait below is under the target;
- the stage's 95th percentile wait (minutes) of travellers entering in each hour,
  pooled over the replications, under both rosters, with the targets (dashed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ...analysis.kpis import kpi_info
from .style import DPI, clock_axis, legend_below, slide_figure, slide_style, wrap
from .text import plain

if TYPE_CHECKING:  # pragma: no cover
    from ...analysis.capacity import GapResult

HOURS = np.arange(24)
TODAY, NEEDED, TARGET = "0.4", "#1565c0", "#c62828"
MET, MISS, EMPTY = "#a5d6a7", "#e57373", "#eeeeee"


def _steps(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Hour-edge x values and values for a step line covering hours 0-24."""
    v = np.asarray(values, dtype=float)
    return np.arange(25), np.append(v, v[-1])


def _lane_strip(ax, result: GapResult, stage: str, infra: list[int]) -> None:
    """One row per lane: met (green), missed today (red, hatched: infrastructure gap)."""
    lanes = result.lanes_of(stage)
    ev = result.scheduled_eval
    state = np.zeros((len(lanes), 24))
    for row, lane in enumerate(lanes):
        state[row] = np.where(ev.count[lane] == 0, 0, np.where(ev.fail[lane], 2, 1))
    ax.imshow(state, cmap=ListedColormap([EMPTY, MET, MISS]), vmin=0, vmax=2,
              aspect="auto", extent=(0, 24, len(lanes), 0), interpolation="nearest")
    for h in infra:
        for row, lane in enumerate(lanes):
            if ev.fail[lane, h]:
                ax.add_patch(_hatched(h, row))
    names = [result.lane_names[lane].split(".", 1)[-1] for lane in lanes]
    ax.set_yticks(np.arange(len(lanes)) + 0.5, [plain(n) for n in names])
    ax.set_ylabel("lane")
    ax.grid(False)
    for y in range(1, len(lanes)):
        ax.axhline(y, color="w", lw=2)


def _hatched(h: int, row: int):
    from matplotlib.patches import Rectangle

    return Rectangle((h, row), 1, 1, fill=False, hatch="//", edgecolor="0.15", lw=0)


@slide_style
def draw_gap(result: GapResult, size: tuple[float, float] | None = None) -> Figure:
    """The gap figure of ``result`` (``size`` in inches; default a 16:9 slide)."""
    data = result.to_dict()
    stages = {k: v for k, v in data["stages"].items() if v["targets"]} or data["stages"]
    fig = slide_figure(size)
    axes = fig.subplots(3, len(stages), squeeze=False, sharex=True,
                        gridspec_kw={"height_ratios": [3, 1.3, 3]})
    for col, (name, st) in enumerate(stages.items()):
        rows = st["by_hour"]
        ax, lx, bx = axes[0, col], axes[1, col], axes[2, col]
        x, y = _steps([r["scheduled"] for r in rows])
        ax.step(x, y, where="post", color=TODAY, label="today's roster")
        x, y = _steps([r["required"] for r in rows])
        ax.step(x, y, where="post", color=NEEDED, label="needed roster")
        if st["max_servers"]:
            ax.axhline(st["max_servers"], color="k", ls=":", lw=1.5, label="cap (booths)")
        ax.set_title(plain(f"{name}: {st['officer_hours_scheduled']:g} → "
                           f"{st['officer_hours_required']:g} server-hours/day"))
        ax.set_ylabel("servers on duty\n(servers)")
        top = max(max(r["scheduled"] for r in rows), max(r["required"] for r in rows),
                  st["max_servers"] or 0)
        ax.set_ylim(0, 1.08 * max(top, 1))

        _lane_strip(lx, result, name, st["infrastructure_gap_hours"])

        centre = HOURS + 0.5
        for key, colour, label in (("wait_p95_scheduled", TODAY, "today's roster"),
                                   ("wait_p95_required", NEEDED, "needed roster")):
            v = np.array([np.nan if r[key] is None else r[key] for r in rows], dtype=float)
            bx.plot(centre, v, "o-", color=colour, ms=5, label=label)
        for t in data["targets"]:
            if t["kpi"] == "wait_p95" and t["stage"] in (None, name):
                bx.axhline(t["value"], color=TARGET, ls="--", lw=1.8, label="target")
        bx.set_ylabel(wrap(kpi_info(f"{name}.wait_p95").axis_label.replace(
            "95th percentile wait", "95th percentile wait by hour entering"), 24))
        bx.set_ylim(bottom=0)
        clock_axis(bx, 0, 24, step=4 if len(stages) > 2 else 3)
    handles = [Line2D([], [], color=TODAY, lw=2.2), Line2D([], [], color=NEEDED, lw=2.2),
               Line2D([], [], color="k", ls=":", lw=1.5),
               Line2D([], [], color=TARGET, ls="--", lw=1.8),
               Patch(facecolor=MET), Patch(facecolor=MISS),
               Patch(facecolor=MISS, hatch="//", edgecolor="0.15"), Patch(facecolor=EMPTY)]
    labels = ["today's roster", "needed roster", "cap (booths)", "wait target",
              "lane meets its targets today", "lane misses a target today",
              "misses even at the cap", "nobody queued"]
    legend_below(fig, handles, labels, ncol=4)
    targets = ", ".join(t["target"] for t in data["targets"])
    fig.suptitle(plain(wrap(f"Capacity gap at {data['scenario']}: servers needed by hour to "
                            f"meet {targets} ({data['replications']} replications pooled)",
                            100)))
    return fig


def plot_gap(result: GapResult, path: str | Path, dpi: int = DPI,
             size: tuple[float, float] | None = None) -> Path:
    """Draw ``result`` (:func:`draw_gap`) and save a PNG at ``path``; returns the path."""
    path = Path(path)
    draw_gap(result, size).savefig(path, dpi=dpi)
    return path
