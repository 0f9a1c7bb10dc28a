"""``borderesim report --options``: the workforce section equals ``plan --json``, escapes
user text, says so when no option meets the targets, and rejects a bad options file early."""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import sys

import pytest
import yaml

from borderesim.cli import main
from borderesim.cli.report import cheapest_words
from borderesim.output.report import SECTION_IDS, build, write_report
from borderesim.output.report.pdf import section_lines
from borderesim.output.report.sections import build_sections
from tests.test_plan_options import OPTIONS, SMALL, TARGET
from tests.test_report import Page

HOSTILE = "+1 booth <b>&amp;</b>"
RUN = ["--replications", "2", "--seed", "11", "--target", TARGET[0]]


def write(path, data) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return str(path)


def cli(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0
    return out.getvalue()


def at(d, path: str):
    """The value at a dotted ``data-plan`` path of the ``plan --json`` object."""
    for key in path.split("."):
        d = d[int(key)] if isinstance(d, list) else d[key]
    return d


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workforce")
    opts = copy.deepcopy(OPTIONS)
    opts["options"][1]["name"] = HOSTILE
    opts["cost_source"] = "illustrative <script>alert(1)</script>"
    scenario, options = write(tmp / "s.yaml", SMALL), write(tmp / "o.yaml", opts)
    out = tmp / "r.html"
    said = cli("report", scenario, "--options", options, "-o", str(out), "--no-tradeoff",
               "--no-gap", *RUN)
    plan = json.loads(cli("plan", scenario, "--options", options, "--json", *RUN))
    text = out.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return said, text, page, plan


def test_report_workforce_numbers_equal_plan_json(planned):
    said, _, page, plan = planned
    cells = page.find(None, "data-plan")
    paths = {c["data-plan"] for c in cells}
    n = len(plan["options"])
    assert n == 2 and plan["cheapest"] == "officers only"
    for i in range(n):  # the options table holds every option
        for key in ("name", "shifts.officers_on_shift", "shifts.paid_hours",
                    "shifts.slack_hours", "fte_total", "fte_gap", "cost.total",
                    "worst_wait_p95", "meets_targets"):
            assert f"options.{i}.{key}" in paths
    for h in range(24):  # the cheapest option's hourly check
        assert f"options.0.hours_met.{h}" in paths
        assert f"options.0.wait_p95_by_hour.primary.{h}" in paths
    for key in ("cheapest", "options.0.shifts.shifts.0.officers", "options.0.cost.staff",
                "workforce.shrinkage", "workforce.hours_per_fte", "discount_rate",
                "cost_source"):
        assert key in paths
    for c in cells:
        assert json.loads(c["data-value"]) == at(plan, c["data-plan"]), c["data-plan"]
    assert "cheapest option meeting every target: officers only" in said


def test_report_workforce_section_reads_plainly(planned):
    _, text, page, plan = planned
    ids = [a["id"] for a in page.find("section", "id")]
    expected = list(SECTION_IDS)
    expected.insert(expected.index("capacity-gap") + 1, "workforce")
    assert ids == expected
    body = "".join(page.text["workforce"])
    best = plan["options"][0]
    assert best["shifts"]["proven_optimal"] and best["shifts"]["mip_gap"] == 0
    assert "proven optimal" in body and "MIP gap 0.00%" in body
    assert f"EUR {best['cost']['total']:,.0f}" in body
    assert "shrinkage" in body and "C·r ÷ (1 − (1 + r)^−n)" in body
    # the gap search may add replications (issue 15): the text names the ones it used
    assert f"{plan['replications']} replications" in body and "seed 12" in body
    assert "The cheapest option meeting every target in every hour is “officers only”" in body
    # user text is escaped; its characters survive as text
    own = text[text.index('<section id="workforce">'):]
    own = own[:own.index("</section>")]
    assert "<b>" not in own and "<script>" not in text and "&lt;b&gt;&amp;amp;" in own
    assert HOSTILE in body and "<script>alert(1)</script>" in body
    imgs = page.find("img", "src")
    assert len(imgs) == 4  # hourly, utilisation, fairness, workforce (--no-gap, --no-tradeoff)
    png = base64.b64decode(imgs[-1]["src"].removeprefix("data:image/png;base64,"))
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_no_option_meets_pdf(tmp_path):
    small = copy.deepcopy(SMALL)
    small["stages"]["primary"]["booths"] = 1
    opts = copy.deepcopy(OPTIONS)
    opts["options"] = [{"name": "officers only"}]
    options = write(tmp_path / "o.yaml", opts)
    data = build(small, [TARGET[0]], replications=2, tradeoff=False, capacity_gap=False,
                 options=options)
    assert data.workforce.cheapest is None
    assert cheapest_words(data) == "; no staffing option meets every target"
    section = next(s for s in build_sections(data) if s.id == "workforce")
    assert section.paragraphs[1].startswith("No option meets every target in every hour on "
                                            "fresh travellers. The closest is “officers only”")
    missed = [r for r in section.tables[3][0][1:] if r[-1] != "met"]
    assert missed and all(r[-1].startswith("missed: ") for r in missed)
    assert not any("cheapest option meeting" in p for p in section.paragraphs)
    out = write_report(data, tmp_path / "r.pdf", "pdf")
    assert out.read_bytes().startswith(b"%PDF")
    lines = section_lines(section)
    assert "Shift plan of “officers only”" in lines and "Assumptions" in lines


def test_bad_options_file_exits_2_before_simulating(tmp_path, capsys, monkeypatch):
    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated before checking the options file")

    module = sys.modules["borderesim.output.report.build"]  # the package exports a function `build`
    monkeypatch.setattr(module, "simulate", no_simulation)
    scenario = write(tmp_path / "s.yaml", SMALL)
    out = tmp_path / "r.html"
    bad = copy.deepcopy(OPTIONS)
    bad["workforce"]["shrinkage"] = 1.5
    stage = copy.deepcopy(OPTIONS)
    stage["buy"]["booth"]["stage"] = "nowhere"
    for data, field in ((bad, "workforce.shrinkage"), (stage, "buy.booth.stage")):
        options = write(tmp_path / "o.yaml", data)
        assert main(["report", scenario, "--options", options, "-o", str(out),
                     "--target", TARGET[0]]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"borderesim: error: {options}: {field}: ") and \
            err.count("\n") == 1, err
    assert main(["report", scenario, "--options", str(tmp_path / "missing.yaml"), "-o",
                 str(out)]) == 2
    assert "missing.yaml" in capsys.readouterr().err
    assert not out.exists()
