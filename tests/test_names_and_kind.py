"""Names are text everywhere (never mathtext, never HTML), and the crossing kind is explicit.

A scenario, class or strategy named ``$\\badmacro$`` once crashed every figure that
labelled it (matplotlib read it as mathtext); a made-up road crossing with a
"bus/truck lane" was once classed as cargo from its wording and judged against a
truck benchmark.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json

import pytest
import yaml
from matplotlib.text import Text

from borderesim.cli import main
from borderesim.errors import ScenarioError
from borderesim.model.scenario import load_scenario
from borderesim.output import animate
from borderesim.output.plots.text import plain
from borderesim.output.report import NO_KIND_NOTE, build, write_report
from borderesim.output.report.figures import fig_fairness
from borderesim.output.report.sections import kind_words
from borderesim.output.report.standards import standards_for
from borderesim.run.engines.fast.support import supports
from borderesim.run.plan import make_plan

MACRO = r"$\badmacro$"
"""Two unescaped dollars around an unknown TeX macro: a mathtext parse error if parsed."""

EASTGATE = {
    "name": "Eastgate road crossing",
    "description": "A made-up road crossing: cars, and a bus/truck lane for coaches.",
    "duration": "3h",
    "replications": 2,
    "seed": 5,
    "arrivals": {"per_hour": 90},
    "classes": {"car": {"share": 0.8, "threat_prevalence": 0.01},
                "coach": {"share": 0.2, "threat_prevalence": 0.01}},
    "stages": {
        "primary": {"detection_probability": 0.05, "lanes": {
            "cars": {"servers": 2, "service": {"distribution": "exponential", "mean": "1min"}},
            "bus_truck": {"classes": ["coach"], "servers": 1,
                          "service": {"distribution": "exponential", "mean": "2min"}}}},
        "secondary": {"visits": "referred", "servers": 1, "detection_probability": 0.8,
                      "service": {"distribution": "exponential", "mean": "6min"}},
    },
    "targeting": {"strategy": "random", "referral_rate": 0.05},
}

HOSTILE = copy.deepcopy(EASTGATE)
HOSTILE.update(
    name=f"{MACRO} <script>alert(1)</script>",
    description="<img src=x onerror=alert(1)> costs $5 and $10",
    # class, stage and lane names are identifiers (validation refuses '$'); scenario and
    # strategy names stay free text and reach every figure
    classes={"car": {"share": 0.8, "threat_prevalence": 0.01},
             "coach": {"share": 0.2, "threat_prevalence": 0.01}},
    stages={"passport-control": copy.deepcopy(EASTGATE["stages"]["primary"]),
            "secondary": copy.deepcopy(EASTGATE["stages"]["secondary"])},
)
HOSTILE["stages"]["passport-control"]["lanes"]["cars"]["classes"] = ["car", "coach"]


def _write(tmp_path, data: dict, name: str = "scenario.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def _run(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(args)
    return status, out.getvalue()


def shown(text: Text) -> str:
    """What matplotlib draws for ``text``; fails if it would be parsed as mathtext."""
    drawn, math = text._preprocess_math(text.get_text())
    assert math is False, text.get_text()
    return drawn


# --------------------------------------------------------------------------- kind


def test_kind_is_an_optional_scenario_field():
    assert load_scenario(copy.deepcopy(EASTGATE)).kind is None
    land = load_scenario(copy.deepcopy(EASTGATE), ["kind=land"])
    assert land.kind == "land"
    assert supports(land) is None  # the kind is no reason to leave the fast engine
    with pytest.raises(ScenarioError, match="kind"):
        load_scenario(copy.deepcopy(EASTGATE), ["kind=harbour"])


@pytest.mark.parametrize("kind, applies, queue_limit", [
    (None, {"time_in_system_p95": False, "time_in_system_mean": False}, 30),
    ("land", {"time_in_system_p95": False, "time_in_system_mean": False}, 30),
    ("generic", {"time_in_system_p95": False, "time_in_system_mean": False}, 30),
    ("airport", {"time_in_system_p95": True, "time_in_system_mean": False}, 25),
    ("cargo", {"time_in_system_p95": False, "time_in_system_mean": True}, 30),
])
def test_the_kind_alone_picks_the_standards(kind, applies, queue_limit):
    # the wording says "road", "bus" and "truck"; only the kind field counts
    scenario = load_scenario(copy.deepcopy(EASTGATE), [] if kind is None else [f"kind={kind}"])
    rows = standards_for(scenario, make_plan(scenario), scenario.kind)
    assert {s.kpi: s.applies for s in rows if s.kpi in applies} == applies
    queue = [s for s in rows if s.kpi == "primary.wait_p95"]
    assert len(queue) == 1 and queue[0].applies and queue[0].limit == queue_limit


def _verdicts(html: str) -> dict[str, str]:
    """KPI → data-status of each row of the standards table."""
    table = html.split('<table class="standards">')[1].split("</table>")[0]
    out = {}
    for row in table.split("<tr>")[2:]:
        kpi = row.split('data-kpi="')[1].split('"')[0]
        out[kpi] = row.split('data-status="')[1].split('"')[0]
    return out


def _report(tmp_path, scenario: str, *extra: str) -> tuple[str, str]:
    path = tmp_path / "r.html"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status, out = _run(["report", scenario, "-o", str(path), "--no-tradeoff", "--no-gap",
                            *extra])
    assert status == 0, err.getvalue()
    return path.read_text(encoding="utf-8"), err.getvalue()


def test_report_without_kind_never_applies_the_cargo_benchmark(tmp_path):
    scenario = _write(tmp_path, EASTGATE)
    html, err = _report(tmp_path, scenario)
    assert _verdicts(html) == {"time_in_system_p95": "n/a", "primary.wait_p95": "met",
                               "time_in_system_mean": "n/a"}
    assert "better" not in html and "worse" not in html
    assert err.count("\n") == 1 and "add `kind: airport`" in err and NO_KIND_NOTE in err
    assert "Crossing kind: not given" in html and "<code>kind: cargo</code>" in html

    html, _ = _report(tmp_path, scenario, "--set", "kind=cargo")
    assert _verdicts(html)["time_in_system_mean"] in ("met", "missed")
    assert "✔ better" in html or "✘ worse" in html


def test_land_kind_gets_land_standards_and_report_kind_overrides():
    land = build(copy.deepcopy(EASTGATE) | {"kind": "land"}, tradeoff=False,
                 capacity_gap=False)
    assert {v.standard.kpi: v.status for v in land.standards} == {
        "time_in_system_p95": "n/a", "primary.wait_p95": "met", "time_in_system_mean": "n/a"}
    assert land.notes == [] and kind_words(land) == "land (the scenario's `kind:`)"
    cargo = copy.deepcopy(EASTGATE) | {"kind": "cargo"}
    data = build(cargo, kind="land", tradeoff=False, capacity_gap=False)
    assert [v.status for v in data.standards if v.standard.kind == "benchmark"] == ["n/a"]
    assert kind_words(data) == "land (`--kind`; the scenario says cargo)"


# --------------------------------------------------------------------------- names


def test_plain_text_is_drawn_as_written():
    from matplotlib.figure import Figure

    fig = Figure()
    for name in (MACRO, "cost $5", r"a\$b", r"\\$x$", "$$", "plain_name", r"$\alpha$ and $"):
        text = fig.text(0, 0, plain(name))
        assert shown(text) == name
    fig.savefig(io.BytesIO(), format="png")


def test_animate_shows_names_literally(tmp_path):
    scenario = load_scenario(copy.deepcopy(HOSTILE))
    painter = animate.Painter(animate.make_layout(make_plan(scenario)), scenario.name)
    painter.canvas.draw()
    texts = [shown(t) for t in painter.fig.findobj(Text)]
    assert scenario.name in texts and "passport-control" in texts
    status, out = _run(["animate", _write(tmp_path, HOSTILE), "-o", str(tmp_path / "a.gif"),
                        "--hours", "1-1.5", "--step", "300", "--engine", "simpy"])
    assert status == 0 and "wrote" in out and (tmp_path / "a.gif").stat().st_size > 1000


def test_gap_targets_a_hyphenated_stage_and_draws_names(tmp_path):
    out = tmp_path / "gap"
    status, said = _run(["gap", _write(tmp_path, HOSTILE), "--target",
                         "passport-control.wait_p95<=15min", "--out", str(out)])
    assert status == 0 and "wrote" in said
    saved = json.loads((out / "gap.json").read_text())
    assert [t["stage"] for t in saved["targets"]] == ["passport-control"]
    assert saved["stages"]["passport-control"]["targets"]
    assert (out / "gap.png").stat().st_size > 10_000


def test_compare_draws_a_strategy_named_like_mathtext(tmp_path):
    strategies = tmp_path / "strategies.yaml"
    strategies.write_text(yaml.safe_dump({"strategies": {
        MACRO: {"strategy": "random", "referral_rate": [0.02, 0.05]},
        "other": {"strategy": "random", "referral_rate": 0.03}}}), encoding="utf-8")
    out = tmp_path / "cmp"
    status, said = _run(["compare", _write(tmp_path, HOSTILE), "--strategies",
                         str(strategies), "--out", str(out)])
    assert status == 0 and MACRO in said
    assert (out / "tradeoff.png").stat().st_size > 10_000


def test_report_shows_names_as_text_not_mathtext_or_html(tmp_path):
    path = tmp_path / "r.html"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status, said = _run(["report", _write(tmp_path, HOSTILE), "-o", str(path),
                             "--targets", "passport-control.wait_p95<=15min", "--kind",
                             "land"])
    assert status == 0 and said.startswith(f"wrote {path}"), err.getvalue()
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x" in html
    assert MACRO in html and 'data-kpi="passport-control.wait_p95"' in html
    assert html.count("data:image/png;base64,") == 5


def test_report_figures_and_pdf_show_names_literally(tmp_path):
    data = build(copy.deepcopy(HOSTILE), kind="land", tradeoff=False, capacity_gap=False)
    fig = fig_fairness(data)
    fig.canvas.draw()
    labels = [shown(t) for ax in fig.axes for t in ax.get_xticklabels()]
    assert {"car", "coach"} <= set(labels)
    # the PDF's text pages carry the scenario name ($\badmacro$) through mathtext-safe text
    pdf = write_report(data, tmp_path / "r.pdf", "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
