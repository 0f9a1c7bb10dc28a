"""``borderesim report``: a self-contained file, every section, the numbers of ``run --json``."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
from html.parser import HTMLParser

import numpy as np
import pytest

from borderesim import simulate
from borderesim.cli import main
from borderesim.errors import ScenarioError
from borderesim.model.scenario import load_scenario
from borderesim.output.report import SECTION_IDS
from borderesim.output.report.knobs import SCALES, SHIFTS, tradeoff_variants
from borderesim.output.report.standards import Standard, judge, standards_for, target_standards
from borderesim.run.plan import make_plan

from .conftest import SCENARIOS

AIRPORT = str(SCENARIOS / "airport_arrivals.yaml")
LAND = str(SCENARIOS / "land_crossing.yaml")
# hours 00-08 of the airport day, through the 07:00 flight bank; small and quick
ARGS = ["--set", "duration=8h", "--replications", "2", "--seed", "11"]


class Page(HTMLParser):
    """Collects every start tag with its attributes, and the text inside each section."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.section: str | None = None
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section":
            self.section = a.get("id")
            self.text[self.section] = []

    def handle_data(self, data):
        if self.section is not None:
            self.text[self.section].append(data)

    def find(self, tag: str | None = None, attr: str | None = None):
        return [a for t, a in self.tags if (tag is None or t == tag)
                and (attr is None or attr in a)]


def run_json(*args: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["run", *args, "--json"]) == 0
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["report", AIRPORT, "-o", str(path), *ARGS]) == 0
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return text, page


def test_report_is_self_contained(report):
    text, page = report
    assert "http://" not in text and "https://" not in text
    assert not page.find("script") and not page.find("link") and not page.find("iframe")
    for _, attrs in page.tags:
        for key in ("src", "href", "srcset", "data", "poster", "action"):
            value = attrs.get(key)
            if value is None:
                continue
            assert value.startswith(("data:image/png;base64,", "#")), (key, value[:60])
    assert "url(" not in text and "@import" not in text


def test_report_holds_every_section_with_figures_and_captions(report):
    text, page = report
    ids = [a["id"] for a in page.find("section", "id")]
    assert ids == list(SECTION_IDS)
    links = [a["href"] for a in page.find("a", "href")]
    assert links == [f"#{i}" for i in SECTION_IDS]
    imgs = page.find("img", "src")
    assert len(imgs) == 5  # hourly, utilisation, fairness, trade-off, capacity gap
    for img in imgs:
        png = base64.b64decode(img["src"].removeprefix("data:image/png;base64,"))
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert text.count("<figcaption>") == 5
    for sid in ("hourly", "utilisation", "fairness", "tradeoff", "capacity-gap"):
        body = "".join(page.text[sid])
        assert "2 replications" in body, sid
    summary = "".join(page.text["summary"])
    for heading in ("Crossing", "Demand", "Staffing", "Strategy"):
        assert heading in summary
    assert "refers a fixed share of each class" in summary
    assert "duration: 480.0" in "".join(page.text["scenario-yaml"])


def test_report_numbers_equal_run_json(report):
    _, page = report
    expected = run_json(AIRPORT, *ARGS)["kpis"]
    cells = page.find(None, "data-kpi")
    assert {c["data-kpi"] for c in cells} == set(expected)  # every KPI is in the report
    for cell in cells:
        ci = expected[cell["data-kpi"]]
        got = {k: json.loads(cell[f"data-{k.replace('_', '-')}"]) for k in ci}
        assert got == ci, cell["data-kpi"]


def test_report_verdicts_follow_the_numbers(report):
    _, page = report
    marks = page.find("td", "data-status")
    kpis = page.find(None, "data-kpi")
    statuses = {m["data-status"] for m in marks}
    assert statuses <= {"met", "missed", "n/a", "no data"}
    # the standards table comes first: its rows pair a data-kpi cell with a verdict cell
    for mark, cell in zip(marks, kpis, strict=False):
        if mark["data-status"] not in ("met", "missed"):
            continue
        mean, limit = json.loads(cell["data-mean"]), json.loads(mark["data-limit"])
        ok = mean <= limit if mark["data-op"] == "<=" else mean >= limit
        assert (mark["data-status"] == "met") == ok
    names = [c["data-kpi"] for c in kpis[:len(marks)]]
    assert names[:2] == ["time_in_system_p95", "passport.wait_p95"]  # ICAO, queue standard


def test_release_by_channel_from_traces(report):
    _, page = report
    result = simulate(load_scenario(AIRPORT, ["duration=8h"]), replications=2, seed=11,
                      keep_traces=True)
    green, red = [], []
    for inputs, trace in result.traces:
        sc = result.scenario  # counted travellers (the window), followed to their exit
        counted = (inputs.arrival >= sc.warmup) & (inputs.arrival < sc.horizon)
        done = ~np.isnan(trace.exit) & counted
        tis = trace.exit - inputs.arrival
        green.append(tis[done & ~trace.referred].mean())
        red.append(tis[done & trace.referred].mean())
    cells = {c["data-derived"]: c for c in page.find("td", "data-derived")}
    assert math.isclose(json.loads(cells["release.green"]["data-mean"]), np.mean(green))
    assert math.isclose(json.loads(cells["release.red"]["data-mean"]), np.mean(red))
    assert {f"detection.{c}" for c in ("eu", "visa_exempt", "visa_required")} <= set(cells)


def test_bad_targets_exit_2(tmp_path, capsys):
    out = tmp_path / "r.html"
    for bad in ("passport.wait_p95<=soon", "nowhere.wait_p95<=10min", "wait_p99<=10min",
                "passport.egate.wait_p95<=5min", "detection_rate<=0.5"):
        assert main(["report", AIRPORT, "-o", str(out), "--targets", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("borderesim: error: --target: ") and err.count("\n") == 1, err
    assert not out.exists()
    assert main(["report", AIRPORT, "-o", str(tmp_path / "missing" / "r.html")]) == 2
    assert "folder does not exist" in capsys.readouterr().err


def test_targets_replace_queue_standard_and_drive_the_gap_pdf(tmp_path, capsys):
    out = tmp_path / "land.pdf"
    assert main(["report", LAND, "-o", str(out), "--set", "duration=4h", "--replications",
                 "2", "--targets", "primary.wait_p95<=3min", "detection_rate>=0.5",
                 "--no-tradeoff"]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"wrote {out} (pdf;")
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page\n") + data.count(
        b"/Type /Page ") >= 4


def test_standards_from_targets():
    scenario = load_scenario(AIRPORT)
    plan = make_plan(scenario)
    rows = target_standards(["wait_p95<=20min", "passport.egate.wait_mean<=1min",
                             "detection_rate>=60%"], plan)
    assert [r.kpi for r in rows] == ["passport.wait_p95", "secondary.wait_p95",
                                     "passport.egate.wait_mean", "detection_rate"]
    assert rows[0].limit == 20 and rows[2].limit == 1 and rows[3].limit == 0.6
    default = standards_for(scenario, plan, "airport")
    assert [s.kpi for s in default] == ["time_in_system_p95", "passport.wait_p95",
                                        "time_in_system_mean"]
    assert default[1].limit == 25 and [s.applies for s in default] == [True, True, False]
    replaced = standards_for(scenario, plan, "cargo", ["passport.wait_mean<=4min"])
    assert [s.kpi for s in replaced] == ["time_in_system_p95", "passport.wait_mean",
                                         "time_in_system_mean"]
    assert [s.applies for s in replaced] == [False, True, True]
    with pytest.raises(ScenarioError, match="--kind"):
        standards_for(scenario, plan, "harbour")


def test_judge():
    s = Standard("x", "src", "w", "k", "<=", 10.0, "min")
    assert judge(s, {"mean": 9.0, "ci_low": 8.0, "ci_high": 9.5}).mark == "✔ met"
    v = judge(s, {"mean": 9.0, "ci_low": 7.0, "ci_high": 11.0})
    assert v.status == "met" and v.uncertain
    assert judge(s, {"mean": 10.5, "ci_low": 10.2, "ci_high": 10.8}).status == "missed"
    assert judge(s, None).status == "no data"
    up = Standard("d", "src", "w", "k", ">=", 0.5, "%")
    assert judge(up, {"mean": 0.4, "ci_low": math.nan, "ci_high": math.nan}).status == "missed"


def test_kinds_of_the_example_scenarios():
    assert load_scenario(AIRPORT).kind == "airport"
    assert load_scenario(LAND).kind == "land"
    cargo = load_scenario(SCENARIOS / "cargo_terminal.yaml")
    assert cargo.kind == "cargo"
    rows = standards_for(cargo, make_plan(cargo), cargo.kind)
    assert [(s.kpi, s.limit, s.applies) for s in rows] == [
        ("time_in_system_p95", 45, False), ("gate.wait_p95", 30, True),
        ("xray.wait_p95", 30, True), ("time_in_system_mean", 26.8, True)]


def test_tradeoff_variants_vary_the_main_knob():
    scenario = load_scenario(AIRPORT)
    variants, own, _ = tradeoff_variants(scenario)
    assert [v.value for v in variants] == list(SCALES) and variants[own].value == 1.0
    assert variants[own].targeting["referral_rate"] == {"eu": 0.005, "visa_exempt": 0.02,
                                                        "visa_required": 0.04}
    assert variants[-1].targeting["referral_rate"]["visa_required"] == pytest.approx(0.08)
    risk = load_scenario(AIRPORT, ["targeting={strategy: risk_score, auc: 0.9, threshold: 2}"])
    variants, own, _ = tradeoff_variants(risk)
    assert [v.targeting["threshold"] for v in variants] == [2 + d for d in SHIFTS]
    assert variants[own].targeting["threshold"] == 2
    none = load_scenario(AIRPORT, ["targeting=null"])
    assert tradeoff_variants(none)[0] == []
