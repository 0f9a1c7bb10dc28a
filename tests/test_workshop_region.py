"""The workshop's region page without a browser: knobs → region-file overrides → numbers,
words, the saved region file, and uploads that can never open a server file."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from borderesim.cli import main
from borderesim.errors import ScenarioError
from borderesim.model import yamlio
from borderesim.output.serialize import to_jsonable
from borderesim.run.region import load_region
from borderesim.run.region.variants import variant_overrides
from borderesim.workshop import logic
from borderesim.workshop import region as page
from tests.test_region_surfaces import small_region

ENGINE = "fast"


@pytest.fixture
def source(tmp_path) -> page.RegionSource:
    """The small two-crossing region (random targeting at a: 50 %, b: 5 %), with posted
    waits and 2 runs of 4 h."""
    path = small_region(tmp_path, information={"informed_share": 0.5, "refresh": "15min"},
                        shared_watchlist=False)
    return page.source_from_file(path)


def moved(knobs: page.RegionKnobs) -> page.RegionKnobs:
    """Every knob off the small region's own value."""
    return replace(knobs, informed_share=0.8, refresh=30.0, green_detection=0.35,
                   behaviour="probing", knowledge=0.5, shared_watchlist=True, demand=1.25,
                   officers=(("a", 3), ("b", 4)), targeting=(("a", 0.5), ("b", 0.2)))


# ------------------------------------------------------------- knobs → overrides


def test_the_files_own_setting_changes_nothing(source):
    region = page.load(source)
    knobs = page.file_knobs(region)
    assert knobs == page.RegionKnobs(0.5, 15.0, 0.2, "displacement", 1.0, False, 1.0,
                                     (("a", 4), ("b", 4)), (("a", 0.5), ("b", 0.05)))
    assert page.region_changes(region, knobs) == {}
    # a percentage slider gives back round(100 x, 3) / 100: still the file's value
    slid = replace(knobs, targeting=(("a", round(0.5 * 100, 3) / 100),
                                     ("b", round(0.05 * 100, 3) / 100)))
    assert page.region_changes(region, slid) == {}


def test_each_knob_is_a_region_field_override(source):
    region = page.load(source)
    changes = page.region_changes(region, moved(page.file_knobs(region)))
    assert changes == {
        "information.informed_share": 0.8,
        "information.refresh": 30.0,
        "green_border.detection_probability": 0.35,
        "adversary.behaviour": "probing",
        "adversary.knowledge": 0.5,
        "shared_watchlist": True,
        "origins.town.per_hour": 50.0,  # 40 per hour x 1.25
        "crossings.a.stages.primary.servers": 3,
        "crossings.b.targeting": {"strategy": "random", "referral_rate": 0.2},
    }


def test_the_overrides_load_as_the_set_path_loads_them(source):
    """The page's changes give the same region as ``--set`` (region.variants' path)."""
    region = page.load(source)
    changes = page.region_changes(region, moved(page.file_knobs(region)))
    mine = page.load(source, changes)
    theirs = load_region(source.name, variant_overrides(changes))
    assert mine.spec == theirs.spec and mine.scenarios == theirs.scenarios
    assert mine.scenarios["a"].stages["primary"].servers == 3
    assert mine.scenarios["b"].targeting.referral_rate == 0.2
    assert mine.spec.adversary.behaviour == "probing"


def test_officers_and_main_knob_reuse_the_single_crossing_page(tmp_path):
    """The example region: officers scale every lane of the posted stage as the
    single-crossing page scales them; the main knob rebuilds the strategy as it does."""
    source = page.source_from_file(page.PACKAGED / "north.yaml")
    region = page.load(source)
    north = region.scenarios["north"]
    controls = {c.crossing: c for c in page.crossing_controls(region)}
    assert controls["north"].stage == "primary" and controls["north"].officers == 11
    assert controls["north"].knob.name == "referral_rate"
    knobs = replace(page.file_knobs(region), officers=(("north", 8), ("east", 6)),
                    targeting=(("north", 0.062), ("east", controls["east"].value)))
    changes = page.region_changes(region, knobs)
    single = logic.apply_knobs(north, logic.Knobs(officers=(("primary", 8),),
                                                  strategy="by_class",
                                                  params=(("referral_rate", 0.062),)))
    lanes = single.stages["primary"].lanes
    assert changes == {
        "crossings.north.stages.primary.lanes.ready.servers": lanes["ready"].servers,
        "crossings.north.stages.primary.lanes.general.servers": lanes["general"].servers,
        "crossings.north.targeting": single.targeting.model_dump(mode="json",
                                                                 exclude_none=True)}
    loaded = page.load(source, changes).scenarios["north"]
    assert logic.peak_officers(loaded, "primary") == 8
    assert loaded.targeting.referral_rate["general"] == pytest.approx(0.08)  # 2 x 0.04
    # an hourly green border keeps its shape, its highest hour at the slider's value
    greener = page.region_changes(region, replace(page.file_knobs(region),
                                                  green_detection=0.24))
    profile = greener["green_border.detection_probability"]
    assert max(profile) == pytest.approx(0.24) and min(profile) == pytest.approx(0.1)


@pytest.mark.parametrize(("change", "names"), [
    ({"officers": (("a", 0),)}, ("region.yaml", "crossings.a.stages.primary.servers",
                                  "at least 1 officer")),
    ({"officers": (("west", 2),)}, ("region.yaml", "crossings.west", "unknown crossing")),
    ({"demand": -1.0}, ("region.yaml", "origins", "demand must be 0 or more")),
])
def test_a_setting_the_region_refuses_gets_one_line(source, change, names):
    region = page.load(source)
    with pytest.raises(ScenarioError) as err:
        page.region_changes(region, replace(page.file_knobs(region), **change))
    assert all(n in str(err.value) for n in names), str(err.value)


# ------------------------------------------------------------- running and words


def test_the_saved_region_file_reproduces_the_pages_numbers(source, tmp_path, capsys):
    region = page.load(source)
    knobs = moved(page.file_knobs(region))
    outcome = page.run(source, knobs, 2, ENGINE)
    text = page.region_yaml(source, outcome)
    assert text.startswith(f"# Saved from the borderesim workshop (setting {outcome.setting})\n")
    assert "#   --set information.informed_share=0.8\n" in text
    saved = tmp_path / "saved.yaml"  # next to the region's crossing files
    saved.write_text(text)
    assert main(["run", str(saved), "--json", "--engine", ENGINE]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["replications"] == 2
    assert data["kpis"] == to_jsonable(outcome.kpis)
    assert data["crossings"] == to_jsonable(outcome.crossings)
    assert outcome.mean("region.information_time_saving") == pytest.approx(
        data["kpis"]["region.information_time_saving"]["mean"])
    # and the file's own setting saves the file as it is, with the page's runs
    plain_setting = page.run(source, page.file_knobs(region), 2, ENGINE)
    assert plain_setting.changes == {}
    assert "#   (none: the file's own setting)" in page.region_yaml(source, plain_setting)


def test_value_of_information_is_paired_against_nobody_informed(source):
    region = page.load(source)
    knobs = page.file_knobs(region)
    informed = page.run(source, knobs, 3, ENGINE)
    nobody = page.run(source, replace(knobs, informed_share=0.0), 3, ENGINE)
    ci = informed.kpis["region.information_time_saving"]
    assert ci["ci_low"] <= ci["mean"] <= ci["ci_high"]
    saved = [a["region.journey_mean"] - b["region.journey_mean"]
             for a, b in zip(nobody.per_replication, informed.per_replication, strict=True)]
    assert [r["region.information_time_saving"] for r in informed.per_replication] == \
        pytest.approx(saved)
    assert nobody.mean("region.information_time_saving") == 0.0
    rows = {r["kpi"]: r for r in page.headline(informed, nobody)}
    assert list(rows) == list(page.HEADLINE)
    assert rows["region.information_time_saving"]["interval"].endswith("(3 runs)")
    assert rows["region.information_time_saving"]["delta"].startswith(("+", "-"))


def test_words_say_what_changed_and_whether_it_is_noise(source):
    region = page.load(source)
    knobs = page.file_knobs(region)
    before = page.run(source, knobs, 3, ENGINE)
    after = page.run(source, replace(knobs, officers=(("a", 1), ("b", 4))), 3, ENGINE)
    words = page.change_words(before, after)
    assert words.startswith("Changed from the previous setting: a: officers at primary "
                            "(busiest hour) 4 → 1. Effect: mean wait, all crossings ")
    wait = re.search(r"mean wait, all crossings ([\d.]+) min → ([\d.]+) min \(\+[\d.]+, "
                     r"paired 95% interval \+([\d.]+) to \+[\d.]+\)", words)
    assert wait and float(wait.group(2)) > float(wait.group(1)) and float(wait.group(3)) > 0
    assert page.change_words(after, after) == "Same setting as before."
    more_runs = page.run(source, knobs, 2, ENGINE)
    assert "runs 3 → 2" in page.change_words(before, more_runs)
    assert "paired" not in page.change_words(before, more_runs)  # different runs: unpaired


def test_setting_id_and_marker(source):
    region = page.load(source)
    knobs = page.file_knobs(region)
    first = page.setting_id(source, knobs, 3, ENGINE)
    assert re.fullmatch(r"[0-9a-f]{10}", first)
    assert page.setting_id(source, knobs, 3, ENGINE) == first
    others = {page.setting_id(source, replace(knobs, informed_share=0.6), 3, ENGINE),
              page.setting_id(source, knobs, 4, ENGINE),
              page.setting_id(source, knobs, 3, "simpy"),
              page.setting_id(replace(source, text=source.text + "\n# x"), knobs, 3, ENGINE)}
    assert first not in others and len(others) == 4
    items = page.setting_items(region, knobs)
    marker = page.setting_marker(items, first)
    assert marker.startswith(logic.MARKER + " informed of posted waits 50%; posted waits "
                             "refreshed every 15 min; green border detection 20%; ")
    assert marker.endswith(f"; b: Referral rate (share of travellers sent to secondary) 5% "
                           f"(setting {first})")


def test_tables_and_map(source):
    outcome = page.run(source, page.file_knobs(page.load(source)), 2, ENGINE)
    table = page.crossing_table(outcome)
    assert [r["crossing"] for r in table] == ["a", "b"]
    assert re.fullmatch(r"[\d.,]+ \([\d.,]+–[\d.,]+\)", table[0]["wait_mean (min)"])
    routes = page.route_table(outcome, outcome)
    assert [r["route"] for r in routes] == ["a", "b", "green border"]
    assert outcome.map_png.startswith(b"\x89PNG")
    assert f"setting {outcome.setting}".encode() in outcome.map_png
    assert outcome.shocks == []  # no crossing has events


def test_shock_kpis_of_a_crossing_with_events(tmp_path):
    outage = {"kind": "outage", "stage": "primary", "from": "01:00", "to": "02:00"}
    path = small_region(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["crossings"]["a"]["set"] = {"events": [outage]}
    path.write_text(yaml.safe_dump(data))
    source = page.source_from_file(path)
    outcome = page.run(source, page.file_knobs(page.load(source)), 2, ENGINE)
    assert {r["crossing"] for r in outcome.shocks} == {"a"}
    peak = next(r for r in outcome.shocks if r["KPI"] == "primary.queue_peak")
    assert float(peak["mean"]) > 0 and peak["unit"] == "travellers"


# ------------------------------------------------------------------- uploads

MARK = "zq93"
"""A marker inside server files; no upload may ever bring it onto the page."""


def secret_files(folder: Path) -> list[Path]:
    """A valid crossing scenario and a region file on the server, both holding MARK."""
    crossing = yaml.safe_load((page.PACKAGED / "east_crossing.yaml").read_text())
    crossing.pop("extends")
    crossing = {**yaml.safe_load((page.SCENARIOS / "land_crossing.yaml").read_text()),
                **crossing, "name": f"Secret-{MARK} crossing",
                "description": f"internal-{MARK} staffing"}
    scenario = folder / f"secret_{MARK}.yaml"
    scenario.write_text(yaml.safe_dump(crossing))
    keyed = folder / f"keyed_{MARK}.yaml"
    keyed.write_text(yaml.safe_dump({f"db_password_{MARK}": f"hunter2-{MARK}"}))
    return [scenario, keyed]


def secrets_in(text: str) -> list[str]:
    """What of the server files' contents shows in ``text`` (their names may: the upload
    itself names them)."""
    return [s for s in (f"Secret-{MARK}", f"internal-{MARK}", f"db_password_{MARK}",
                        f"hunter2-{MARK}") if s in text]


def upload_region(crossing: str, **fields) -> bytes:
    data = {"name": "Uploaded region", "duration": "3h", "warmup": "30min",
            "replications": 2, "seed": 3,
            "crossings": {"north": {"scenario": crossing},
                          "east": {"scenario": "east_crossing.yaml"}},
            "origins": {"town": {"per_hour": 120, "travel": {"north": 10, "east": 20}}},
            "information": {"informed_share": 0.5}}
    data.update(fields)
    return yaml.safe_dump(data, sort_keys=False).encode()


@pytest.fixture
def opened(monkeypatch):
    """Every file the server reads while the test runs."""
    seen: list[Path] = []
    real = yamlio.read_text

    def spy(path, kind="YAML file"):
        seen.append(Path(path).resolve())
        return real(path, kind)

    monkeypatch.setattr(yamlio, "read_text", spy)
    return seen


def test_an_upload_can_only_name_packaged_crossings(tmp_path, opened):
    files = secret_files(tmp_path)
    here = Path.cwd()
    depth = "../" * (len(page.PACKAGED.parts) + 2)
    attempts = {str(files[0]), depth + str(files[0]).lstrip("/"), str(files[1]),
                f"north_crossing.yaml/../../../{files[0].name}", "../region/north.yaml",
                "./north_crossing.yaml", "North_crossing.yaml", "north.yaml", "sweep.yaml",
                str(Path(page.PACKAGED / "north_crossing.yaml"))}
    for target in attempts:
        with pytest.raises(ScenarioError) as err:
            page.source_from_upload("../up.yaml", upload_region(target))
        text = str(err.value)
        assert text.startswith("up.yaml: crossings.north.scenario: "), text
        assert "may name only borderesim's packaged crossing files" in text
        assert not secrets_in(text)
    # 'extends', a crossing's own 'extends' through its set, and a non-region file
    bad = {"extends": (upload_region("north_crossing.yaml").decode()
                       + f"extends: {files[0]}\n").encode(),
           "set": upload_region("north_crossing.yaml", crossings={
               "north": {"scenario": "north_crossing.yaml",
                         "set": {"extends": str(files[0])}},
               "east": {"scenario": "east_crossing.yaml"}}),
           "scenario": yaml.safe_dump({"extends": str(files[0])}).encode()}
    expected = {"extends": "up.yaml: extends: an uploaded file cannot use 'extends'",
                "set": "up.yaml: crossings.north: north_crossing.yaml: extends: unknown field",
                "scenario": "up.yaml: crossings: not a region file"}
    for what, data in bad.items():
        with pytest.raises(ScenarioError) as err:
            page.load(page.source_from_upload("up.yaml", data))
        assert str(err.value).startswith(expected[what]), str(err.value)
        assert not secrets_in(str(err.value))
    assert all(p.is_relative_to(page.SCENARIOS.resolve()) for p in opened), opened
    assert Path.cwd() == here


def test_an_uploaded_region_runs_on_the_packaged_crossings(opened):
    source = page.source_from_upload("mine.yaml", upload_region("../land_crossing.yaml"))
    assert source.uploaded and source.name == "mine.yaml"
    region = page.load(source)
    assert region.crossing_names == ["north", "east"]
    outcome = page.run(source, replace(page.file_knobs(region), informed_share=1.0), 2,
                       ENGINE)
    assert outcome.changes == {"information.informed_share": 1.0}
    assert "# Crossing files are read next to this file: keep it in borderesim's " \
           "scenarios/region folder" in page.region_yaml(source, outcome)
    # an error inside a packaged crossing names the upload and the crossing, not a path
    with pytest.raises(ScenarioError) as err:
        page.load(source, {"crossings.east.stages.primary.detection_probability": 2})
    text = str(err.value)
    assert text.startswith("mine.yaml: crossings.east: east_crossing.yaml: "
                           "stages.primary.detection_probability"), text
    assert str(page.SCENARIOS) not in text
    assert all(p.is_relative_to(page.SCENARIOS.resolve()) for p in opened), opened


def test_example_regions_are_offered():
    examples = page.example_regions()
    assert examples["Northern border region"] == page.PACKAGED / "north.yaml"
    assert {"north_crossing.yaml", "east_crossing.yaml", "../land_crossing.yaml"} <= \
        set(page.packaged_crossings())
    assert "north.yaml" not in page.packaged_crossings()


# --------------------------------------------------------------------- the page


def test_the_page_moves_a_knob_and_says_what_changed(tmp_path, monkeypatch):
    """Streamlit's headless test runner: the region page starts at the file's setting;
    moving the informed-share slider shows the new setting's marker and its words."""
    from streamlit.testing.v1 import AppTest

    path = small_region(tmp_path, information={"informed_share": 0.5}, replications=2)
    app = Path(page.__file__).with_name("app.py")
    monkeypatch.setattr(sys, "argv", [str(app), "--scenario", str(path), "--engine", ENGINE])
    at = AppTest.from_file(str(app), default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.radio(key="page").value == "A region of crossings"

    def marker() -> str:
        found = [c.value for c in at.caption if c.value.startswith(logic.plain(logic.MARKER))]
        assert len(found) == 1
        return found[0]

    first = marker()
    assert logic.plain("informed of posted waits 50%;") in first
    before = {m.label: m.value for m in at.metric}
    at.slider(key=next(s.key for s in at.slider if s.label.startswith("Travellers informed"))
              ).set_value(100.0).run()
    assert not at.exception, at.exception
    second = marker()
    assert second != first and logic.plain("informed of posted waits 100%;") in second
    after = {m.label: m.value for m in at.metric}
    assert after["Mean travel + wait to cross"] != before["Mean travel + wait to cross"]
    assert any(logic.plain("informed of posted waits 50% → 100%") in i.value for i in at.info)
