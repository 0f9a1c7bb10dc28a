"""Every kind of bad input gets one clear message naming file and field, and exit status 2."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from borderesim import ScenarioError, load_scenario
from borderesim.cli import main
from tests.conftest import DEMO


def write(tmp_path, data, name="bad.yaml"):
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data)
    else:
        path.write_text(yaml.safe_dump(data))
    return path


def edited(path, value):
    data = copy.deepcopy(DEMO)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


CASES = [
    # (content, expected field path or None, words in the message)
    ("name: x\nstages: [unclosed\n", None, "invalid YAML"),
    (edited(["stages", "primary", "sevrers"], 3), "stages.primary.sevrers",
     "did you mean 'servers'"),
    (edited(["seed"], "seven"), "seed", "integer"),
    (edited(["stages", "primary", "service", "mean"], "0 s"), "stages.primary.service.mean",
     "positive"),
    (edited(["stages", "primary", "service", "mean"], -2), "stages.primary.service.mean",
     "positive"),
    (edited(["stages", "primary", "servers"], 0), "stages.primary.servers", "above 0"),
    (edited(["stages", "primary", "servers"], -3), "stages.primary.servers", "above 0"),
    (edited(["replications"], 0), "replications", "greater than 0"),
    (edited(["classes", "visitor", "share"], 0.5), None, "sum to 1"),
    (edited(["arrivals", "per_hour"], [400] * 23), "arrivals.per_hour", "24 values"),
    (edited(["stages", "primary", "servers"], [8] * 23), "stages.primary.servers", "24 values"),
    (edited(["stages", "primary", "service", "distribution"], "weibull"),
     "stages.primary.service", "unknown distribution"),
    (edited(["targeting", "strategy"], "psychic"), "targeting", "unknown strategy"),
    (edited(["duration"], "3 fortnights"), "duration", "unknown time unit"),
    (edited(["targeting", "referral_rate"], 1.5), "targeting.referral_rate", "1"),
    (edited(["stages", "primary", "detection_probability"], -0.1),
     "stages.primary.detection_probability", "0"),
    (edited(["classes", "visitor", "threat_prevalence"], 2), "classes.visitor.threat_prevalence",
     "1"),
    (edited(["arrivals", "per_hour"], -5), "arrivals.per_hour", "above 0"),
    (edited(["arrivals"], KeyError), "arrivals", "required"),
    ("", None, "empty"),
    ("   \n# only a comment\n", None, "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", None, "not a text file"),
    ("- just\n- a list\n", None, "mapping"),
    ("name: !!python/object/apply:os.system ['echo pwned']\n", None, "invalid YAML"),
]


@pytest.mark.parametrize("content,field,words", CASES)
def test_bad_scenario_exits_2_with_one_clear_line(tmp_path, capsys, content, field, words):
    path = write(tmp_path, content)
    status = main(["validate", str(path)])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1, err
    assert str(path) in err
    if field:
        assert f": {field}:" in err, err
    assert words in err, err
    assert "Traceback" not in err


def test_missing_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_bad_set_override(tmp_path, capsys):
    path = write(tmp_path, DEMO, "ok.yaml")
    assert main(["run", str(path), "--set", "stages.primary.servers=many"]) == 2
    err = capsys.readouterr().err
    assert "stages.primary.servers" in err and str(path) in err


def test_lane_names_unknown_class(tmp_path, capsys):
    data = copy.deepcopy(DEMO)
    data["stages"]["primary"] = {"lanes": {"egate": {
        "servers": 2, "classes": ["martian"],
        "service": {"distribution": "exponential", "mean": 1}}, "desk": {
        "servers": 2, "service": {"distribution": "exponential", "mean": 1}}}}
    assert main(["validate", str(write(tmp_path, data))]) == 2
    assert "martian" in capsys.readouterr().err


def test_yaml_tags_never_construct_objects(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path, f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    assert main(["validate", str(path)]) == 2
    assert not marker.exists()


def test_subprocess_exit_status_and_no_traceback(tmp_path):
    path = write(tmp_path, edited(["stages", "primary", "sevrers"], 3))
    proc = subprocess.run([sys.executable, "-m", "borderesim", "run", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "did you mean 'servers'" in proc.stderr


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True),
    st.text(max_size=12), st.lists(st.integers(-5, 50), max_size=30),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
)
PATHS = [
    ["name"], ["duration"], ["warmup"], ["replications"], ["seed"], ["arrivals"],
    ["arrivals", "per_hour"], ["classes"], ["classes", "resident"],
    ["classes", "resident", "share"], ["stages"], ["stages", "primary"],
    ["stages", "primary", "servers"], ["stages", "primary", "service"],
    ["stages", "primary", "service", "mean"], ["stages", "primary", "service", "cv"],
    ["stages", "secondary", "visits"], ["stages", "secondary", "detection_probability"],
    ["targeting"], ["targeting", "referral_rate"], ["targeting", "strategy"],
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PATHS), JUNK)
def test_any_junk_gives_scenario_error_or_loads(path, value):
    """Whatever a field holds, loading either succeeds or raises one ScenarioError."""
    data = edited(path, value)
    try:
        load_scenario(data)
    except ScenarioError as exc:
        assert str(exc) and "\n" not in str(exc)
