"""The workshop page's logic, without a server: knobs → scenario → numbers, curves, files."""

from __future__ import annotations

import copy
import io
import math
import re
from dataclasses import replace

import numpy as np
import pytest
import yaml

from borderesim.errors import ScenarioError
from borderesim.model.hourly import as_24
from borderesim.model.scenario import load_scenario
from borderesim.model.targeting import Strategy
from borderesim.workshop import logic
from borderesim.workshop.charts import queue_figure, snapshot_png, tradeoff_figure

from .conftest import SCENARIOS

ENGINE = "simpy"
"""The reference engine: these tests check the page's logic, not engine speed."""

SMALL = {
    "name": "Small crossing",
    "duration": "6h",
    "warmup": "1h",
    "replications": 3,
    "seed": 11,
    "arrivals": {"per_hour": [60] * 6 + [150] * 4 + [90] * 14},
    "classes": {
        "resident": {"share": 0.7, "threat_prevalence": 0.002},
        "visitor": {"share": 0.3, "threat_prevalence": 0.01},
    },
    "stages": {
        "primary": {
            "lanes": {
                "fast": {"classes": ["resident"], "servers": 1,
                         "service": {"distribution": "lognormal", "mean": "40s", "cv": 0.5}},
                "desk": {"servers": [1] * 6 + [2] * 4 + [1] * 14,
                         "service": {"distribution": "lognormal", "mean": "60s", "cv": 0.5}},
            },
            "detection_probability": 0.05,
        },
        "secondary": {
            "visits": "referred",
            "servers": 2,
            "service": {"distribution": "exponential", "mean": "12min"},
            "detection_probability": 0.9,
        },
    },
    "targeting": {"strategy": "by_class", "referral_rate": {"resident": 0.02, "visitor": 0.08}},
}


@pytest.fixture
def small():
    return load_scenario(copy.deepcopy(SMALL))


def test_examples_are_found():
    found = logic.example_scenarios()
    assert {p.name for p in found.values()} >= {"land_crossing.yaml", "airport_arrivals.yaml",
                                                "cargo_terminal.yaml"}


def test_demand_scales_every_hour(small):
    s = logic.apply_knobs(small, logic.Knobs(demand=1.5, strategy="by_class"))
    assert s.arrivals.hourly() == pytest.approx([1.5 * r for r in small.arrivals.hourly()])


def test_officers_scale_rosters_and_keep_lanes_open(small):
    assert logic.peak_officers(small, "primary") == 3
    assert logic.peak_officers(small, "secondary") == 2
    knobs = logic.Knobs(officers=(("primary", 6), ("secondary", 5)), strategy="by_class")
    s = logic.apply_knobs(small, knobs)
    assert s.stages["secondary"].servers == 5
    desk = as_24(s.stages["primary"].lanes["desk"].servers)
    assert max(desk) == 4 and min(desk) == 2
    assert logic.peak_officers(s, "primary") == 6
    fewer = logic.apply_knobs(small, logic.Knobs(officers=(("primary", 1),), strategy="by_class"))
    for lane in fewer.stages["primary"].lanes.values():  # scaled down, but never closed
        assert min(as_24(lane.servers)) == 1


def test_scale_roster_rounds_and_keeps_closed_hours_closed():
    assert logic.scale_roster([0, 1, 2, 4], 1.5) == [0, 2, 3, 6]
    assert logic.scale_roster(3, 0.1) == 1


@pytest.mark.parametrize("knobs, where", [
    (logic.Knobs(officers=(("primary", 0),)), "stages.primary.servers"),
    (logic.Knobs(officers=(("tertiary", 2),)), "stages"),
    (logic.Knobs(demand=-1.0), "arrivals"),
    (logic.Knobs(strategy="no_such"), "targeting"),
    (logic.Knobs(strategy="random", params=(("referral_rate", 1.5),)), "targeting"),
])
def test_bad_settings_raise_scenario_errors(small, knobs, where):
    with pytest.raises(ScenarioError) as err:
        logic.apply_knobs(small, knobs)
    assert err.value.path.startswith(where)


def test_profile_keeps_proportions_and_hits_the_average(small):
    rates = logic.profile_rates(0.05, small)
    assert rates["visitor"] / rates["resident"] == pytest.approx(4.0)
    assert 0.7 * rates["resident"] + 0.3 * rates["visitor"] == pytest.approx(0.05, abs=1e-6)
    plain = load_scenario({**copy.deepcopy(SMALL), "targeting": None})
    rates = logic.profile_rates(0.05, plain)  # no profile: in proportion to prevalence
    assert rates["visitor"] / rates["resident"] == pytest.approx(5.0)


def test_strategy_forms_follow_the_registry(small, monkeypatch):
    keys = [f.key for f in logic.strategy_forms(small)]
    assert keys[:3] == ["none", "random", "by_class"]
    for name in ("risk_score", "watchlist", "layers", "sqrt_biased"):
        if name in Strategy.registry:
            assert any(name in f.needs for f in logic.strategy_forms(small))
    trimmed = {k: v for k, v in Strategy.registry.items()
               if k not in ("risk_score", "watchlist", "layers", "sqrt_biased")}
    monkeypatch.setattr(Strategy, "registry", trimmed)
    keys = [f.key for f in logic.strategy_forms(small)]
    assert keys == ["none", "random", "by_class"]
    assert logic.default_form(small).key == "by_class"
    assert logic.knob_values(logic.find_form("by_class"), small)["referral_rate"] == \
        pytest.approx(0.7 * 0.02 + 0.3 * 0.08)


def test_a_strategy_without_sliders_is_kept_as_written():
    if "explore" not in Strategy.registry:
        pytest.skip("the explore strategy is not registered")
    data = copy.deepcopy(SMALL)
    data["targeting"] = {"strategy": "explore", "share": 0.03}
    scenario = load_scenario(data)
    forms = logic.strategy_forms(scenario)
    assert forms[0] is logic.SCENARIO_FORM and logic.default_form(scenario) is forms[0]
    same = logic.apply_knobs(scenario, logic.Knobs(strategy="scenario"))
    assert same.targeting == scenario.targeting


@pytest.mark.skipif("risk_score" not in Strategy.registry, reason="risk_score not registered")
def test_risk_and_watchlist_forms_build_valid_blocks(small):
    risk = logic.apply_knobs(small, logic.Knobs(strategy="risk_score",
                                                params=(("auc", 0.9), ("referral_rate", 0.04))))
    assert risk.targeting.strategy == "risk_score" and risk.targeting.auc == 0.9
    if "sqrt_biased" in Strategy.registry:
        sqrt = logic.apply_knobs(small, logic.Knobs(strategy="sqrt_biased"))
        assert sqrt.targeting.referral_rate == 0.05
    if "layers" in Strategy.registry and "watchlist" in Strategy.registry:
        both = logic.apply_knobs(small, logic.Knobs(strategy="watchlist+risk"))
        assert [layer.strategy for layer in both.targeting.layers] == ["watchlist", "risk_score"]


def test_run_gives_headline_numbers_with_intervals(small):
    outcome = logic.run(small, replications=3, engine=ENGINE)
    rows = logic.headline(outcome)
    assert [r["key"] for r in rows] == [k for k, _, _ in logic.HEADLINE]
    assert rows[0]["label"].endswith("(worst stage)")  # the stage that breaks is named
    for row in rows:
        assert math.isfinite(row["mean"]) and row["low"] <= row["mean"] <= row["high"]
        assert "95% interval" in logic.fmt_interval(row, 3)
    labels = " ".join(r["label"].lower() for r in rows)
    assert "wait" in labels and "throughput" in labels and "detection" in labels
    assert outcome.trace is not None and outcome.inputs.dynamic is None


def test_innocent_referrals_per_day_counts_innocent_referred_travellers(small):
    outcome = logic.run(small, replications=1, engine=ENGINE, keep_trace=True)
    inputs, trace = outcome.inputs, outcome.trace
    counted = (inputs.arrival >= small.warmup) & (inputs.arrival < small.horizon)
    innocent_referred = (trace.referred & counted & ~inputs.threat).sum()
    days = small.duration / 1440
    assert outcome.mean("innocent_referred_per_day") == pytest.approx(innocent_referred / days)


def test_queue_over_the_day_matches_the_time_averaged_queue(small):
    outcome = logic.run(small, replications=1, engine=ENGINE, step=10.0)
    counted = outcome.queue_hours * 60 > small.warmup
    for stage, q in outcome.queue.items():
        assert q.min() >= 0
        assert q[counted].mean() == pytest.approx(outcome.mean(f"{stage}.queue_mean"), rel=1e-9)


def test_waiting_over_time_counts_the_queue_at_each_instant(small):
    outcome = logic.run(small, replications=1, engine=ENGINE)
    plan, trace = outcome.plan, outcome.trace
    edges = np.array([0.0, 100.0, 200.0, 300.0, 420.0])
    fine = np.linspace(0, 420, 42001)
    for s, stage in enumerate(plan.stage_names):
        inside = trace.lane[s] >= 0
        start = np.where(np.isnan(trace.start[s]), np.inf, trace.start[s])[inside]
        count = ((trace.entry[s][inside][:, None] <= fine) & (start[:, None] > fine)).sum(0)
        coarse = logic.waiting_over_time(plan, trace, edges)[stage]
        bins = zip(edges[:-1], edges[1:], strict=True)
        brute = [count[(fine >= a) & (fine < b)].mean() for a, b in bins]
        assert coarse == pytest.approx(brute, abs=0.05)


def test_knobs_move_the_numbers_the_right_way(small):
    base = logic.Knobs(strategy="random", params=(("referral_rate", 0.05),))
    busy = logic.run(logic.apply_knobs(small, logic.Knobs(
        officers=(("secondary", 1),), strategy="random", params=base.params)), 3, ENGINE)
    staffed = logic.run(logic.apply_knobs(small, logic.Knobs(
        officers=(("secondary", 4),), strategy="random", params=base.params)), 3, ENGINE)
    assert busy.mean("secondary.wait_mean") > staffed.mean("secondary.wait_mean")
    more = logic.run(logic.apply_knobs(small, base.with_param("referral_rate", 0.15)), 3, ENGINE)
    less = logic.run(logic.apply_knobs(small, base), 3, ENGINE)
    assert more.mean("detection_rate") > less.mean("detection_rate")
    assert more.mean("innocent_referred_per_day") > less.mean("innocent_referred_per_day")
    assert more.mean("throughput_per_hour") == pytest.approx(less.mean("throughput_per_hour"),
                                                             rel=0.05)


def test_tradeoff_curve_sweeps_the_knob_on_the_same_travellers(small):
    knobs = logic.Knobs(strategy="random", params=(("referral_rate", 0.04),))
    grid = (0.0, 0.04, 0.1)
    name, points = logic.tradeoff_curve(small, knobs, replications=2, engine=ENGINE, grid=grid)
    assert name == "referral_rate" and [p.value for p in points] == list(grid)
    detection = [p.detection_rate for p in points]
    assert detection == sorted(detection) and detection[0] < detection[-1]
    current = logic.run(logic.apply_knobs(small, knobs), 2, ENGINE)  # the marked point
    assert points[1].wait_p95 == pytest.approx(logic.worst_wait(current.kpis, current.scenario))
    assert points[1].wait_p95 >= current.mean("wait_p95")  # the stage that breaks, not everyone
    assert points[1].detection_rate == pytest.approx(current.mean("detection_rate"))
    assert logic.tradeoff_curve(small, logic.Knobs(strategy="none"), 2, ENGINE) == (None, [])


def test_curve_cache_key_ignores_the_swept_knob():
    a = logic.Knobs(strategy="random", params=(("referral_rate", 0.04),))
    b = a.with_param("referral_rate", 0.2)
    assert logic.curve_knobs(a) == logic.curve_knobs(b)
    c = logic.Knobs(strategy="risk_score", params=(("auc", 0.8), ("referral_rate", 0.05)))
    assert logic.curve_knobs(c).params == (("auc", 0.8),)


def test_saved_yaml_reloads_to_the_same_setting(small):
    knobs = logic.Knobs(demand=1.25, officers=(("secondary", 3),), strategy="random",
                        params=(("referral_rate", 0.07),))
    scenario = logic.apply_knobs(small, knobs)
    text = logic.scenario_yaml(scenario, knobs, "0123456789")
    assert text.splitlines()[:4] == [
        "# Saved from the borderesim workshop (setting 0123456789)",
        "#   demand x1.25", "#   officers at the busiest hour: secondary 3",
        "#   targeting: Random selection, referral rate 7%"]
    assert load_scenario(yaml.safe_load(text)) == scenario
    odd = logic.Knobs(officers=(("a\nb: 1", 2),))  # a line break in a name stays in the note
    assert yaml.safe_load(logic.scenario_yaml(scenario, odd)) == yaml.safe_load(text)


def test_setting_id_names_everything_the_page_computes_from():
    knobs = logic.Knobs(officers=(("secondary", 2),), strategy="random",
                        params=(("referral_rate", 0.05),))
    first = logic.setting_id("name: a", knobs, 5, "auto")
    assert re.fullmatch(r"[0-9a-f]{10}", first)
    assert first == logic.setting_id("name: a", logic.Knobs(**vars(knobs)), 5, "auto")
    others = {logic.setting_id("name: b", knobs, 5, "auto"),
              logic.setting_id("name: a", replace(knobs, officers=(("secondary", 3),)), 5,
                               "auto"),
              logic.setting_id("name: a", knobs.with_param("referral_rate", 0.06), 5, "auto"),
              logic.setting_id("name: a", replace(knobs, demand=1.1), 5, "auto"),
              logic.setting_id("name: a", knobs, 6, "auto"),
              logic.setting_id("name: a", knobs, 5, "simpy")}
    assert len(others) == 6 and first not in others
    marker = logic.setting_marker(knobs, first)
    assert marker.startswith(logic.MARKER) and marker.endswith(f"(setting {first})")
    assert "secondary 2;" in marker


MARKDOWN = ("![x](http://example.invalid/a.png) <img src=x> [l](u) $x$ :red[r] "
            "**b** _i_ `c` # h | t ~s~ 1. \\ &amp; name{}")


def test_plain_escapes_every_markdown_character():
    escaped = logic.plain(MARKDOWN)
    unescaped = re.sub(r"\\(.)", r"\1", escaped)
    assert unescaped == MARKDOWN  # shown as written
    bare = re.sub(r"\\.", "", escaped)  # what is left unescaped: letters, digits, spaces
    assert re.fullmatch(r"[A-Za-z0-9 ]*", bare), bare
    assert logic.plain("Land crossing 2") == "Land crossing 2"


def test_uploaded_file_errors_name_the_file(tmp_path):
    bad = copy.deepcopy(SMALL)
    bad["stages"]["secondary"]["servers"] = -2
    data = yaml.safe_dump(bad).encode()
    with pytest.raises(ScenarioError) as err:
        logic.load_uploaded("mine.yaml", data)
    assert str(err.value).startswith("mine.yaml: stages.secondary.servers: ")
    (tmp_path / "mine.yaml").write_bytes(data)  # the CLI says the same about the same file
    with pytest.raises(ScenarioError) as cli:
        load_scenario(tmp_path / "mine.yaml")
    assert (cli.value.path, cli.value.problem) == (err.value.path, err.value.problem)
    with pytest.raises(ScenarioError, match=r"^notes\.yaml: invalid YAML"):
        logic.load_uploaded("notes.yaml", b"a: [1, 2\n")
    assert logic.load_uploaded("ok.yaml", yaml.safe_dump(SMALL).encode()).name == SMALL["name"]
    with pytest.raises(ScenarioError, match=r"^child\.yaml: extends: an uploaded file cannot"):
        logic.load_uploaded("child.yaml", b"extends: base.yaml\nname: child\n")


def test_figures_and_snapshot(small):
    knobs = logic.Knobs(strategy="random", params=(("referral_rate", 0.04),))
    outcome = logic.run(logic.apply_knobs(small, knobs), 2, ENGINE)
    name, points = logic.tradeoff_curve(small, knobs, 2, ENGINE, grid=(0.0, 0.1))
    assert len(tradeoff_figure(name, points, outcome).axes) == 1
    assert len(queue_figure(outcome).axes[0].lines) == len(small.stages)
    png = snapshot_png(outcome, knobs, name, points, "0123456789")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(png) < 500_000
    image = pytest.importorskip("PIL.Image").open(io.BytesIO(png))
    assert image.text["Description"] == "borderesim workshop setting 0123456789"
    odd = replace(outcome, scenario=outcome.scenario.model_copy(update={"name": "$\\badmacro$"}),
                  queue={f"${k}\\bad$": q for k, q in outcome.queue.items()})
    assert snapshot_png(odd, knobs, name, points)[:4] == b"\x89PNG"  # names are not mathtext


def test_the_land_crossing_runs_with_the_default_engine():
    scenario = load_scenario(SCENARIOS / "land_crossing.yaml")
    outcome = logic.run(logic.apply_knobs(scenario, logic.Knobs(strategy="by_class")), 2)
    assert outcome.engine in ("fast", "simpy")
    assert 150 < outcome.mean("throughput_per_hour") < 220


def test_workshop_command_rejects_bad_input_before_serving(tmp_path, capsys):
    from borderesim.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\narrivals: {per_hour: 10}\nstages: {}\n")
    assert main(["workshop", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"borderesim: error: {bad}: ") and err.count("\n") == 1
    assert main(["workshop", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


def test_server_starts_quietly_and_locally():
    from borderesim.workshop import server

    cmd = server.command(SCENARIOS / "land_crossing.yaml", port=8600)
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=False))
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(server.APP)
    assert flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.address"] == "127.0.0.1" and flags["--server.port"] == "8600"
    assert cmd[-2:] == ["--scenario", str((SCENARIOS / "land_crossing.yaml").resolve())]
    assert server.environment()["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
