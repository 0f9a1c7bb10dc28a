"""The workshop page's figures, drawn with matplotlib (no pyplot: safe in a server).

``tradeoff_figure``: detection rate (%) against the 95th-percentile wait (minutes) as
the strategy's main knob varies, with the current setting marked. ``queue_figure``:
travellers waiting at each stage over the day. ``snapshot_png``: both, with the
headline numbers, as one PNG for slides.
"""

from __future__ import annotations

import io
import math

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .logic import (
    CurvePoint,
    Knobs,
    Outcome,
    describe_setting,
    fmt_interval,
    fmt_number,
    headline,
    worst_wait,
)

CURRENT = "#d62728"
CURVE = "#4c72b0"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _knob_label(name: str, value: float) -> str:
    return f"{value:.2f}" if name == "auc" else f"{value:.0%}"


def draw_tradeoff(ax: Axes, knob: str | None, points: list[CurvePoint], outcome: Outcome) -> None:
    """Detection against wait on ``ax``: the curve (if any) and the current setting."""
    if points:
        xs = [p.wait_p95 for p in points]
        ys = [100 * p.detection_rate for p in points]
        words = (knob or "").replace("_", " ")
        ax.plot(xs, ys, "-o", color=CURVE, markersize=4, label=f"varying {words}")
        for p, x, y in zip(points, xs, ys, strict=True):
            if not (math.isnan(x) or math.isnan(y)):
                ax.annotate(_knob_label(knob or "", p.value), (x, y), textcoords="offset points",
                            xytext=(4, -10), fontsize=7, color=CURVE)
    x = worst_wait(outcome.kpis, outcome.scenario)
    y = 100 * outcome.mean("detection_rate")
    ax.plot([x], [y], marker="*", markersize=16, color=CURRENT, linestyle="none",
            label="current setting")
    ax.set_xlabel("worst stage's wait, 95th percentile (min)")
    ax.set_ylabel("detection rate (%)")
    ax.set_title("Detection against wait", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def draw_queue(ax: Axes, outcome: Outcome) -> None:
    """Travellers waiting at each stage over the day (mean over replications)."""
    for stage, q in outcome.queue.items():
        ax.plot(outcome.queue_hours, q, label=stage.replace("$", r"\$"), linewidth=1.4)
    warm = outcome.scenario.warmup / 60.0
    if warm > 0:
        ax.axvspan(0, warm, color="#cccccc", alpha=0.4, label="warm-up (not counted)")
    ax.set_xlabel("hour of the day")
    ax.set_ylabel("travellers waiting")
    ax.set_title(f"Queue length over the day (mean of {outcome.replications} runs)", fontsize=10)
    ax.set_xlim(0, outcome.scenario.horizon / 60.0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")


def tradeoff_figure(knob: str | None, points: list[CurvePoint], outcome: Outcome) -> Figure:
    """The detection–wait trade-off on its own figure."""
    fig = _figure(5.2, 3.6)
    draw_tradeoff(fig.add_subplot(), knob, points, outcome)
    return fig


def queue_figure(outcome: Outcome) -> Figure:
    """Queue length over the day on its own figure."""
    fig = _figure(5.2, 3.6)
    draw_queue(fig.add_subplot(), outcome)
    return fig


def snapshot_png(outcome: Outcome, knobs: Knobs, knob: str | None,
                 points: list[CurvePoint], setting: str = "") -> bytes:
    """One PNG for slides: the setting, the four numbers with intervals, both charts.

    ``setting``: the page's ``logic.setting_id``, printed on the image and stored in the
    PNG's ``Description`` text chunk.
    """
    fig = _figure(11, 5.6)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 3])
    words = "   ".join([*describe_setting(knobs), f"engine {outcome.engine}"])
    top.text(0.01, 0.92, outcome.scenario.name, fontsize=13, weight="bold", va="top",
             parse_math=False)
    top.text(0.01, 0.62, words + (f"   setting {setting}" if setting else ""), fontsize=9,
             va="top", parse_math=False)
    for i, row in enumerate(headline(outcome)):
        x = 0.01 + i * 0.25
        top.text(x, 0.36, row["label"], fontsize=9, va="top", color="#555555")
        top.text(x, 0.20, fmt_number(row["mean"], row["unit"]), fontsize=13, weight="bold",
                 va="top")
        top.text(x, 0.0, fmt_interval(row, outcome.replications), fontsize=7, va="bottom",
                 color="#555555")
    left, right = bottom.subplots(1, 2)
    draw_tradeoff(left, knob, points, outcome)
    draw_queue(right, outcome)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100,
                metadata={"Description": f"borderesim workshop setting {setting}"})
    return buf.getvalue()
