"""Sweeps: identical rows serially, in a process pool and on a real Dask cluster;
kill -9 and resume loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from borderesim.cli import main
from borderesim.run.simulate import simulate
from borderesim.run.sweep import load_results, load_sweep, read_manifest, run_sweep
from tests.conftest import ROOT, SCENARIOS

LAND = str(SCENARIOS / "land_crossing.yaml")
SERVERS = "stages.primary.lanes.general.servers"
RATE = "arrivals.per_hour"


def sweep_file(tmp_path, name="sweep.yaml", **extra):
    data = {"scenario": LAND, "replications": 2, "seed": 5,
            "set": {"duration": "2h", "warmup": 0},
            "grid": {SERVERS: [5, 7], RATE: [200, 300]}}
    data.update(extra)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.fixture(scope="module")
def serial_rows(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serial")
    path = sweep_file(tmp)
    assert main(["sweep", str(path), "--out", str(tmp / "out"), "--workers", "1",
                 "--no-progress"]) == 0
    return path, load_results(tmp / "out")


def test_rows_columns_and_manifest(serial_rows, tmp_path):
    path, df = serial_rows
    assert len(df) == 4 * 2
    assert list(df.columns[:6]) == [SERVERS, RATE, "point", "replication", "seed", "engine"]
    assert {"wait_p95_rep", "wait_mean", "throughput_per_hour", "primary.utilization",
            "detection_rate"} <= set(df.columns)
    assert df[SERVERS].dtype == "int64" and df["wait_p95_rep"].dtype == "float64"
    keys = sorted(zip(df.point, df.replication, strict=True))
    assert keys == [(p, r) for p in range(4) for r in range(2)]
    assert set(df.seed) == {5}
    # full factorial, first path slowest
    pts = df[df.replication == 0][[SERVERS, RATE]].values.tolist()
    assert pts == [[5, 200], [5, 300], [7, 200], [7, 300]]
    manifest = read_manifest(path.parent / "out")
    assert manifest["sweep_file"] == str(path.resolve())
    assert manifest["base_scenario"]["duration"] == 120.0
    assert manifest["borderesim_version"]
    assert manifest["n_points"] == 4 and manifest["replications"] == 2


def test_row_equals_simulate_of_that_point(serial_rows):
    """A row is exactly replication r of simulate() on the point's scenario with the seed."""
    path, df = serial_rows
    spec = load_sweep(path)
    row = df[(df.point == 2)]
    res = simulate(spec.scenario_for(2), engine=row.engine.iloc[0], replications=2, seed=5)
    for r in range(2):
        got = row[row.replication == r].iloc[0]
        for kpi, value in res.per_replication[r].items():
            assert got[kpi] == value or (pd.isna(got[kpi]) and value != value), kpi


def test_common_random_numbers_across_points(serial_rows):
    """Same seed, same replication: arrivals are identical whatever the staffing."""
    _, df = serial_rows
    a = df[(df[RATE] == 300) & (df.replication == 1)]
    assert a["arrived"].nunique() == 1
    assert a["wait_mean"].nunique() == 2  # staffing does change the waits


def test_pool_matches_serial(serial_rows, tmp_path, capsys):
    path, ref = serial_rows
    assert main(["sweep", str(path), "--out", str(tmp_path / "pool"), "--workers", "2",
                 "--no-progress"]) == 0
    assert "2 processes" in capsys.readouterr().out
    same_rows(load_results(tmp_path / "pool"), ref)


def test_dask_cluster_matches_serial(serial_rows, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    path, ref = serial_rows
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        status = main(["sweep", str(path), "--out", str(tmp_path / "dask"),
                       "--scheduler", address, "--no-progress"])
        assert status == 0
        assert f"dask {address}" in capsys.readouterr().out
    same_rows(load_results(tmp_path / "dask"), ref)


def test_rerun_of_finished_sweep_computes_nothing(serial_rows, capsys):
    path, ref = serial_rows
    assert main(["sweep", str(path), "--out", str(path.parent / "out"), "--workers", "1",
                 "--no-progress"]) == 0
    assert "computed 0 now (8 were done)" in capsys.readouterr().out
    same_rows(load_results(path.parent / "out"), ref)


def test_other_sweep_into_same_folder_is_refused(serial_rows, tmp_path, capsys):
    path, _ = serial_rows
    other = sweep_file(tmp_path, "other.yaml", seed=6)
    status = main(["sweep", str(other), "--out", str(path.parent / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert "different sweep" in err and "seed" in err and str(path.parent / "out") in err


def test_a_folder_made_by_another_version_is_refused(serial_rows, tmp_path, capsys,
                                                     monkeypatch):
    """A new version may draw other random streams: its rows never join an older one's."""
    import shutil

    from borderesim.run.sweep import spec as spec_module
    from borderesim.run.sweep import store as store_module

    path, _ = serial_rows
    old = tmp_path / "old"
    shutil.copytree(path.parent / "out", old)
    monkeypatch.setattr(spec_module, "__version__", "9.9.9")
    monkeypatch.setattr(store_module, "__version__", "9.9.9")
    status = main(["sweep", str(path), "--out", str(old), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert "different sweep" in err and "borderesim_version" in err


def test_non_sweep_folder_is_refused(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    status = main(["sweep", str(sweep_file(tmp_path)), "--out", str(tmp_path / "out")])
    assert status == 2
    assert "not empty" in capsys.readouterr().err


def _cli(*args: str) -> list[str]:
    code = "import sys; from borderesim.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code, *args]


def _rows_on_disk(out) -> int:
    import pyarrow.parquet as pq

    parts = (out / "results.parquet").glob("part-*.parquet")
    return sum(pq.ParquetFile(p).metadata.num_rows for p in parts)


def test_kill_9_then_resume_loses_and_duplicates_nothing(tmp_path, capsys):
    """SIGKILL the whole sweep twice mid-run (once with its pool workers), then finish it."""
    path = sweep_file(tmp_path, engine="simpy", set={"duration": "3h", "warmup": 0},
                      grid={SERVERS: [4, 5, 6, 7, 8, 9], RATE: [150, 250, 350, 450]})
    out = tmp_path / "out"
    total = 6 * 4 * 2

    def cmd(workers: str) -> list[str]:
        return _cli("sweep", str(path), "--out", str(out), "--workers", workers,
                    "--flush-seconds", "0.05", "--chunk-size", "1")

    seen = []
    for workers, kill_after_rows in (("2", 1), ("1", 10)):
        before = _rows_on_disk(out) if out.exists() else 0
        proc = subprocess.Popen(cmd(workers), cwd=ROOT, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                if out.exists() and _rows_on_disk(out) >= before + kill_after_rows:
                    break
                time.sleep(0.02)
            assert proc.poll() is None, "sweep finished before it could be killed"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep's own process group
            proc.wait()
        n = _rows_on_disk(out)
        seen.append(n)
        assert before < n < total
    assert main(cmd("1")[3:]) == 0  # resume (in this process: one import fewer)
    assert f"({seen[1]} were done)" in capsys.readouterr().out
    resumed = load_results(out)
    keys = list(zip(resumed.point, resumed.replication, strict=True))
    assert len(keys) == len(set(keys)) == total
    assert set(keys) == {(p, r) for p in range(24) for r in range(2)}
    assert not list((out / ".tmp").iterdir())  # stale temp files are cleaned on open
    clean = tmp_path / "clean"
    run_sweep(load_sweep(path), clean, workers=1, progress=False)
    same_rows(resumed, load_results(clean))
    assert json.loads((out / "manifest.json").read_text())["n_points"] == 24
