"""Scenario schema: the issue's file loads as written; units; extends; --set; JSON Schema."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from borderesim import ScenarioError, load_scenario
from borderesim.model.scenario import json_schema
from borderesim.model.units import to_minutes

ISSUE_YAML = """
name: Demo land crossing
duration: 24h            # counted after warm-up
warmup: 2h
replications: 10
seed: 7
arrivals:
  per_hour: 420          # or a list of 24 hourly rates, repeating daily
classes:                 # shares sum to 1
  resident: {share: 0.7, threat_prevalence: 0.0005}
  visitor:  {share: 0.3, threat_prevalence: 0.002}
stages:                  # visited in this order
  primary:
    servers: 8           # or a list of 24 hourly counts (a roster)
    service: {distribution: lognormal, mean: 60s, cv: 0.5}
    detection_probability: 0.02
  secondary:
    visits: referred     # only travellers the strategy refers; default: all
    servers: 2
    service: {distribution: exponential, mean: 12min}
    detection_probability: 0.9
targeting:
  strategy: random
  referral_rate: 0.08
"""


def test_issue_file_loads_as_written(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(ISSUE_YAML)
    sc = load_scenario(path)
    assert sc.duration == 1440 and sc.warmup == 120 and sc.horizon == 1560
    assert list(sc.stages) == ["primary", "secondary"]
    assert sc.stages["primary"].service.mean == pytest.approx(1.0)
    assert sc.stages["secondary"].service.mean == 12.0
    assert sc.stages["secondary"].visits == "referred"
    assert sc.targeting.referral_rate == 0.08


def test_defaults_one_class_no_targeting(demo):
    del demo["classes"], demo["targeting"]
    sc = load_scenario(demo)
    assert list(sc.classes) == ["all"]
    assert sc.classes["all"].threat_prevalence == 0
    assert sc.targeting is None


@pytest.mark.parametrize(
    "text,minutes",
    [("45 s", 0.75), ("2 min", 2.0), ("1.5 h", 90.0), ("90", 90.0), ("2d", 2880.0),
     ("30sec", 0.5), (3, 3.0), (2.5, 2.5)],
)
def test_units(text, minutes):
    assert to_minutes(text) == pytest.approx(minutes)


@pytest.mark.parametrize("bad", ["3 parsecs", "fast", "", True, None, [1]])
def test_bad_units(bad):
    with pytest.raises(ValueError):
        to_minutes(bad)


@given(st.floats(min_value=0.001, max_value=1e4), st.sampled_from(["s", "min", "h"]))
def test_units_roundtrip(value, unit):
    factor = {"s": 1 / 60, "min": 1, "h": 60}[unit]
    assert to_minutes(f"{value!r} {unit}") == pytest.approx(value * factor)


def test_distributions_accept_their_parameters(demo):
    cases = [
        {"distribution": "exponential", "mean": "30s"},
        {"distribution": "deterministic", "mean": 1},
        {"distribution": "lognormal", "mean": 1, "cv": 0.5},
        {"distribution": "gamma", "mean": 1, "cv": 2},
        {"distribution": "uniform", "low": "30s", "high": "90s"},
        {"distribution": "triangular", "low": 0.5, "mode": 1, "high": 2},
        {"distribution": "empirical", "values": ["40s", "1min", 2]},
    ]
    for service in cases:
        demo["stages"]["primary"]["service"] = service
        sc = load_scenario(demo)
        assert sc.stages["primary"].service.distribution == service["distribution"]


def test_roster_and_hourly_profile(demo):
    demo["arrivals"]["per_hour"] = [100] * 12 + [300] * 12
    demo["stages"]["primary"]["servers"] = [0] * 6 + [8] * 18
    sc = load_scenario(demo)
    assert sc.arrivals.hourly()[13] == 300
    assert sc.stages["primary"].servers[0] == 0


def test_lanes(demo):
    demo["stages"]["primary"] = {
        "lanes": {
            "egate": {"servers": 4, "classes": ["resident"],
                      "service": {"distribution": "lognormal", "mean": "17s", "cv": 0.35}},
            "desk": {"servers": [3] * 24,
                     "service": {"distribution": "lognormal", "mean": "50s", "cv": 0.5}},
        },
        "detection_probability": 0.05,
    }
    sc = load_scenario(demo)
    assert list(sc.stages["primary"].lanes) == ["egate", "desk"]


def test_extends_and_set(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(ISSUE_YAML)
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: Child\nstages:\n  primary:\n    servers: 10\n")
    sc = load_scenario(child, ["arrivals.per_hour=500", "stages.secondary.service.mean=10 min",
                               "targeting.referral_rate=0.05"])
    assert sc.name == "Child"
    assert sc.stages["primary"].servers == 10
    assert sc.stages["primary"].service.mean == pytest.approx(1.0)  # inherited
    assert sc.arrivals.per_hour == 500
    assert sc.stages["secondary"].service.mean == 10
    assert sc.targeting.referral_rate == 0.05


def test_extends_loop(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    with pytest.raises(ScenarioError, match="loops"):
        load_scenario(tmp_path / "a.yaml")


def test_resolved_yaml_roundtrips(demo):
    sc = load_scenario(demo)
    again = load_scenario(yaml.safe_load(sc.to_yaml()))
    assert again == sc


def test_json_schema_lists_fields():
    schema = json.loads(json_schema())
    assert {"arrivals", "stages", "classes", "targeting"} <= set(schema["properties"])
    assert "Stage" in schema["$defs"]
