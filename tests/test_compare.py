"""The compare command: strategies files, sweeps, paired differences, the trade-off figure."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from borderesim.analysis.compare import (
    KEY_KPIS,
    Variant,
    compare,
    expand,
    find_sweeps,
    load_strategies,
    with_targeting,
)
from borderesim.analysis.metrics import confidence_interval
from borderesim.cli import main
from borderesim.errors import ScenarioError
from borderesim.model.scenario import load_scenario
from borderesim.run.plan import make_plan
from borderesim.run.sampling import sample
from tests.conftest import SCENARIOS
from tests.test_targeting import crossing

CLASSES = {"a": {"share": 0.6, "threat_prevalence": 0.05},
           "b": {"share": 0.4, "threat_prevalence": 0.15}}
STRATEGIES = {
    "profile": {"strategy": "by_class", "referral_rate": {"a": 0.05, "b": 0.2}},
    "risk": {"strategy": "risk_score", "auc": 0.85, "threshold": [1.0, 1.5, 2.0]},
    "layered": {"layers": [{"strategy": "watchlist", "coverage": 0.4},
                           {"strategy": "explore", "share": [0.01, 0.05]}]},
}


def small_scenario() -> dict:
    data = crossing(None, classes=CLASSES, per_hour=400, hours=1, reps=3,
                    secondary_servers=4, secondary_service=2.0)
    del data["targeting"]
    return data


def write(tmp_path, data, name):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_sweeps_expand_in_order_and_inside_layers():
    variants = [v for name, block in STRATEGIES.items() for v in expand(name, block)]
    assert [v.label for v in variants] == [
        "profile", "risk threshold=1", "risk threshold=1.5", "risk threshold=2",
        "layered share=0.01", "layered share=0.05"]
    assert variants[5].knob == "layers.1.share"
    assert variants[5].targeting["layers"][1]["share"] == 0.05
    assert variants[5].targeting["layers"][0] == {"strategy": "watchlist", "coverage": 0.4}
    assert STRATEGIES["risk"]["threshold"] == [1.0, 1.5, 2.0]  # input left untouched


def test_one_swept_knob_per_strategy():
    with pytest.raises(ScenarioError, match="one knob") as info:
        expand("risk", {"strategy": "risk_score", "auc": [0.7, 0.8], "threshold": [1, 2]},
               "s.yaml")
    assert info.value.path == "strategies.risk"


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=6),
       depth=st.integers(0, 2))
def test_each_sweep_value_becomes_one_variant(values, depth):
    leaf = {"strategy": "random", "referral_rate": values}
    block = leaf
    for _ in range(depth):
        block = {"layers": [{"strategy": "explore", "share": 0.01}, block]}
    variants = expand("x", block)
    assert len(variants) == len(values)
    for v, value in zip(variants, values, strict=True):
        node = v.targeting
        for _ in range(depth):
            node = node["layers"][1]
        assert node["referral_rate"] == value and v.value == value
        assert find_sweeps(v.targeting) == []


def test_strategies_are_paired_on_the_same_travellers():
    scenario = load_scenario(small_scenario())
    plan = make_plan(scenario)
    blocks = [STRATEGIES["profile"],
              {"strategy": "risk_score", "auc": 0.85, "threshold": 1.0},
              {"strategy": "watchlist", "coverage": 0.4}]
    for rep in range(2):
        drawn = [sample(with_targeting(scenario, Variant("x", b)), plan, 5, rep) for b in blocks]
        first = drawn[0]
        for other in drawn[1:]:
            np.testing.assert_array_equal(first.arrival, other.arrival)
            np.testing.assert_array_equal(first.cls, other.cls)
            np.testing.assert_array_equal(first.threat, other.threat)
            # a service time is drawn where a strategy can send the traveller: equal
            # wherever both drew it, at the primary for everybody
            both = ~np.isnan(first.service) & ~np.isnan(other.service)
            assert both[0].all()
            np.testing.assert_array_equal(first.service[both], other.service[both])
            np.testing.assert_array_equal(first.caught, other.caught)
        assert not np.array_equal(drawn[0].refer, drawn[1].refer)


def test_compare_differences_are_paired_intervals():
    variants = [v for name, block in STRATEGIES.items() for v in expand(name, block)]
    comparison = compare(small_scenario(), variants, engine="simpy", replications=3, seed=9)
    assert len(comparison.results) == len(variants)
    arrived = {tuple(r["arrived"] for r in res.per_replication) for res in comparison.results}
    assert len(arrived) == 1  # same travellers in every replication of every variant
    for kpi in KEY_KPIS:
        zero = comparison.difference(0, kpi)
        assert zero["mean"] == 0 or np.isnan(zero["mean"])
    base = comparison.results[0].per_replication
    mine = comparison.results[2].per_replication
    manual = confidence_interval([m["wait_mean"] - b["wait_mean"] for m, b in zip(mine, base,
                                                                                 strict=True)])
    assert comparison.difference(2, "wait_mean") == pytest.approx(manual)
    # a pooled percentile: the difference of pooled values, with a t-interval on the
    # per-replication differences of their influences (paired by replication)
    diff = comparison.mean(2, "wait_p95") - comparison.mean(0, "wait_p95")
    pairs = (np.array(comparison.results[2].influence["wait_p95"])
             - np.array(comparison.results[0].influence["wait_p95"]))
    half = 4.302652729911275 * pairs.std(ddof=1) / np.sqrt(3)
    assert comparison.difference(2, "wait_p95") == pytest.approx(
        {"mean": diff, "ci_low": diff - half, "ci_high": diff + half})
    # a higher threshold refers fewer travellers in every replication: paired, it is certain
    lower, higher = comparison.results[1], comparison.results[3]
    assert all(h["referral_rate"] < lo["referral_rate"]
               for lo, h in zip(lower.per_replication, higher.per_replication, strict=True))
    d = comparison.to_dict()
    assert d["baseline"] == "profile" and len(d["strategies"]) == len(variants)
    assert d["strategies"][5]["knob"] == "layers.1.share"
    json.dumps(d, allow_nan=False)


def test_compare_cli_table_json_and_figure(tmp_path, capsys):
    scen = write(tmp_path, small_scenario(), "scenario.yaml")
    strat = write(tmp_path, {"strategies": STRATEGIES}, "strategies.yaml")
    out = tmp_path / "out"
    assert main(["compare", str(scen), "--strategies", str(strat), "--engine", "simpy",
                 "--replications", "2", "--json", "--out", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in data["strategies"]][:2] == ["profile", "risk threshold=1"]
    assert data["replications"] == 2
    png = out / "tradeoff.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "comparison.json").read_text())["baseline"] == "profile"
    assert main(["compare", str(scen), "--strategies", str(strat), "--engine", "simpy",
                 "--replications", "2", "--no-plot", "--set", "seed=3"]) == 0
    text = capsys.readouterr().out
    assert "Paired differences from 'profile'" in text
    assert "risk threshold=1.5" in text and "seed 3" in text


BAD_FILES = [
    ({"strategies": {"ok": STRATEGIES["profile"],
                     "risk": {"layers": [{"strategy": "explore", "share": 0.1},
                                         {"strategy": "risk_score", "auc": 1.2,
                                          "threshold": 1}]}}},
     "strategies.risk.layers.1.auc", "less than 1"),
    ({"strategies": {"risk": {"strategy": "risk_score", "auc": 0.8, "threshold": [1, "x"]}}},
     "strategies.risk.threshold", "number"),
    ({"strategies": {"w": {"strategy": "watchlist", "coverage": [0.5, 1.5]}}},
     "strategies.w.coverage", "got 1.5"),
    ({"strategies": {"w": {"strategy": "risk_score", "auc": 0.8, "threshold": 1,
                           "shift": {"nobody": [1, 2]}}}},
     "strategies.w.shift", "with shift.nobody = 1"),
    ({"strategies": {"s": {"strategy": "risk_score", "auc": 0.8, "threshold": 1,
                           "shift": {"martian": 1}}}}, "strategies.s.shift", "martian"),
    ({"strategies": []}, "strategies", "mapping"),
    ({"stratgies": {}}, "stratgies", "unknown field"),
    ({"strategies": {"x": 3}}, "strategies.x", "targeting block"),
]


@pytest.mark.parametrize("content,field,words", BAD_FILES)
def test_bad_strategies_file_exits_2_naming_file_and_field(tmp_path, capsys, content, field,
                                                           words):
    scen = write(tmp_path, small_scenario(), "scenario.yaml")
    strat = write(tmp_path, content, "strategies.yaml")
    status = main(["compare", str(scen), "--strategies", str(strat), "--no-plot",
                   "--replications", "1"])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1, err
    assert f"{strat}: {field}" in err, err
    assert words in err, err


def test_bad_strategies_file_subprocess(tmp_path):
    scen = write(tmp_path, small_scenario(), "scenario.yaml")
    strat = write(tmp_path, BAD_FILES[0][0], "strategies.yaml")
    proc = subprocess.run([sys.executable, "-m", "borderesim", "compare", str(scen),
                           "--strategies", str(strat), "--no-plot"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "strategies.risk.layers.1.auc" in proc.stderr


@pytest.mark.parametrize("name", ["land_crossing", "airport_arrivals"])
def test_example_strategies_files_validate(name):
    suffix = "land" if name.startswith("land") else "airport"
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    variants = load_strategies(SCENARIOS / f"strategies_{suffix}.yaml")
    assert len({v.group for v in variants}) >= 5
    for v in variants:
        with_targeting(scenario, v)
