"""The detection–delay–burden trade-off of targeting strategies.

Three panels share the vertical axis, detection rate (%, with its 95 % interval):
against the 95th-percentile wait of all travellers (minutes), against the innocent
(false) referral rate (%), and against the minutes an innocent referred traveller
loses at the referred stages (``innocent_delay_mean``). Each named strategy is one
curve through its sweep values, in the order swept; a strategy without a sweep is a
single point. Drawn on a fresh
``matplotlib.figure.Figure`` (no pyplot state).
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..compare import Comparison
from ..kpis import kpi_info
from .text import plain

PANELS = tuple((k, kpi_info(k).axis_label, kpi_info(k).unit.scale)
               for k in ("wait_p95", "false_referral_rate", "innocent_delay_mean"))
"""(KPI on the x axis, axis label, scale to the unit shown), from :mod:`borderesim.kpis`."""


def _groups(comparison: Comparison) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, v in enumerate(comparison.variants):
        groups.setdefault(v.group, []).append(i)
    return groups


def draw_tradeoff(axes: list[Axes], comparison: Comparison, annotate: bool = True) -> None:
    """Draw the trade-off panels of ``comparison`` on ``axes`` (one Axes per ``PANELS``)."""
    k = kpi_info("detection_rate").unit.scale
    for ax, (kpi, label, scale) in zip(axes, PANELS, strict=True):
        for group, idx in _groups(comparison).items():
            xs = [comparison.mean(i, kpi) * scale for i in idx]
            ys = [comparison.mean(i, "detection_rate") * k for i in idx]
            cis = [comparison.interval(i, "detection_rate") for i in idx]
            lo = [max(0.0, y - c["ci_low"] * k) if not math.isnan(c["ci_low"]) else 0.0
                  for y, c in zip(ys, cis, strict=True)]
            hi = [max(0.0, c["ci_high"] * k - y) if not math.isnan(c["ci_high"]) else 0.0
                  for y, c in zip(ys, cis, strict=True)]
            knob = comparison.variants[idx[0]].knob
            name = f"{group} ({knob.rsplit('.', 1)[-1]})" if knob and len(idx) > 1 else group
            line = ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", ms=4, lw=1.4, capsize=2,
                               label=plain(name))
            if annotate and len(idx) > 1:
                for i, x, y in zip(idx, xs, ys, strict=True):
                    ax.annotate(f"{comparison.variants[i].value:g}", (x, y),
                                textcoords="offset points", xytext=(4, -9), fontsize=6,
                                color=line[0].get_color())
        ax.set_xlabel(label, fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel(kpi_info("detection_rate").axis_label, fontsize=8)


def plot_tradeoff(comparison: Comparison, path: str | Path, title: str | None = None,
                  dpi: int = 110) -> Path:
    """Save the trade-off figure of ``comparison`` as a PNG at ``path``."""
    fig = Figure(figsize=(12.0, 3.8))
    axes = list(fig.subplots(1, len(PANELS), sharey=True))
    draw_tradeoff(axes, comparison)
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(plain(title or f"{comparison.scenario.name}: detection against delay and "
                       f"burden ({comparison.replications} replications, seed "
                       f"{comparison.seed})"), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return Path(path)
