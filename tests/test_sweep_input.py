"""Bad sweep files: exit 2 and one line naming the sweep file and the field; nothing runs."""

from __future__ import annotations

import pytest
import yaml

from borderesim.cli import main
from borderesim.errors import ScenarioError
from borderesim.run.sweep import load_sweep
from borderesim.run.sweep.deps import need
from tests.conftest import SCENARIOS

LAND = str(SCENARIOS / "land_crossing.yaml")
SERVERS = "stages.primary.lanes.general.servers"
GOOD = {"scenario": LAND, "replications": 1, "seed": 1, "set": {"duration": "1h"},
        "grid": {SERVERS: [5, 6]}}


def with_(**changes):
    data = dict(GOOD)
    for key, value in changes.items():
        if value is KeyError:
            data.pop(key)
        else:
            data[key] = value
    return data


def sobol(**sample):
    spec = {"method": "sobol", "n": 4, "ranges": {SERVERS: [4, 8]}}
    spec.update(sample)
    return with_(grid=KeyError, sample=spec)


CASES = [
    # (sweep file content, field named, words in the message)
    (with_(grid={"stages.primary.lanes.general.sevrers": [5, 6]}),
     "grid.stages.primary.lanes.general.sevrers", "did you mean 'servers'"),
    (with_(grid={"stages.tertiary.servers": [1]}), "grid.stages.tertiary.servers", "a stage needs"),
    (with_(grid={SERVERS: []}), f"grid.{SERVERS}", "empty"),
    (with_(grid={SERVERS: 5}), f"grid.{SERVERS}", "list of values"),
    (with_(grid={}), "grid", "at least one"),
    (with_(grid={SERVERS: [5, 0]}), f"grid.{SERVERS}", "point 1"),
    (with_(grid={SERVERS: [5, "many"]}), f"grid.{SERVERS}", "'many'"),
    (with_(grid={"duration.minutes": [5]}), "grid.duration.minutes", "not a mapping"),
    (with_(grid={"point": [1]}), "grid.point", "result column"),
    (sobol(method="morris"), "sample.method", "unknown method 'morris'"),
    (sobol(n=6), "sample.n", "power of 2"),
    (sobol(n=0), "sample.n", ">= 1"),
    (sobol(ranges={SERVERS: [8, 4]}), f"sample.ranges.{SERVERS}", "low must be below high"),
    (sobol(ranges={SERVERS: [4]}), f"sample.ranges.{SERVERS}", "[low, high]"),
    (sobol(ranges={SERVERS: [0, 3]}), f"sample.ranges.{SERVERS}", "not a valid scenario"),
    (sobol(sample_size=4), "sample.sample_size", "unknown field"),
    (with_(sample={"method": "lhs", "n": 4, "ranges": {SERVERS: [4, 8]}}), "grid",
     "exactly one of 'grid' or 'sample'"),
    (with_(grid=KeyError), None, "exactly one of 'grid' or 'sample'"),
    (with_(scenario="nowhere.yaml"), "scenario", "not found"),
    (with_(scenario=KeyError), "scenario", "required"),
    (with_(replications=0), "replications", ">= 1"),
    (with_(seed=-1), "seed", ">= 0"),
    (with_(engine="warp"), "engine", "unknown engine"),
    (with_(grids={SERVERS: [1]}), "grids", "did you mean 'grid'"),
    (with_(set={"duration": "forever"}), "set", "duration"),
    ("scenario: x.yaml\ngrid: [unclosed\n", None, "invalid YAML"),
    ("", None, "empty"),
    ("- a\n- list\n", None, "mapping"),
]


@pytest.mark.parametrize("content,field,words", CASES)
def test_bad_sweep_file_exits_2_naming_the_field(tmp_path, capsys, content, field, words):
    path = tmp_path / "bad_sweep.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    out = tmp_path / "out"
    status = main(["sweep", str(path), "--out", str(out), "--workers", "1"])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"borderesim: error: {path}"), err
    if field:
        assert f": {field}:" in err, err
    assert words in err, err
    assert not out.exists()  # validated before anything ran or was written


def test_missing_sweep_file(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_workers_and_scheduler_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "x.yaml", "--out", str(tmp_path), "--workers", "2",
              "--scheduler", "tcp://127.0.0.1:1"])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_unreachable_scheduler_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    dask = pytest.importorskip("dask")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        status = main(["sweep", str(path), "--out", str(tmp_path / "o"), "--no-progress",
                       "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert status == 2 and "--scheduler" in err and "Dask scheduler" in err


def test_sweep_relative_scenario_path(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.yaml").write_text((SCENARIOS / "land_crossing.yaml").read_text())
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(with_(scenario="sub/base.yaml")))
    spec = load_sweep(path)
    assert spec.points == ({SERVERS: 5}, {SERVERS: 6})
    assert spec.base["duration"] == 60.0  # 'set' applied, units resolved to minutes


def test_missing_optional_dependency_says_how_to_install():
    with pytest.raises(ScenarioError, match=r"pip install 'borderesim\[sweep\]'"):
        need("pandas", "no_such_module_for_borderesim")


def test_example_sweep_files_are_valid():
    for f in sorted((SCENARIOS / "sweeps").glob("*.yaml")):
        spec = load_sweep(f)
        assert spec.points and spec.replications >= 1, f
