"""A region file through compare, report, sweep and the workshop (issue 20's surfaces)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from borderesim.cli import main
from borderesim.run.region import load_region
from tests.test_region import crossing, one_origin, two_stage, write_region

GREEN_P = 0.2


def small_region(tmp_path, **fields):
    """Two crossings with random targeting (a: 50 %, b: 5 %), a green border, 4 h."""
    data = {"origins": one_origin(40, {"a": 10, "b": 20}, {"a": 0.7, "b": 0.3}),
            "green_border": {"travel": "2h", "detection_probability": GREEN_P},
            "adversary": {"behaviour": "displacement", "knowledge": 1.0},
            "duration": "4h", "warmup": "30min", "replications": 3}
    data.update(fields)
    return write_region(
        tmp_path, {"a": crossing(two_stage(), {"strategy": "random", "referral_rate": 0.5}),
                   "b": crossing(two_stage(), {"strategy": "random", "referral_rate": 0.05})},
        **data)


def write_variants(tmp_path, variants) -> str:
    path = tmp_path / "variants.yaml"
    path.write_text(yaml.safe_dump({"variants": variants}, sort_keys=False))
    return str(path)


def one_line_error(capsys, *names: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(n in err[0] for n in names), err
    return err[0]


# --------------------------------------------------------------------- --set crossings


def test_set_reaches_a_crossings_own_fields(tmp_path):
    path = small_region(tmp_path)
    region = load_region(path, ["crossings.b.targeting.referral_rate=0.3",
                                "crossings.a.stages.primary.servers=7"])
    assert region.scenarios["b"].targeting.referral_rate == 0.3
    assert region.scenarios["a"].stages["primary"].servers == 7
    assert region.scenarios["a"].targeting.referral_rate == 0.5  # the other one untouched
    # the region's own duration still wins over a crossing's
    again = load_region(path, ["crossings.a.duration=10h"])
    assert again.scenarios["a"].duration == 240


@pytest.mark.parametrize(("assignment", "names"), [
    ("crossings.west.targeting.referral_rate=0.1", ("region.yaml", "crossings.west:",
                                                     "unknown crossing")),
    ("crossings.a.targeting.bogus=1", ("a.yaml", "targeting.bogus", "unknown field")),
])
def test_a_bad_crossing_set_gets_one_line(tmp_path, capsys, assignment, names):
    path = small_region(tmp_path)
    assert main(["run", str(path), "--set", assignment]) == 2
    one_line_error(capsys, *names)


# ------------------------------------------------------------------------ compare


def test_compare_variants_on_the_same_travellers(tmp_path, capsys):
    path = small_region(tmp_path)
    variants = write_variants(tmp_path, {
        "as_is": {},
        "again": None,
        "naive": {"adversary.behaviour": "naive"},
        "stricter_b": {"crossings.b.targeting.referral_rate": 0.5},
    })
    out = tmp_path / "out"
    assert main(["compare", str(path), "--variants", variants, "--json",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    data = json.loads(text)
    assert json.loads((out / "comparison.json").read_text())["variants"].keys() == \
        data["variants"].keys()
    assert "NaN" not in text and data["baseline"] == "as_is"
    assert data["replications"] == 3
    v = data["variants"]
    same = v["again"]["difference"]
    assert all(ci["mean"] in (0, None) for ci in same.values())
    # knowing threats go to b (0.1405 < the green border's 0.2); naive ones split 70/30
    assert v["as_is"]["kpis"]["region.detection_rate"]["mean"] == pytest.approx(0.1405)
    assert v["naive"]["difference"]["region.detection_rate"]["ci_low"] > 0
    assert v["naive"]["changes"] == {"adversary.behaviour": "naive"}
    # b as strict as a: displaced threats now take the green border
    stricter = v["stricter_b"]["kpis"]
    assert stricter["region.route.green_border.threat_share"]["mean"] == pytest.approx(1.0)
    assert stricter["region.detection_rate"]["mean"] == pytest.approx(GREEN_P)
    # the crossings' own KPIs are there too
    assert v["stricter_b"]["crossings"]["b"]["referral_rate"]["mean"] == \
        pytest.approx(0.5, abs=0.1)


def test_compare_table_shows_units_and_paired_differences(tmp_path, capsys):
    path = small_region(tmp_path)
    variants = write_variants(tmp_path, {"none": {"information.informed_share": 0},
                                         "posted": {"information.informed_share": 1}})
    assert main(["compare", str(path), "--variants", variants, "--replications", "2"]) == 0
    text = capsys.readouterr().out
    assert "2 variants" in text and "same travellers" in text
    assert "detection_rate %" in text and "wait_mean min" in text
    assert "Paired differences from 'none'" in text and "±" in text


@pytest.mark.parametrize(("variants", "names"), [
    ({"x": 3}, ("variants.yaml", "variants.x:", "must be a mapping")),
    ({"x": {"adversary.behaviour": "clever"}},
     ("variants.yaml", "variants.x:", "adversary.behaviour")),
    ({"x": {"crossings.zz.targeting.auc": 0.9}}, ("variants.yaml", "variants.x:", "zz")),
    ({}, ("variants.yaml", "variants:")),
])
def test_a_bad_variants_file_gets_one_line(tmp_path, capsys, variants, names):
    path = small_region(tmp_path)
    assert main(["compare", str(path), "--variants", write_variants(tmp_path, variants)]) == 2
    one_line_error(capsys, *names)


def test_compare_a_region_with_strategies_at_every_crossing(tmp_path, capsys):
    path = small_region(tmp_path)
    strategies = tmp_path / "s.yaml"
    strategies.write_text("strategies: {loose: {strategy: random, referral_rate: [0.05, 0.5]}}\n")
    out = tmp_path / "out"
    assert main(["compare", str(path), "--strategies", str(strategies), "--json",
                 "--out", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["variants"]) == ["loose referral_rate=0.05", "loose referral_rate=0.5"]
    changes = data["variants"]["loose referral_rate=0.5"]["changes"]
    assert changes == {f"crossings.{c}.targeting": {"strategy": "random", "referral_rate": 0.5}
                       for c in ("a", "b")}
    # both crossings refer 5 %: detection 0.1405 wherever knowing threats go; at 50 % both
    # are less watched than the green border (0.2), so all threats take it
    kpis = {v: d["kpis"] for v, d in data["variants"].items()}
    assert kpis["loose referral_rate=0.05"]["region.detection_rate"]["mean"] == \
        pytest.approx(0.1405)
    assert kpis["loose referral_rate=0.5"]["region.detection_rate"]["mean"] == \
        pytest.approx(GREEN_P)
    assert (out / "comparison.json").exists() and (out / "region.png").stat().st_size > 10_000
    assert data["written"] == [str(out / "comparison.json"), str(out / "region.png")]


def test_compare_a_region_needs_one_variants_file(tmp_path, capsys):
    path = small_region(tmp_path)
    (tmp_path / "s.yaml").write_text("strategies: {r: {strategy: random}}\n")
    variants = write_variants(tmp_path, {"x": {}})
    assert main(["compare", str(path), "--strategies", str(tmp_path / "s.yaml"),
                 "--variants", variants]) == 2
    one_line_error(capsys, "region.yaml", "--variants", "give one of them")
    assert main(["compare", str(path)]) == 2
    one_line_error(capsys, "region.yaml", "--variants")
    assert main(["compare", str(path), "--variants", variants, "--plot",
                 str(tmp_path / "fig.txt")]) == 2
    one_line_error(capsys, "fig.txt", "--plot")
    # and a single crossing is not compared with --variants
    assert main(["compare", str(tmp_path / "a.yaml"), "--variants", variants]) == 2
    one_line_error(capsys, "a.yaml", "--variants", "--strategies")


# ------------------------------------------------------------------------- report


def test_region_report_matches_run_and_escapes_user_text(tmp_path, capsys):
    path = small_region(tmp_path, name="<script>alert(1)</script> & co",
                        description="north <b>bold</b>",
                        information={"informed_share": 0.5})
    out = tmp_path / "r.html"
    assert main(["report", str(path), "-o", str(out), "--replications", "2"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    page = out.read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "<b>bold</b>" not in page
    from borderesim.output.report.region import REGION_IDS

    for sid in REGION_IDS:
        assert f'<section id="{sid}">' in page
    assert page.count("data:image/png;base64,") == 1
    # regional numbers are those of `run --json` with the same options
    assert main(["run", str(path), "--replications", "2", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    for kpi in ("region.detection_rate", "region.wait_mean",
                "region.information_time_saving", "region.route.b.threat_share"):
        mean = run["kpis"][kpi]["mean"]
        assert f'data-kpi="{kpi}" data-mean="{json.dumps(mean)}"' in page, kpi
    # each crossing's headline KPIs are there, and the naive threats for comparison
    referred = json.dumps(run["crossings"]["a"]["referral_rate"]["mean"])
    assert f'data-kpi="referral_rate" data-mean="{referred}"' in page
    assert "Were the threats naive" in page and "green border" in page


def test_region_report_as_pdf_and_bad_input(tmp_path, capsys):
    path = small_region(tmp_path, adversary={"behaviour": "naive"})
    pdf = tmp_path / "r.pdf"
    assert main(["report", str(path), "-o", str(pdf), "--replications", "1"]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    capsys.readouterr()
    assert main(["report", str(path), "-o", str(tmp_path / "x.html"),
                 "--set", "origins.town.travel.west=3"]) == 2
    one_line_error(capsys, "region.yaml", "origins.town.travel.west")
    assert not (tmp_path / "x.html").exists()


# -------------------------------------------------------------------------- sweep


def write_sweep(tmp_path, grid, **fields) -> str:
    data = {"scenario": "region.yaml", "replications": 2, "grid": grid}
    data.update(fields)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_sweep_over_a_region_gives_regional_rows(tmp_path, capsys):
    import pandas as pd

    from borderesim.run.region import simulate_region

    region_path = small_region(tmp_path, information={"informed_share": 0.5})
    sweep = write_sweep(tmp_path, {"crossings.b.targeting.referral_rate": [0.05, 0.5],
                                   "adversary.knowledge": [1.0]},
                        set={"duration": "3h"})
    out = tmp_path / "out"
    assert main(["sweep", sweep, "--out", str(out), "--no-progress"]) == 0
    assert "2 points x 2 replications = 4 rows" in capsys.readouterr().out
    df = pd.read_parquet(out / "results.parquet").sort_values(["point", "replication"])
    assert len(df) == 4 and set(df["engine"]) == {"fast"}
    # every row is the replication `run` makes for that point, on the same travellers
    for point, rate in enumerate((0.05, 0.5)):
        res = simulate_region(load_region(region_path, [
            "duration=3h", f"crossings.b.targeting.referral_rate={rate}"]), replications=2)
        rows = df[df["point"] == point]
        for r in range(2):
            for kpi in ("region.detection_rate", "region.wait_mean",
                        "region.information_time_saving"):
                assert rows[kpi].iloc[r] == pytest.approx(res.per_replication[r][kpi],
                                                          abs=1e-12), (point, r, kpi)
    # b as strict as a: knowing threats leave the crossings for the green border
    strict = df[df["point"] == 1]
    assert (strict["region.route.green_border.threat_share"] == 1.0).all()
    # a rerun computes nothing new
    assert main(["sweep", sweep, "--out", str(out), "--no-progress"]) == 0
    assert "computed 0 now (4 were done)" in capsys.readouterr().out


@pytest.mark.parametrize(("grid", "names"), [
    ({"information.informed_share": [0, 1.5]},
     ("sweep.yaml", "grid.information.informed_share", "point 1", "not a valid region")),
    ({"crossings.b.targeting.bogus": [1]},
     ("sweep.yaml", "grid.crossings.b.targeting.bogus", "b.yaml", "unknown field")),
    ({"crossings.zz.targeting.referral_rate": [0.1]},
     ("sweep.yaml", "grid.crossings.zz.targeting.referral_rate", "unknown crossing")),
])
def test_a_bad_region_sweep_point_gets_one_line(tmp_path, capsys, grid, names):
    small_region(tmp_path)
    assert main(["sweep", write_sweep(tmp_path, grid), "--out", str(tmp_path / "o"),
                 "--no-progress"]) == 2
    one_line_error(capsys, *names)
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------- workshop


def test_an_uploaded_region_is_refused_before_any_file_is_opened(tmp_path, monkeypatch):
    from borderesim.errors import ScenarioError
    from borderesim.model import scenario as scenario_module
    from borderesim.model import yamlio
    from borderesim.workshop import logic

    path = small_region(tmp_path)

    def no_files(*args, **kwargs):
        raise AssertionError("an upload made the server open a file")

    monkeypatch.setattr(scenario_module, "load_scenario", no_files)
    monkeypatch.setattr(scenario_module, "read_yaml_mapping", no_files)
    monkeypatch.setattr(yamlio, "read_mapping", no_files)
    with pytest.raises(ScenarioError) as err:
        logic.load_uploaded("../region.yaml", path.read_bytes())
    text = str(err.value)
    assert text.startswith("region.yaml: crossings: a region file cannot be uploaded as a scenario")
    assert "A region of crossings" in text
    assert "borderesim workshop REGION.yaml" in text and str(tmp_path) not in text


def test_workshop_starts_on_a_region_file(tmp_path, capsys, monkeypatch):
    from borderesim.workshop import server

    served = []
    monkeypatch.setattr(server, "streamlit_available", lambda: True)
    monkeypatch.setattr(server, "serve", lambda *a: served.append(a))
    path = small_region(tmp_path)
    assert main(["workshop", str(path), "--port", "8999"]) == 0
    assert served and served[0][0] == str(path)
    # a bad region file fails before serving, in one line
    bad = tmp_path / "bad.yaml"
    bad.write_text(path.read_text().replace("a.yaml", "missing.yaml"))
    served.clear()
    assert main(["workshop", str(bad)]) == 2
    one_line_error(capsys, "bad.yaml", "crossings.a.scenario")
    assert not served


def test_the_region_page_shows_regional_numbers(tmp_path, monkeypatch):
    import sys

    from streamlit.testing.v1 import AppTest

    from borderesim.run.region import simulate_region
    from borderesim.workshop import region as page

    path = small_region(tmp_path, name="Two *ports* <b>", replications=2)
    result = simulate_region(load_region(path), replications=2, keep_runs=True)
    rows = page.headline(result)
    assert [r["kpi"] for r in rows] == list(page.HEADLINE)
    det = next(r for r in rows if r["kpi"] == "region.detection_rate")
    assert det["value"] == "14.05%" and "(2 runs)" in det["interval"]
    assert [r["crossing"] for r in page.crossing_table(result)] == ["a", "b"]
    assert page.map_png(result).startswith(b"\x89PNG")

    app = Path(page.__file__).with_name("app.py")
    monkeypatch.setattr(sys, "argv", [str(app), "--scenario", str(path), "--engine", "fast"])
    at = AppTest.from_file(str(app), default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.title[0].value == r"Two \*ports\* \<b\>"  # shown literally, never as Markdown
    labels = [m.label for m in at.metric]
    assert "Threats detected in the region" in labels
    shown = {m.label: m.value for m in at.metric}
    assert shown["Threats detected in the region"] == det["value"]


def test_the_example_variants_and_sweep_files_load():
    from borderesim.run.region.variants import load_variant_regions, load_variants
    from borderesim.run.sweep import load_sweep
    from tests.conftest import ROOT

    folder = ROOT / "scenarios" / "region"
    variants = load_variants(folder / "variants.yaml")
    regions = load_variant_regions(folder / "north.yaml", (), variants, "variants.yaml")
    assert regions["stricter_north"].scenarios["north"].targeting.referral_rate["general"] \
        == 0.08
    assert regions["no_posted_waits"].spec.information.informed_share == 0
    spec = load_sweep(folder / "sweep.yaml")
    assert spec.region_file is not None and len(spec.points) == 6
