"""Figure of a capacity gap: servers today vs needed by hour, and wait_p95 before/after.

One column per stage. Top: servers on duty (today's roster, grey; the needed one,
blue) with each hour shaded green where today's roster meets the targets and red
where it misses them (hatched: an infrastructure gap even at the cap). Bottom: the
95th percentile wait (minutes) of travellers entering the stage in each hour, under
both rosters, with the 95th-percentile targets drawn as dashed lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .text import plain

if TYPE_CHECKING:  # pragma: no cover
    from ..capacity import GapResult

HOURS = np.arange(24)


def _steps(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Hour-edge x values and values for a step line covering hours 0-24."""
    v = np.asarray(values, dtype=float)
    return np.arange(25), np.append(v, v[-1])


def plot_gap(result: GapResult, path: str | Path, dpi: int = 110) -> Path:
    """Draw ``result`` and save a PNG at ``path``; returns the path."""
    data = result.to_dict()
    stages = {k: v for k, v in data["stages"].items() if v["targets"]} or data["stages"]
    fig = Figure(figsize=(5.2 * len(stages) + 0.4, 6.2))
    axes = fig.subplots(2, len(stages), squeeze=False, sharex=True)
    for col, (name, st) in enumerate(stages.items()):
        rows = st["by_hour"]
        ax, bx = axes[0, col], axes[1, col]
        for row in rows:
            h = row["hour"]
            if row["entering_per_hour"] == 0 and row["met_scheduled"]:
                continue
            infra = h in st["infrastructure_gap_hours"]
            ax.axvspan(h, h + 1, color="#2e7d32" if row["met_scheduled"] else "#c62828",
                       alpha=0.12, lw=0, hatch="//" if infra else None)
        x, y = _steps([r["scheduled"] for r in rows])
        ax.step(x, y, where="post", color="0.45", lw=1.8, label="today's roster")
        x, y = _steps([r["required"] for r in rows])
        ax.step(x, y, where="post", color="#1565c0", lw=2.0, label="needed")
        if st["max_servers"]:
            ax.axhline(st["max_servers"], color="k", ls=":", lw=1, label="cap (booths)")
        ax.set_title(plain(f"{name}: {st['officer_hours_scheduled']:g} → "
                           f"{st['officer_hours_required']:g} server-hours/day"), fontsize=10)
        ax.set_ylabel("servers on duty")
        top = max(max(r["scheduled"] for r in rows), max(r["required"] for r in rows),
                  st["max_servers"] or 0)
        ax.set_ylim(0, 1.45 * max(top, 1))
        handles, labels = ax.get_legend_handles_labels()
        handles += [Patch(color="#2e7d32", alpha=0.25), Patch(color="#c62828", alpha=0.25)]
        labels += ["all targets met today", "a lane misses a target today"]
        ax.legend(handles, labels, fontsize=7, loc="upper left", ncol=2)

        centre = HOURS + 0.5
        sched = np.array([np.nan if r["wait_p95_scheduled"] is None else r["wait_p95_scheduled"]
                          for r in rows])
        req = np.array([np.nan if r["wait_p95_required"] is None else r["wait_p95_required"]
                        for r in rows])
        bx.plot(centre, sched, "o-", color="0.45", ms=3, label="today's roster")
        bx.plot(centre, req, "o-", color="#1565c0", ms=3, label="needed roster")
        for t in data["targets"]:
            if t["kpi"] == "wait_p95" and t["stage"] in (None, name):
                bx.axhline(t["value"], color="#c62828", ls="--", lw=1,
                           label=f"target {t['value']:g} min")
        bx.set_ylabel("wait p95 (min), by hour entering")
        bx.set_xlabel("hour of day")
        bx.set_ylim(bottom=0)
        bx.set_xlim(0, 24)
        bx.set_xticks(range(0, 25, 3))
        bx.legend(fontsize=7, loc="upper left")
    fig.suptitle(plain(f"Capacity gap — {data['scenario']}"), fontsize=11)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    return path
