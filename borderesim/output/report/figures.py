"""The report's figures, drawn on fresh ``matplotlib.figure.Figure`` objects (no pyplot).

Each ``fig_*`` function returns a ``Figure`` (or ``None`` when there is nothing to
draw); :func:`png_base64` turns one into the base64 PNG the HTML embeds, and the PDF
writer saves the same objects. Times are minutes, rates percent on the axes, hours of
the day clock times with the hours nobody was counted in (warm-up) shaded; every figure
is a 16:9 slide (:mod:`borderesim.output.plots.style`) and passes
:func:`borderesim.output.plots.checks.figure_problems`.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ...analysis.by_hour import by_hour, window_segments
from ...analysis.compare import Comparison
from ...analysis.kpis import kpi_info
from ..plots.style import (
    DPI,
    SLIDE,
    UNCOUNTED,
    clock_axis,
    legend_below,
    place_labels,
    shade_uncounted,
    slide_figure,
    slide_style,
    wrap,
)
from ..plots.text import plain
from ..plots.tradeoff import PANELS, draw_tradeoff
from .build import ReportData
from .standards import Verdict

HOURS = np.arange(24)
MID = HOURS + 0.5
"""x of each clock hour's value: the middle of the hour (axes in hours since midnight)."""


def png_base64(fig: Figure, dpi: int = DPI) -> str:
    """The figure as a base64-encoded PNG (for an ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def counted_hours(data: ReportData) -> np.ndarray:
    """bool[24]: whether any counted time (after the warm-up) falls in each clock hour."""
    _, hours, length = window_segments(data.plan.warmup, data.plan.horizon)
    return by_hour(hours, length) > 0


def uncounted_label(data: ReportData) -> str:
    """What the shaded hours are: the warm-up, or also hours after a run shorter than a day."""
    return ("not counted (warm-up)" if data.plan.horizon >= 24 * 60
            else "not counted (warm-up, or after the run)")


def _queue_limits(standards: list[Verdict]) -> dict[str, float]:
    """Stage → limit (minutes) of every applicable "wait_p95" standard."""
    out: dict[str, float] = {}
    for v in standards:
        s = v.standard
        if s.applies and s.kpi.endswith(".wait_p95") and s.kpi.count(".") == 1:
            stage = s.kpi.split(".")[0]
            out[stage] = min(out.get(stage, math.inf), s.limit)
    return out


@slide_style
def fig_hourly(data: ReportData) -> Figure:
    """By clock hour, one column per stage, each panel on its own scale: top, the
    95th-percentile wait (minutes) of travellers entering the stage with its standard;
    bottom, the mean number waiting. Hours nobody was counted in are shaded."""
    stages = list(data.hourly)
    fig = slide_figure((max(SLIDE[0], 4.3 * len(stages)), SLIDE[1]))
    axes = fig.subplots(2, len(stages), squeeze=False, sharex=True)
    limits = _queue_limits(data.standards)
    counted = counted_hours(data)
    n = data.result.replications
    step = 3 if len(stages) < 3 else 6
    for col, stage in enumerate(stages):
        kpis = data.hourly[stage]
        colour = f"C{col}"
        wx, qx = axes[:, col]
        wx.plot(MID, kpis["wait_p95"], marker="o", color=colour)
        qx.plot(MID, kpis["queue_mean"], marker="o", color=colour)
        top = np.nanmax([*kpis["wait_p95"], 0.0])
        if stage in limits:
            wx.axhline(limits[stage], color="0.35", ls="--", lw=1.8)
            top = max(top, limits[stage])
        wx.set_ylim(0, 1.12 * max(top, 1.0))
        qx.set_ylim(0, 1.12 * max(np.nanmax([*kpis["queue_mean"], 0.0]), 1.0))
        for ax in (wx, qx):
            shade_uncounted(ax, counted, uncounted_label(data))
            clock_axis(ax, 0, 24, step=step, label="")
        wx.set_title(plain(stage))
        wx.set_ylabel(wrap("95th percentile wait (min)", 18))
        qx.set_ylabel(wrap("number waiting (travellers)", 18))
        qx.set_xlabel("time of day (hh:mm)")
    grey = {"color": "0.35"}
    handles = [Line2D([], [], marker="o", **grey), Line2D([], [], ls="--", **grey)]
    labels = [f"by hour entering (colour: stage; {n} replications pooled)", "service standard"]
    if not counted.all():
        handles.append(Patch(color=UNCOUNTED))
        labels.append(uncounted_label(data))
    legend_below(fig, handles, labels, ncol=3)
    fig.suptitle(plain(f"Waits and queues by hour of the day at {data.scenario.name}"))
    return fig


def _err(ci: dict[str, float], scale: float) -> tuple[float, float, float]:
    m = ci["mean"] * scale
    lo = ci["ci_low"] * scale
    hi = ci["ci_high"] * scale
    if math.isnan(lo) or math.isnan(hi):
        return m, 0.0, 0.0
    return m, max(0.0, m - lo), max(0.0, hi - m)


def utilisation_rows(data: ReportData) -> list[tuple[str, str]]:
    """(label, KPI name) of every stage's and named lane's utilisation in ``run --json``."""
    rows = []
    for s, stage in enumerate(data.plan.stage_names):
        rows.append((stage, f"{stage}.utilization"))
        for lane in data.plan.lanes_of(s):
            lname = data.plan.lane_names[lane]
            if lname != stage:
                rows.append((f"  {lname}", f"{lname}.utilization"))
    return rows


@slide_style
def fig_utilisation(data: ReportData) -> Figure:
    """Utilisation by stage and lane over the run (bars, 95 % intervals) and by clock hour."""
    fig = slide_figure()
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    rows = utilisation_rows(data)
    kpis = data.result.kpis
    nan = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    scale = kpi_info("x.utilization").unit.scale
    vals = [_err(kpis.get(k, nan), scale) for _, k in rows]
    vals = [(m, min(lo, m), hi) for m, lo, hi in vals]  # a share is never below 0 %
    y = np.arange(len(rows))[::-1]
    colors = ["C0" if not label.startswith(" ") else "0.55" for label, _ in rows]
    left.barh(y, [v[0] for v in vals], xerr=[[v[1] for v in vals], [v[2] for v in vals]],
              color=colors, capsize=4)
    left.set_yticks(y, [plain(label.strip()) for label, _ in rows])
    left.set_xlabel("busy / on duty, whole run (%)")
    left.set_ylabel("stage or lane (grey: lane)")
    left.axvline(100, color="k", lw=1)
    left.grid(axis="y", visible=False)
    left.set_title("whole run, 95 % intervals")
    for i, (stage, hk) in enumerate(data.hourly.items()):
        right.plot(MID, scale * hk["utilization"], marker="o", color=f"C{i}", label=plain(stage))
    shade_uncounted(right, counted_hours(data), uncounted_label(data))
    right.axhline(100, color="k", lw=1)
    right.set_ylim(0, max(105.0, 1.05 * np.nanmax([scale * v for hk in data.hourly.values()
                                                   for v in hk["utilization"]] + [0.0])))
    right.set_ylabel("utilisation (%)")
    right.set_title(f"by hour, {data.result.replications} replications pooled")
    clock_axis(right, 0, 24, step=4)
    legend_below(fig, axes=[right], ncol=5)
    fig.suptitle(plain(f"Utilisation of officers at {data.scenario.name}"))
    return fig


@slide_style
def fig_fairness(data: ReportData) -> Figure:
    """By class: share of innocent travellers referred, and share of threats detected."""
    classes = list(data.scenario.classes)
    kpis = data.result.kpis
    nan = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    fig = slide_figure()
    left, right = fig.subplots(1, 2)
    x = np.arange(len(classes))
    ref_info, det_info = kpi_info("false_referral_rate"), kpi_info("detection_rate")
    ref = [_err(kpis.get(f"class.{c}.false_referral_rate", nan), ref_info.unit.scale)
           for c in classes]
    det = [_err(data.class_detection.get(c, nan), det_info.unit.scale) for c in classes]
    for ax, vals, color, label in (
        (left, ref, "tab:orange", ref_info.axis_label),
        (right, det, "tab:green", det_info.axis_label),
    ):
        ax.bar(x, [v[0] for v in vals], yerr=[[v[1] for v in vals], [v[2] for v in vals]],
               color=color, capsize=5, label=f"{label.rsplit(' (', 1)[0]} (bars: 95 % interval)")
        ax.set_xticks(x, [plain(c) for c in classes])
        ax.set_xlabel("traveller class")
        ax.set_ylabel(wrap(label, 30))
        ax.grid(axis="x", visible=False)
    overall = kpis.get("detection_rate", nan)["mean"]
    if not math.isnan(overall):
        right.axhline(overall * det_info.unit.scale, color="k", ls="--", lw=1.5,
                      label=f"all classes {det_info.format(overall, digits=1, with_unit=True)}")
    legend_below(fig, axes=[left, right], ncol=3)
    fig.suptitle(plain(f"Innocent referrals and detection by class at {data.scenario.name}"))
    return fig


@slide_style
def fig_tradeoff(comparison: Comparison, own: int) -> Figure:
    """Detection against each trade-off KPI of :data:`borderesim.output.plots.tradeoff.PANELS`
    (wait, innocent referrals, ...) along the knob; a star marks the scenario's own setting."""
    fig = slide_figure()
    axes = list(fig.subplots(1, len(PANELS), sharey=True))
    labels = draw_tradeoff(axes, comparison)
    det = comparison.mean(own, "detection_rate") * kpi_info("detection_rate").unit.scale
    for ax, (kpi, _label, scale) in zip(axes, PANELS, strict=True):
        ax.plot([comparison.mean(own, kpi) * scale], [det], marker="*", ms=18, color="crimson",
                ls="none", label="this scenario", zorder=5)
    legend_below(fig, axes=axes[:1], ncol=4)
    fig.suptitle(plain(f"Detection against delay and burden at {comparison.scenario.name} "
                       "(bars: 95 % intervals)"))
    place_labels(fig, labels)
    return fig


@slide_style
def fig_gap(data: ReportData) -> Figure | None:
    """Servers scheduled and required by clock hour, per stage, with the gap shaded."""
    if data.gap is None:
        return None
    d = data.gap.to_dict()["stages"]
    stages = [s for s, sd in d.items() if sd["targets"]
              or any(r["gap"] != 0 for r in sd["by_hour"])] or list(d)
    fig = slide_figure((SLIDE[0], max(SLIDE[1], 1.6 + 2.2 * len(stages))))
    axes = np.atleast_1d(fig.subplots(len(stages), 1, sharex=True, squeeze=False)[:, 0])
    edges = np.arange(25)
    for ax, stage in zip(axes, stages, strict=True):
        rows = d[stage]["by_hour"]
        sched = np.array([r["scheduled"] for r in rows] + [rows[-1]["scheduled"]], dtype=float)
        req = np.array([r["required"] for r in rows] + [rows[-1]["required"]], dtype=float)
        ax.step(edges, sched, where="post", label="scheduled", color="tab:blue")
        ax.step(edges, req, where="post", label="required", color="tab:red")
        ax.fill_between(edges, sched, req, where=req > sched, step="post", color="tab:red",
                        alpha=0.25, label="short", lw=0)
        ax.fill_between(edges, sched, req, where=req < sched, step="post", color="tab:green",
                        alpha=0.2, label="spare", lw=0)
        for i, h in enumerate(d[stage]["infrastructure_gap_hours"]):
            ax.axvspan(h, h + 1, color="k", alpha=0.08,
                       label="short even at the cap" if i == 0 else None)
        cap = d[stage]["max_servers"]
        if cap is not None:
            ax.axhline(cap, color="k", ls=":", lw=1.5, label="cap (booths)")
        ax.set_ylim(0, 1.1 * max(sched.max(), req.max(), cap or 0, 1))
        ax.set_ylabel(plain(wrap(f"{stage}: servers on duty (servers)", 22)))
        clock_axis(ax, 0, 24, step=3, label="")
    axes[-1].set_xlabel("time of day (hh:mm)")
    legend_below(fig, axes=axes, ncol=6)
    fig.suptitle(plain(f"Servers scheduled and required by hour at {data.scenario.name}"))
    return fig
