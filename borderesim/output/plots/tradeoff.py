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
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from ...analysis.compare import Comparison
from ...analysis.kpis import kpi_info
from .style import DPI, legend_below, place_labels, slide_figure, slide_style, wrap
from .text import plain

PANELS = tuple((k, kpi_info(k).axis_label, kpi_info(k).unit.scale)
               for k in ("wait_p95", "false_referral_rate", "innocent_delay_mean"))
"""(KPI on the x axis, axis label, scale to the unit shown), from
:mod:`borderesim.analysis.kpis`."""


X_TICKS = 4
"""Intervals between ticks on a panel's horizontal axis, at most (``MaxNLocator``)."""


def _groups(comparison: Comparison) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, v in enumerate(comparison.variants):
        groups.setdefault(v.group, []).append(i)
    return groups


def draw_tradeoff(axes: list[Axes], comparison: Comparison, annotate: bool = True) -> list[Text]:
    """Draw the trade-off panels of ``comparison`` on ``axes`` (one Axes per ``PANELS``).

    Returns the value labels written next to swept points; pass them to
    :func:`borderesim.output.plots.style.place_labels` once the figure is laid out.
    """
    k = kpi_info("detection_rate").unit.scale
    labels: list[Text] = []
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
            line = ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=plain(name))
            if annotate and len(idx) > 1:
                for i, x, y in zip(idx, xs, ys, strict=True):
                    labels.append(ax.annotate(
                        f"{comparison.variants[i].value:g}", (x, y), textcoords="offset points",
                        xytext=(5, -14), fontsize=12, color=line[0].get_color()))
        ax.set_xlabel(wrap(label, 30))
        # a third of a slide wide: at most ~4 values, so a narrow range's long labels
        # ("11.325") do not run into each other
        ax.xaxis.set_major_locator(MaxNLocator(nbins=X_TICKS))
    axes[0].set_ylabel(kpi_info("detection_rate").axis_label)
    return labels


@slide_style
def draw_tradeoff_figure(comparison: Comparison, title: str | None = None,
                         size: tuple[float, float] | None = None) -> Figure:
    """The trade-off figure of ``comparison``: three panels, one legend below them."""
    fig = slide_figure(size)
    axes = list(fig.subplots(1, len(PANELS), sharey=True))
    labels = draw_tradeoff(axes, comparison)
    legend_below(fig, axes=axes[:1], ncol=3)
    fig.suptitle(plain(wrap(title or f"{comparison.scenario.name}: threats detected against "
                            f"delay and innocent burden ({comparison.replications} "
                            f"replications, seed {comparison.seed}; bars: 95 % intervals; "
                            "labels: the swept value)", 100)))
    place_labels(fig, labels)
    return fig


def plot_tradeoff(comparison: Comparison, path: str | Path, title: str | None = None,
                  dpi: int = DPI, size: tuple[float, float] | None = None) -> Path:
    """Save the trade-off figure of ``comparison`` as a PNG at ``path``."""
    draw_tradeoff_figure(comparison, title, size).savefig(path, dpi=dpi)
    return Path(path)
