"""The report's figures, drawn on fresh ``matplotlib.figure.Figure`` objects (no pyplot).

Each ``fig_*`` function returns a ``Figure`` (or ``None`` when there is nothing to
draw); :func:`png_base64` turns one into the base64 PNG the HTML embeds, and the PDF
writer saves the same objects. Times are minutes, rates percent on the axes.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
from matplotlib.figure import Figure

from ..compare import Comparison
from ..kpis import kpi_info
from ..plots.text import plain
from ..plots.tradeoff import PANELS, draw_tradeoff
from .build import ReportData
from .standards import Verdict

HOURS = np.arange(24)


def png_base64(fig: Figure, dpi: int = 100) -> str:
    """The figure as a base64-encoded PNG (for an ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _hour_axis(ax) -> None:
    ax.set_xlim(-0.5, 23.5)
    ax.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)])
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=7)


def _queue_limits(standards: list[Verdict]) -> dict[str, float]:
    """Stage → limit (minutes) of every applicable "wait_p95" standard."""
    out: dict[str, float] = {}
    for v in standards:
        s = v.standard
        if s.applies and s.kpi.endswith(".wait_p95") and s.kpi.count(".") == 1:
            stage = s.kpi.split(".")[0]
            out[stage] = min(out.get(stage, math.inf), s.limit)
    return out


def fig_hourly(data: ReportData) -> Figure:
    """95th-percentile wait (minutes) and mean queue length by hour of day, per stage."""
    fig = Figure(figsize=(9.0, 4.6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    limits = _queue_limits(data.standards)
    for stage, kpis in data.hourly.items():
        line, = top.plot(HOURS, kpis["wait_p95"], marker="o", ms=3, lw=1.4, label=plain(stage))
        bottom.plot(HOURS, kpis["queue_mean"], marker="o", ms=3, lw=1.4,
                    color=line.get_color(), label=plain(stage))
        if stage in limits:
            top.axhline(limits[stage], color=line.get_color(), ls="--", lw=1)
            top.annotate(plain(f"{stage} standard {limits[stage]:g} min"), (23.4, limits[stage]),
                         ha="right", va="bottom", fontsize=7, color=line.get_color())
    waits = [v for k in data.hourly.values() for v in k["wait_p95"] if not math.isnan(v)]
    top.set_ylim(0, 1.18 * max([*waits, *limits.values(), 1.0]))
    top.set_ylabel("95th pct wait (min)", fontsize=8)
    bottom.set_ylabel("travellers waiting", fontsize=8)
    bottom.set_xlabel("hour of day (travellers entering the stage)", fontsize=8)
    for ax in (top, bottom):
        _hour_axis(ax)
    top.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
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


def fig_utilisation(data: ReportData) -> Figure:
    """Utilisation by stage and lane over the run (bars, 95 % intervals) and by hour."""
    fig = Figure(figsize=(9.0, 3.6))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    rows = utilisation_rows(data)
    kpis = data.result.kpis
    nan = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    vals = [_err(kpis.get(k, nan), 100) for _, k in rows]
    y = np.arange(len(rows))[::-1]
    colors = ["tab:blue" if not label.startswith(" ") else "tab:gray" for label, _ in rows]
    left.barh(y, [v[0] for v in vals], xerr=[[v[1] for v in vals], [v[2] for v in vals]],
              color=colors, capsize=2)
    left.set_yticks(y, [plain(label.strip()) for label, _ in rows], fontsize=7)
    left.set_xlabel("busy / on duty, whole run (%)", fontsize=8)
    left.axvline(100, color="k", lw=0.8)
    left.grid(alpha=0.3, axis="x")
    left.tick_params(labelsize=7)
    for stage, hk in data.hourly.items():
        right.plot(HOURS, 100 * hk["utilization"], marker="o", ms=3, lw=1.4,
                   label=plain(stage))
    right.axhline(100, color="k", lw=0.8)
    right.set_ylabel("utilisation (%)", fontsize=8)
    right.set_xlabel("hour of day", fontsize=8)
    _hour_axis(right)
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_fairness(data: ReportData) -> Figure:
    """By class: share of innocent travellers referred, and share of threats detected."""
    classes = list(data.scenario.classes)
    kpis = data.result.kpis
    nan = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    fig = Figure(figsize=(9.0, 3.2))
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
               color=color, capsize=3)
        ax.set_xticks(x, [plain(c) for c in classes], fontsize=8)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3, axis="y")
        ax.tick_params(labelsize=7)
    overall = kpis.get("detection_rate", nan)["mean"]
    if not math.isnan(overall):
        shown = overall * det_info.unit.scale
        right.axhline(shown, color="k", ls="--", lw=1)
        right.annotate(f"all classes {det_info.format(overall, digits=1, with_unit=True)}",
                       (len(classes) - 0.6, shown), ha="right", va="bottom", fontsize=7)
    fig.tight_layout()
    return fig


def fig_tradeoff(comparison: Comparison, own: int) -> Figure:
    """Detection against each trade-off KPI of :data:`borderesim.plots.tradeoff.PANELS`
    (wait, innocent referrals, ...) along the knob; a star marks the scenario's own setting."""
    n = len(PANELS)
    fig = Figure(figsize=(9.0, 3.6))
    axes = list(fig.subplots(1, n, sharey=True))
    draw_tradeoff(axes, comparison)
    det = comparison.mean(own, "detection_rate") * kpi_info("detection_rate").unit.scale
    for ax, (kpi, label, scale) in zip(axes, PANELS, strict=True):
        ax.set_xlabel(label, fontsize=8)  # name the axis by its KPI, whatever draw_tradeoff did
        ax.plot([comparison.mean(own, kpi) * scale], [det], marker="*", ms=14, color="crimson",
                ls="none", label="this scenario", zorder=5)
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def fig_gap(data: ReportData) -> Figure | None:
    """Servers scheduled and required by hour of day, per stage, with the gap shaded."""
    if data.gap is None:
        return None
    d = data.gap.to_dict()["stages"]
    stages = [s for s, sd in d.items() if sd["targets"]
              or any(r["gap"] != 0 for r in sd["by_hour"])] or list(d)
    fig = Figure(figsize=(9.0, 2.5 * len(stages) + 0.4))
    axes = np.atleast_1d(fig.subplots(len(stages), 1, sharex=True, squeeze=False)[:, 0])
    for ax, stage in zip(axes, stages, strict=True):
        rows = d[stage]["by_hour"]
        sched = np.array([r["scheduled"] for r in rows], dtype=float)
        req = np.array([r["required"] for r in rows], dtype=float)
        ax.step(HOURS, sched, where="mid", lw=1.6, label="scheduled", color="tab:blue")
        ax.step(HOURS, req, where="mid", lw=1.6, label="required", color="tab:red")
        ax.fill_between(HOURS, sched, req, where=req > sched, step="mid", color="tab:red",
                        alpha=0.25, label="short")
        ax.fill_between(HOURS, sched, req, where=req < sched, step="mid", color="tab:green",
                        alpha=0.2, label="spare")
        for h in d[stage]["infrastructure_gap_hours"]:
            ax.axvspan(h - 0.5, h + 0.5, color="k", alpha=0.08)
        cap = d[stage]["max_servers"]
        if cap is not None:
            ax.axhline(cap, color="k", ls=":", lw=1)
        ax.set_ylabel(plain(f"{stage}\nservers"), fontsize=8)
        _hour_axis(ax)
    axes[0].legend(fontsize=7, ncol=4, loc="upper left")
    axes[-1].set_xlabel("hour of day", fontsize=8)
    fig.tight_layout()
    return fig
