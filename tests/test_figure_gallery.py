"""Every command's figure, drawn from small runs and checked for what a machine can check.

:func:`borderesim.output.plots.checks.figure_problems` looks for a title, axis labels with
units, overlapping text, text off the figure, a legend over data points and text too
small for a projector. A new figure joins the gallery by adding one entry to
``GALLERY`` (a name and a function of the shared small runs returning the Figure).
The first tests show that the checks catch each problem.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

import numpy as np
import pytest
from matplotlib.figure import Figure

from borderesim.cli import main
from borderesim.cli.sweep import DEFAULT_KPIS
from borderesim.model.scenario import load_scenario
from borderesim.output.animate import Painter, frame_times, make_frames, make_layout
from borderesim.output.plots.checks import figure_problems, gif_frames
from borderesim.output.plots.gap import draw_gap
from borderesim.output.plots.style import clock, parse_size, place_labels, slide_figure, slide_style
from borderesim.output.plots.sweep import draw_heatmaps, draw_main_effects, draw_sensitivity
from borderesim.output.plots.tradeoff import draw_tradeoff_figure
from borderesim.output.report import build
from borderesim.output.report import figures as report_figures
from borderesim.run.engines import get_engine
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample
from borderesim.run.sweep import load_results, load_sweep, run_sweep
from borderesim.run.sweep.sensitivity import sobol_indices

from .conftest import SCENARIOS

AIRPORT = SCENARIOS / "airport_arrivals.yaml"
SHORT = ["duration=8h"]  # hours 00-08 of the airport day, through the 07:00 flight bank


# --------------------------------------------------------------------------- the checks


@slide_style
def _good() -> Figure:
    fig = slide_figure()
    ax = fig.subplots()
    ax.plot([0, 1, 2], [3, 1, 2], marker="o", label="wait")
    ax.set_xlabel("time of day (hh:mm)")
    ax.set_ylabel("wait (min)")
    ax.set_title("A figure")
    return fig


def test_a_good_figure_passes():
    assert figure_problems(_good()) == []


def test_the_checks_catch_each_problem():
    fig = _good()
    ax = fig.axes[0]
    ax.set_ylabel("wait")
    ax.set_title("")
    ax.text(0.2, 2.5, "first label", fontsize=14)
    ax.text(0.2, 2.5, "second label", fontsize=14)
    ax.legend(loc="center", bbox_to_anchor=(1, 1), bbox_transform=ax.transData, fontsize=14)
    ax.text(1.5, 2.8, "tiny", fontsize=5)
    problems = " | ".join(figure_problems(fig))
    assert "no title" in problems
    assert "'wait' gives no unit" in problems
    assert "'first label' and 'second label' overlap" in problems
    assert "a legend covers 1 data point" in problems
    assert "'tiny' is 7 px high" in problems
    ax.set_xlabel("")
    assert "the x axis has no label" in " ".join(figure_problems(fig))


def test_categorical_axes_need_no_unit_and_text_must_stay_inside():
    fig = _good()
    ax = fig.axes[0]
    ax.set_xticks([0, 1, 2], ["passport", "secondary", "exit"])
    ax.set_xlabel("stage")
    assert figure_problems(fig) == []
    fig.text(0.99, 0.5, "this sentence leaves the figure on the right", fontsize=14)
    assert any("runs off the figure" in p for p in figure_problems(fig))


def test_place_labels_moves_overlapping_labels_apart():
    fig = _good()
    ax = fig.axes[0]
    labels = [ax.annotate(f"label {i}", (1, 2), textcoords="offset points", xytext=(5, -14),
                          fontsize=14)
              for i in range(3)]
    assert any("overlap" in p for p in figure_problems(fig))
    hidden = place_labels(fig, labels)
    assert hidden == 0 and figure_problems(fig) == []


def test_clock_and_sizes():
    assert [clock(h) for h in (0, 6, 13.5, 24)] == ["00:00", "06:00", "13:30", "24:00"]
    assert parse_size("1920x1080") == (1920, 1080)
    for bad in ("1920", "10x10", "axb"):
        with pytest.raises(ValueError):
            parse_size(bad)


# --------------------------------------------------------------------------- small runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """One small run of each command, shared by the gallery."""
    tmp = tmp_path_factory.mktemp("gallery")
    scenario = load_scenario(AIRPORT, SHORT)
    out: dict = {"scenario": scenario}
    out["report"] = build(scenario, ["passport.wait_p95<=15min", "secondary.wait_p95<=30min"],
                          replications=2, seed=11)
    out["gap"] = out["report"].gap  # what `gap` draws, from the report's own gap run
    out["compare"] = out["report"].comparison
    grid = tmp / "grid.yaml"
    grid.write_text(f"scenario: {SCENARIOS / 'land_crossing.yaml'}\nreplications: 2\nseed: 1\n"
                    "set: {duration: 8h}\ngrid:\n  stages.primary.lanes.general.servers: [5, 9]\n"
                    "  arrivals.per_hour: [150, 350]\n  stages.secondary.servers: [2, 4]\n")
    sobol = tmp / "sobol.yaml"
    sobol.write_text(f"scenario: {SCENARIOS / 'land_crossing.yaml'}\nreplications: 1\nseed: 1\n"
                     "set: {duration: 8h}\nsample:\n  method: sobol\n  n: 8\n  ranges:\n"
                     "    stages.primary.lanes.general.servers: [5, 9]\n"
                     "    arrivals.per_hour: [150.0, 350.0]\n")
    for name, path in (("grid", grid), ("sobol", sobol)):
        spec = load_sweep(path)
        run_sweep(spec, tmp / name, workers=1, progress=False)
        out[name] = (spec, load_results(tmp / name))
    out["tmp"] = tmp
    return out


def _sobol(r):
    spec, df = r["sobol"]
    kpis = ["wait_p95_rep", "detection_rate"]
    return draw_sensitivity(sobol_indices(spec, df, kpis), kpis, "Sobol' indices, small run")


def _painter(r):
    scenario = r["scenario"]
    plan = make_plan(scenario)
    inputs = sample(scenario, plan, scenario.seed, 0)
    trace = get_engine("fast")(plan, inputs)
    frame = make_frames(plan, inputs, trace, frame_times(420.0, 421.0, 1.0))[0]
    painter = Painter(make_layout(plan), scenario.name)
    painter.draw(frame)
    return painter.fig


def _workforce(_r):
    from borderesim.analysis.workforce import plan_workforce
    from borderesim.output.plots.workforce import draw_options

    from .test_plan_options import OPTIONS, SMALL, TARGET

    return draw_options(plan_workforce(SMALL, OPTIONS, TARGET))


KPIS = ["wait_p95_rep", "secondary.wait_mean", "detection_rate"]
GALLERY: dict[str, Callable[[dict], Figure | None]] = {
    "gap --out: gap.png": lambda r: draw_gap(r["gap"]),
    "compare: tradeoff.png": lambda r: draw_tradeoff_figure(r["compare"]),
    "sweep --plot: main_effects.png": lambda r: draw_main_effects(*r["grid"], KPIS),
    "sweep --plot: main_effects.png, default KPIs":
        lambda r: draw_main_effects(*r["grid"], list(DEFAULT_KPIS)),
    "sweep --plot: heatmap.png": lambda r: draw_heatmaps(*r["grid"], "wait_p95_rep", log=True),
    "sweep --plot: sensitivity.png": _sobol,
    "report: waits by hour": lambda r: report_figures.fig_hourly(r["report"]),
    "report: utilisation": lambda r: report_figures.fig_utilisation(r["report"]),
    "report: fairness": lambda r: report_figures.fig_fairness(r["report"]),
    "report: trade-off": lambda r: report_figures.fig_tradeoff(r["report"].comparison,
                                                              r["report"].own_variant),
    "report: gap": lambda r: report_figures.fig_gap(r["report"]),
    "animate: a frame": _painter,
    "plan --out: workforce_options.png": _workforce,
}
"""Every figure a command draws. New figures (shocks, workforce options) go here."""


@pytest.mark.parametrize("name", list(GALLERY))
def test_gallery(runs, name):
    fig = GALLERY[name](runs)
    assert fig is not None, name
    assert figure_problems(fig) == [], name
    w, h = (fig.get_size_inches() * 100).round()
    assert w == 1280 and h >= 720 and (name.startswith("report") or h == 720), (name, w, h)


def test_main_effects_share_an_honest_scale_with_intervals(runs):
    fig = draw_main_effects(*runs["grid"], ["wait_p95_rep"])
    axes = fig.axes[:3]
    assert len({ax.get_ylim() for ax in axes}) == 1  # one scale for the row
    assert axes[0].get_ylim()[0] == 0  # from zero: a wait cannot be negative
    bands = [c for ax in axes for c in ax.collections if c.get_label().startswith("95 %")]
    assert len(bands) == 3  # an interval on every panel


def test_sweep_plot_writes_the_readme_figures(runs, capsys):
    out = runs["tmp"] / "cli"
    spec_path = runs["tmp"] / "grid.yaml"
    assert main(["sweep", str(spec_path), "--out", str(out), "--plot", "--no-progress",
                 "--size", "960x540", "--kpi", "wait_p95_rep"]) == 0
    said = capsys.readouterr().out
    for name in ("main_effects.png", "heatmap.png"):
        assert name in said and (out / name).stat().st_size > 1000
    from PIL import Image

    with Image.open(out / "main_effects.png") as im:
        assert im.size == (960, 540)


def test_animation_writes_the_frames_it_reports(tmp_path, capsys):
    gif = tmp_path / "crossing.gif"
    # 02:00-02:15: nobody arrives, so only the clock tells frames apart
    assert main(["animate", str(AIRPORT), "-o", str(gif), "--hours", "2-2.25", "--step",
                 "30", "--size", "640x360", "--set", "duration=8h"]) == 0
    said = capsys.readouterr().out
    assert "30 frames" in said and "640x360 px" in said
    assert gif_frames(gif) == 30
    assert main(["animate", str(AIRPORT), "-o", str(gif), "--step", "0.5"]) == 2
    assert "--step must be 1 second or more" in capsys.readouterr().err


def test_report_hours_are_clock_hours_with_the_warmup_shaded(runs):
    fig = report_figures.fig_hourly(runs["report"])
    ax = fig.axes[-1]
    assert ax.get_xlim() == (0, 24)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "06:00" in ticks and all(":" in t for t in ticks if t)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("not counted") for t in legend)  # an 8-hour run: hours 8-23
    # one row per stage, each on its own scale: secondary's waits don't flatten passport's
    stages = list(runs["report"].hourly)
    assert len(fig.axes) == 2 * len(stages)


def test_every_point_label_fits(runs):
    fig = draw_tradeoff_figure(runs["compare"])
    shown = [t for ax in fig.axes for t in ax.texts if t.get_visible()]
    assert shown, "some swept values are labelled"
    with contextlib.redirect_stdout(io.StringIO()):
        assert figure_problems(fig) == []
    assert np.all([ax.get_legend() is None for ax in fig.axes])  # one legend, below
